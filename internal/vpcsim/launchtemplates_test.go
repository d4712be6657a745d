package vpcsim_test

import (
	"encoding/base64"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// TestLaunchTemplates follows the EC2 API reference for
// CreateLaunchTemplate (a name in use is
// InvalidLaunchTemplateName.AlreadyExistsException), CreateLaunchTemplateVersion
// ("The new version inherits the same launch parameters as the source
// version, except for parameters that you specify in LaunchTemplateData"),
// ModifyLaunchTemplate (SetDefaultVersion), DescribeLaunchTemplateVersions
// ($Latest, $Default), DeleteLaunchTemplateVersions (not the default
// version) and RunInstances LaunchTemplate: the version defaults to the
// template's default, and "Any parameters that you specify in
// RunInstances override the same parameters in the launch template"; the
// instance is tagged aws:ec2launchtemplate:id and
// aws:ec2launchtemplate:version.
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_RunInstances.html
func TestLaunchTemplates(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	userData := base64.StdEncoding.EncodeToString([]byte("#!/bin/sh\necho template\n"))
	lt, err := e.ec2.CreateLaunchTemplate(ctx, &awsec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("web"),
		LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: aws.String("ami-0a1b2c3d4e5f60718"), InstanceType: types.InstanceTypeT3Micro,
			UserData: aws.String(userData),
			TagSpecifications: []types.LaunchTemplateTagSpecificationRequest{{ResourceType: types.ResourceTypeInstance,
				Tags: []types.Tag{{Key: aws.String("app"), Value: aws.String("web")}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(lt.LaunchTemplate.LaunchTemplateId)
	if aws.ToInt64(lt.LaunchTemplate.DefaultVersionNumber) != 1 || aws.ToInt64(lt.LaunchTemplate.LatestVersionNumber) != 1 {
		t.Errorf("new template %+v: want default and latest version 1", lt.LaunchTemplate)
	}
	if _, err := e.ec2.CreateLaunchTemplate(ctx, &awsec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("web"),
		LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: aws.String("ami-0a1b2c3d4e5f60718")}}); code(t, err) != "InvalidLaunchTemplateName.AlreadyExistsException" {
		t.Errorf("second web: %v, want InvalidLaunchTemplateName.AlreadyExistsException", err)
	}
	v2, err := e.ec2.CreateLaunchTemplateVersion(ctx, &awsec2.CreateLaunchTemplateVersionInput{LaunchTemplateId: aws.String(id), SourceVersion: aws.String("1"),
		LaunchTemplateData: &types.RequestLaunchTemplateData{InstanceType: types.InstanceTypeT3Small}})
	if err != nil {
		t.Fatal(err)
	}
	d := v2.LaunchTemplateVersion.LaunchTemplateData
	if aws.ToInt64(v2.LaunchTemplateVersion.VersionNumber) != 2 || d.InstanceType != types.InstanceTypeT3Small || aws.ToString(d.ImageId) != "ami-0a1b2c3d4e5f60718" ||
		aws.ToString(d.UserData) != userData || len(d.TagSpecifications) != 1 || len(d.TagSpecifications[0].Tags) != 1 {
		t.Errorf("version 2 data %+v: want t3.small over version 1's image, user data and tags", d)
	}

	launch := func(version string, in *awsec2.RunInstancesInput) (types.Instance, error) {
		in.MinCount, in.MaxCount, in.SubnetId = aws.Int32(1), aws.Int32(1), aws.String(subnetA)
		in.LaunchTemplate = &types.LaunchTemplateSpecification{LaunchTemplateName: aws.String("web")}
		if version != "" {
			in.LaunchTemplate.Version = aws.String(version)
		}
		out, err := e.ec2.RunInstances(ctx, in)
		if err != nil {
			return types.Instance{}, err
		}
		return out.Instances[0], nil
	}
	tags := func(in types.Instance) map[string]string {
		m := map[string]string{}
		for _, tg := range in.Tags {
			m[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
		}
		return m
	}
	in, err := launch("", &awsec2.RunInstancesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if in.InstanceType != types.InstanceTypeT3Micro || tags(in)["aws:ec2launchtemplate:version"] != "1" || tags(in)["aws:ec2launchtemplate:id"] != id || tags(in)["app"] != "web" {
		t.Errorf("launch from the default version: type %s, tags %v; want t3.micro, version 1, app=web", in.InstanceType, tags(in))
	}
	attr, err := e.ec2.DescribeInstanceAttribute(ctx, &awsec2.DescribeInstanceAttributeInput{InstanceId: in.InstanceId, Attribute: types.InstanceAttributeNameUserData})
	if err != nil || aws.ToString(attr.UserData.Value) != userData {
		t.Errorf("user data from the template: %+v, %v", attr, err)
	}
	if in, err := launch("$Latest", &awsec2.RunInstancesInput{}); err != nil || in.InstanceType != types.InstanceTypeT3Small || tags(in)["aws:ec2launchtemplate:version"] != "2" {
		t.Errorf("launch $Latest: type %s, tags %v, %v; want t3.small, version 2", in.InstanceType, tags(in), err)
	}
	if in, err := launch("2", &awsec2.RunInstancesInput{InstanceType: types.InstanceTypeM5Large}); err != nil || in.InstanceType != types.InstanceTypeM5Large {
		t.Errorf("launch overriding the type: %s, %v; want m5.large", in.InstanceType, err)
	}
	if _, err := launch("9", &awsec2.RunInstancesInput{}); code(t, err) != "InvalidLaunchTemplateId.VersionNotFound" {
		t.Errorf("launch version 9: %v, want InvalidLaunchTemplateId.VersionNotFound", err)
	}
	if _, err := e.ec2.RunInstances(ctx, &awsec2.RunInstancesInput{MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		LaunchTemplate: &types.LaunchTemplateSpecification{LaunchTemplateId: aws.String("lt-0123456789abcdef0")}}); code(t, err) != "InvalidLaunchTemplateId.NotFound" {
		t.Errorf("launch from an unknown template: %v, want InvalidLaunchTemplateId.NotFound", err)
	}

	if _, err := e.ec2.ModifyLaunchTemplate(ctx, &awsec2.ModifyLaunchTemplateInput{LaunchTemplateId: aws.String(id), DefaultVersion: aws.String("2")}); err != nil {
		t.Fatal(err)
	}
	vs, err := e.ec2.DescribeLaunchTemplateVersions(ctx, &awsec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateName: aws.String("web"), Versions: []string{"$Default"}})
	if err != nil || len(vs.LaunchTemplateVersions) != 1 || aws.ToInt64(vs.LaunchTemplateVersions[0].VersionNumber) != 2 || !aws.ToBool(vs.LaunchTemplateVersions[0].DefaultVersion) {
		t.Errorf("$Default after ModifyLaunchTemplate: %+v, %v; want version 2", vs, err)
	}
	del, err := e.ec2.DeleteLaunchTemplateVersions(ctx, &awsec2.DeleteLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(id), Versions: []string{"1", "2"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(del.SuccessfullyDeletedLaunchTemplateVersions) != 1 || len(del.UnsuccessfullyDeletedLaunchTemplateVersions) != 1 ||
		aws.ToInt64(del.UnsuccessfullyDeletedLaunchTemplateVersions[0].VersionNumber) != 2 {
		t.Errorf("delete versions 1 and 2: %+v; want 1 deleted, the default 2 kept", del)
	}
	if _, err := e.ec2.DeleteLaunchTemplate(ctx, &awsec2.DeleteLaunchTemplateInput{LaunchTemplateName: aws.String("web")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ec2.DescribeLaunchTemplates(ctx, &awsec2.DescribeLaunchTemplatesInput{LaunchTemplateIds: []string{id}}); code(t, err) != "InvalidLaunchTemplateId.NotFound" {
		t.Errorf("describe deleted template: %v, want InvalidLaunchTemplateId.NotFound", err)
	}
}
