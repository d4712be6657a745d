package ec2

import (
	"encoding/xml"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Launch templates: Create/Describe/Modify/DeleteLaunchTemplate, their
// versions, and RunInstances LaunchTemplate. A version keeps its
// LaunchTemplateData as sent (the RunInstances parameters it stands for:
// RequestLaunchTemplateData's members have RunInstances' names), so
// RunInstances fills in what the call itself does not give ("Any
// parameters that you specify in RunInstances override the same
// parameters in the launch template", API reference RunInstances,
// LaunchTemplate), and DescribeLaunchTemplateVersions answers it as
// ResponseLaunchTemplateData.

func init() {
	for name, spec := range map[string]actionSpec{
		"CreateLaunchTemplate":           {run: (*Account).createLaunchTemplate, resources: one(newLaunchTemplateARN)},
		"CreateLaunchTemplateVersion":    {run: (*Account).createLaunchTemplateVersion, resources: one(launchTemplateARN)},
		"DescribeLaunchTemplates":        {run: (*Account).describeLaunchTemplates},
		"DescribeLaunchTemplateVersions": {run: (*Account).describeLaunchTemplateVersions},
		"ModifyLaunchTemplate":           {run: (*Account).modifyLaunchTemplate, resources: one(launchTemplateARN)},
		"DeleteLaunchTemplate":           {run: (*Account).deleteLaunchTemplate, resources: one(launchTemplateARN)},
		"DeleteLaunchTemplateVersions":   {run: (*Account).deleteLaunchTemplateVersions, resources: one(launchTemplateARN)},
	} {
		actions[name] = spec
	}
}

func newLaunchTemplateARN(st *state, _ *request) string { return st.arn("launch-template", "*") }

// launchTemplateARN names the template of LaunchTemplateId or
// LaunchTemplateName, "*" for one that does not exist.
func launchTemplateARN(st *state, r *request) string {
	if lt := st.launchTemplateByParams(r.get("LaunchTemplateId"), r.get("LaunchTemplateName")); lt != nil {
		return st.arn("launch-template", lt.id)
	}
	return st.arn("launch-template", "*")
}

type launchTemplate struct {
	id, name  string
	created   time.Time
	createdBy string
	def       int // default version number
	latest    int // highest version number ever made
	versions  []*ltVersion
	tags      map[string]string
}

type ltVersion struct {
	number      int
	description string
	created     time.Time
	// data holds LaunchTemplateData.* without the prefix: ImageId,
	// SecurityGroupId.1, TagSpecification.1.Tag.1.Key, ...
	data url.Values
}

func (st *state) launchTemplate(id string) *launchTemplate {
	x, _ := st.byID[id].(*launchTemplate)
	return x
}

func (st *state) launchTemplateByParams(id, name string) *launchTemplate {
	if id != "" {
		return st.launchTemplate(id)
	}
	for _, lt := range st.templates {
		if name != "" && lt.name == name {
			return lt
		}
	}
	return nil
}

// lookupLaunchTemplate finds the template a call names by ID or by name
// (exactly one of them), answering EC2's NotFound errors.
func (st *state) lookupLaunchTemplate(id, name string) (*launchTemplate, error) {
	switch {
	case id == "" && name == "":
		return nil, missingParamMsg("The request must contain the parameter launchTemplateName or launchTemplateId")
	case id != "" && name != "":
		return nil, errorf(http.StatusBadRequest, "InvalidParameterCombination", "The parameters launchTemplateName and launchTemplateId cannot be used together")
	}
	if lt := st.launchTemplateByParams(id, name); lt != nil {
		return lt, nil
	}
	if id != "" {
		return nil, errorf(http.StatusBadRequest, "InvalidLaunchTemplateId.NotFound", "The specified launch template, with template ID %s, does not exist.", id)
	}
	return nil, errorf(http.StatusBadRequest, "InvalidLaunchTemplateName.NotFoundException", "The specified launch template, with template name %s, does not exist.", name)
}

// version resolves a version specifier: a number, $Latest or $Default
// ("" is $Default, as RunInstances' LaunchTemplate.Version: "Default: The
// default version for the launch template").
func (lt *launchTemplate) version(spec string) (*ltVersion, error) {
	n := lt.def
	switch spec {
	case "", "$Default":
	case "$Latest":
		n = lt.versions[len(lt.versions)-1].number
	default:
		var err error
		if n, err = strconv.Atoi(spec); err != nil || n < 1 {
			return nil, errorf(http.StatusBadRequest, "InvalidLaunchTemplateId.VersionNotFound", "Could not find launch template version %s for launch template ID %s", spec, lt.id)
		}
	}
	for _, v := range lt.versions {
		if v.number == n {
			return v, nil
		}
	}
	return nil, errorf(http.StatusBadRequest, "InvalidLaunchTemplateId.VersionNotFound", "Could not find launch template version %s for launch template ID %s", spec, lt.id)
}

// templateData returns the LaunchTemplateData.* parameters of r.
func templateData(r *request) url.Values {
	out := url.Values{}
	for k, v := range r.form {
		if rest, ok := strings.CutPrefix(k, "LaunchTemplateData."); ok {
			out[rest] = slices.Clone(v)
		}
	}
	return out
}

// launchTemplateName is CreateLaunchTemplate's LaunchTemplateName: 3 to
// 128 characters of [a-zA-Z0-9().\-/_] (API reference CreateLaunchTemplate).
var launchTemplateName = regexp.MustCompile(`^[a-zA-Z0-9().\-/_]{3,128}$`)

type xLaunchTemplate struct {
	ID         string     `xml:"launchTemplateId"`
	Name       string     `xml:"launchTemplateName"`
	CreateTime string     `xml:"createTime"`
	CreatedBy  string     `xml:"createdBy"`
	DefaultVer int        `xml:"defaultVersionNumber"`
	LatestVer  int        `xml:"latestVersionNumber"`
	Tags       *set[xTag] `xml:"tagSet,omitempty"`
}

func (lt *launchTemplate) x() xLaunchTemplate {
	return xLaunchTemplate{ID: lt.id, Name: lt.name, CreateTime: lt.created.Format(awsTime), CreatedBy: lt.createdBy,
		DefaultVer: lt.def, LatestVer: lt.latest, Tags: optionalTags(lt.tags)}
}

type launchTemplateResp struct {
	ec2Resp
	LaunchTemplate xLaunchTemplate `xml:"launchTemplate"`
}

// createLaunchTemplate makes a template with version 1, its default. A
// name in use is InvalidLaunchTemplateName.AlreadyExistsException (API
// reference, "Error codes").
func (s *Account) createLaunchTemplate(r *request) (any, error) {
	name, err := r.required("LaunchTemplateName", "launchTemplateName")
	if err != nil {
		return nil, err
	}
	if !launchTemplateName.MatchString(name) {
		return nil, errorf(http.StatusBadRequest, "InvalidLaunchTemplateName.MalformedException", "A launch template name must be between 3 and 128 characters, and may contain letters, numbers, and the following characters: - ( ) . / _.'")
	}
	data := templateData(r)
	if len(data) == 0 {
		return nil, missingParam("launchTemplateData")
	}
	out := &launchTemplateResp{}
	err = s.mutateIn(r, func(st *state) error {
		if st.launchTemplateByParams("", name) != nil {
			return errorf(http.StatusBadRequest, "InvalidLaunchTemplateName.AlreadyExistsException", "Launch template name already in use.")
		}
		now := time.Now().UTC()
		lt := &launchTemplate{id: s.ids.next("lt"), name: name, created: now, createdBy: r.caller.Principal(st.account), def: 1, latest: 1,
			tags: tagSpecs(r, "launch-template")}
		lt.versions = []*ltVersion{{number: 1, description: r.get("VersionDescription"), created: now, data: data}}
		st.templates = append(st.templates, lt)
		st.byID[lt.id] = lt
		out.LaunchTemplate = lt.x()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// xTemplateData is a version's data as ResponseLaunchTemplateData: the
// parameters' names with a lower-case first letter, each list an
// <xSet> of <item>s.
type xTemplateData struct {
	Inner string `xml:",innerxml"`
}

// responseNames are the lists whose response name is not their
// parameter's with "Set" added.
var responseNames = map[string]string{
	"NetworkInterface.SecurityGroupId": "groupSet",
	"LicenseSpecification":             "licenseSet",
}

func renderTemplateData(data url.Values) xTemplateData {
	type node struct {
		name     string
		value    string
		children []*node
		index    map[string]*node
	}
	root := &node{index: map[string]*node{}}
	child := func(n *node, name string) *node {
		if c := n.index[name]; c != nil {
			return c
		}
		c := &node{name: name, index: map[string]*node{}}
		n.index[name] = c
		n.children = append(n.children, c)
		return c
	}
	keys := slices.SortedFunc(maps.Keys(data), compareParams)
	for _, k := range keys {
		parts := strings.Split(k, ".")
		n := root
		path := ""
		for i := 0; i < len(parts); i++ {
			p := parts[i]
			if i+1 < len(parts) {
				if _, err := strconv.Atoi(parts[i+1]); err == nil {
					list := strings.TrimPrefix(path+"."+p, ".")
					name := responseNames[list]
					if name == "" {
						name = lowerFirst(p) + "Set"
					}
					n = child(child(n, name), "item#"+parts[i+1])
					path = list
					i++
					continue
				}
			}
			path = strings.TrimPrefix(path+"."+p, ".")
			n = child(n, lowerFirst(p))
		}
		n.value = data.Get(k)
	}
	var b strings.Builder
	var write func(n *node)
	write = func(n *node) {
		name, _, _ := strings.Cut(n.name, "#")
		b.WriteString("<" + name + ">")
		if len(n.children) == 0 {
			_ = xml.EscapeText(&b, []byte(n.value))
		}
		for _, c := range n.children {
			write(c)
		}
		b.WriteString("</" + name + ">")
	}
	for _, c := range root.children {
		write(c)
	}
	return xTemplateData{Inner: b.String()}
}

// compareParams orders query parameters with their numeric indexes as
// numbers, so that SecurityGroupId.2 comes before SecurityGroupId.10.
func compareParams(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		if as[i] == bs[i] {
			continue
		}
		ai, aerr := strconv.Atoi(as[i])
		bi, berr := strconv.Atoi(bs[i])
		if aerr == nil && berr == nil {
			return ai - bi
		}
		return strings.Compare(as[i], bs[i])
	}
	return len(as) - len(bs)
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

type xLaunchTemplateVersion struct {
	ID          string        `xml:"launchTemplateId"`
	Name        string        `xml:"launchTemplateName"`
	Number      int           `xml:"versionNumber"`
	Description string        `xml:"versionDescription,omitempty"`
	CreateTime  string        `xml:"createTime"`
	CreatedBy   string        `xml:"createdBy"`
	Default     bool          `xml:"defaultVersion"`
	Data        xTemplateData `xml:"launchTemplateData"`
}

func (lt *launchTemplate) xVersion(v *ltVersion) xLaunchTemplateVersion {
	return xLaunchTemplateVersion{ID: lt.id, Name: lt.name, Number: v.number, Description: v.description,
		CreateTime: v.created.Format(awsTime), CreatedBy: lt.createdBy, Default: v.number == lt.def, Data: renderTemplateData(v.data)}
}

type launchTemplateVersionResp struct {
	ec2Resp
	Version xLaunchTemplateVersion `xml:"launchTemplateVersion"`
}

// createLaunchTemplateVersion adds the next version. With SourceVersion
// it starts from that version's data: "The new version inherits the same
// launch parameters as the source version, except for parameters that
// you specify in LaunchTemplateData" (API reference
// CreateLaunchTemplateVersion, SourceVersion).
func (s *Account) createLaunchTemplateVersion(r *request) (any, error) {
	data := templateData(r)
	if len(data) == 0 {
		return nil, missingParam("launchTemplateData")
	}
	out := &launchTemplateVersionResp{}
	err := s.mutateIn(r, func(st *state) error {
		lt, err := st.lookupLaunchTemplate(r.get("LaunchTemplateId"), r.get("LaunchTemplateName"))
		if err != nil {
			return err
		}
		if src := r.get("SourceVersion"); src != "" {
			from, err := lt.version(src)
			if err != nil {
				return err
			}
			merged := url.Values{}
			for k, v := range from.data {
				if !overridden(data, k) {
					merged[k] = slices.Clone(v)
				}
			}
			maps.Copy(merged, data)
			data = merged
		}
		lt.latest++
		v := &ltVersion{number: lt.latest, description: r.get("VersionDescription"), created: time.Now().UTC(), data: data}
		lt.versions = append(lt.versions, v)
		out.Version = lt.xVersion(v)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// overridden reports whether the parameters have already given key k: the
// same key, or for a list (SecurityGroupId.2, TagSpecification.1.Tag.1.Key)
// any entry of the same list, since a list is replaced whole.
func overridden(have url.Values, k string) bool {
	if have.Has(k) {
		return true
	}
	parts := strings.Split(k, ".")
	for i, p := range parts {
		if _, err := strconv.Atoi(p); err == nil && i > 0 {
			prefix := strings.Join(parts[:i], ".") + "."
			for h := range have {
				if strings.HasPrefix(h, prefix) {
					return true
				}
			}
			return false
		}
	}
	return false
}

type describeLaunchTemplatesResp struct {
	ec2Resp
	Templates set[xLaunchTemplate] `xml:"launchTemplates"`
	NextToken string               `xml:"nextToken,omitempty"`
}

// describeLaunchTemplates lists templates by LaunchTemplateId.N,
// LaunchTemplateName.N and the filters create-time, launch-template-name
// and tags (API reference DescribeLaunchTemplates).
func (s *Account) describeLaunchTemplates(r *request) (any, error) {
	ids, names := r.list("LaunchTemplateId"), r.list("LaunchTemplateName")
	fs, err := r.filters("create-time", "launch-template-name")
	if err != nil {
		return nil, err
	}
	st := s.lockIn(r)
	defer s.unlockState()
	for _, id := range ids {
		if st.launchTemplate(id) == nil {
			return nil, errorf(http.StatusBadRequest, "InvalidLaunchTemplateId.NotFound", "The specified launch template, with template ID %s, does not exist.", id)
		}
	}
	for _, n := range names {
		if st.launchTemplateByParams("", n) == nil {
			return nil, errorf(http.StatusBadRequest, "InvalidLaunchTemplateName.NotFoundException", "At least one of the launch templates specified in the request does not exist.")
		}
	}
	out := &describeLaunchTemplatesResp{Templates: set[xLaunchTemplate]{Items: []xLaunchTemplate{}}}
	for _, lt := range st.templates {
		if len(ids)+len(names) > 0 && !slices.Contains(ids, lt.id) && !slices.Contains(names, lt.name) {
			continue
		}
		x := lt.x()
		if match(fs, lt.tags, func(name string) []string {
			switch name {
			case "create-time":
				return []string{x.CreateTime}
			case "launch-template-name":
				return []string{x.Name}
			}
			return nil
		}) {
			out.Templates.Items = append(out.Templates.Items, x)
		}
	}
	var perr error
	if out.Templates.Items, out.NextToken, perr = paginate(r, out.Templates.Items, ""); perr != nil {
		return nil, perr
	}
	return out, nil
}

type describeLaunchTemplateVersionsResp struct {
	ec2Resp
	Versions  set[xLaunchTemplateVersion] `xml:"launchTemplateVersionSet"`
	NextToken string                      `xml:"nextToken,omitempty"`
}

// describeLaunchTemplateVersions lists a template's versions: those of
// LaunchTemplateVersion.N (numbers, $Latest, $Default), else those
// between MinVersion and MaxVersion, else all; without a template,
// LaunchTemplateVersion.N must be $Latest or $Default and names those
// versions of every template (API reference
// DescribeLaunchTemplateVersions, LaunchTemplateVersion.N). Filters:
// create-time, ebs-optimized, iam-instance-profile, image-id,
// instance-type, is-default-version, kernel-id, ram-disk-id.
func (s *Account) describeLaunchTemplateVersions(r *request) (any, error) {
	specs := r.list("LaunchTemplateVersion")
	fs, err := r.filters("create-time", "ebs-optimized", "iam-instance-profile", "image-id", "instance-type",
		"is-default-version", "kernel-id", "ram-disk-id")
	if err != nil {
		return nil, err
	}
	minV, maxV := 0, 0
	for p, dst := range map[string]*int{"MinVersion": &minV, "MaxVersion": &maxV} {
		if v := r.get(p); v != "" {
			if *dst, err = strconv.Atoi(v); err != nil {
				return nil, invalidParam("Value (%s) for parameter %s is invalid.", v, lowerFirst(p))
			}
		}
	}
	st := s.lockIn(r)
	defer s.unlockState()
	var templates []*launchTemplate
	if r.get("LaunchTemplateId") == "" && r.get("LaunchTemplateName") == "" {
		for _, sp := range specs {
			if sp != "$Latest" && sp != "$Default" {
				return nil, invalidParam("Version numbers can only be used with a launch template ID or name; use $Latest or $Default across templates.")
			}
		}
		if len(specs) == 0 {
			return nil, missingParamMsg("The request must contain the parameter launchTemplateName or launchTemplateId")
		}
		templates = st.templates
	} else {
		lt, err := st.lookupLaunchTemplate(r.get("LaunchTemplateId"), r.get("LaunchTemplateName"))
		if err != nil {
			return nil, err
		}
		templates = []*launchTemplate{lt}
	}
	out := &describeLaunchTemplateVersionsResp{Versions: set[xLaunchTemplateVersion]{Items: []xLaunchTemplateVersion{}}}
	for _, lt := range templates {
		var vs []*ltVersion
		if len(specs) > 0 {
			for _, sp := range specs {
				v, err := lt.version(sp)
				if err != nil {
					return nil, err
				}
				if !slices.Contains(vs, v) {
					vs = append(vs, v)
				}
			}
		} else {
			for _, v := range lt.versions {
				if (minV == 0 || v.number >= minV) && (maxV == 0 || v.number <= maxV) {
					vs = append(vs, v)
				}
			}
		}
		for _, v := range vs {
			x := lt.xVersion(v)
			if match(fs, nil, func(name string) []string {
				switch name {
				case "create-time":
					return []string{x.CreateTime}
				case "is-default-version":
					return []string{boolStr(x.Default)}
				case "ebs-optimized":
					return []string{boolStr(v.data.Get("EbsOptimized") == "true")}
				case "iam-instance-profile":
					return []string{v.data.Get("IamInstanceProfile.Name"), v.data.Get("IamInstanceProfile.Arn")}
				case "image-id":
					return []string{v.data.Get("ImageId")}
				case "instance-type":
					return []string{v.data.Get("InstanceType")}
				case "kernel-id":
					return []string{v.data.Get("KernelId")}
				case "ram-disk-id":
					return []string{v.data.Get("RamDiskId")}
				}
				return nil
			}) {
				out.Versions.Items = append(out.Versions.Items, x)
			}
		}
	}
	var perr error
	if out.Versions.Items, out.NextToken, perr = paginate(r, out.Versions.Items, ""); perr != nil {
		return nil, perr
	}
	return out, nil
}

// modifyLaunchTemplate sets the default version (SetDefaultVersion),
// which must exist.
func (s *Account) modifyLaunchTemplate(r *request) (any, error) {
	out := &launchTemplateResp{}
	err := s.mutateIn(r, func(st *state) error {
		lt, err := st.lookupLaunchTemplate(r.get("LaunchTemplateId"), r.get("LaunchTemplateName"))
		if err != nil {
			return err
		}
		if d := r.get("SetDefaultVersion"); d != "" {
			v, err := lt.version(d)
			if err != nil {
				return err
			}
			lt.def = v.number
		}
		out.LaunchTemplate = lt.x()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// deleteLaunchTemplate deletes a template and all its versions.
func (s *Account) deleteLaunchTemplate(r *request) (any, error) {
	out := &launchTemplateResp{}
	err := s.mutateIn(r, func(st *state) error {
		lt, err := st.lookupLaunchTemplate(r.get("LaunchTemplateId"), r.get("LaunchTemplateName"))
		if err != nil {
			return err
		}
		st.templates = slices.DeleteFunc(st.templates, func(x *launchTemplate) bool { return x == lt })
		delete(st.byID, lt.id)
		out.LaunchTemplate = lt.x()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

type xDeletedVersion struct {
	ID     string `xml:"launchTemplateId"`
	Name   string `xml:"launchTemplateName"`
	Number int    `xml:"versionNumber"`
}

type xResponseError struct {
	Code    string `xml:"code"`
	Message string `xml:"message"`
}

type xUndeletedVersion struct {
	ID     string         `xml:"launchTemplateId"`
	Name   string         `xml:"launchTemplateName"`
	Number int            `xml:"versionNumber"`
	Error  xResponseError `xml:"responseError"`
}

type deleteVersionsResp struct {
	ec2Resp
	Deleted    set[xDeletedVersion]   `xml:"successfullyDeletedLaunchTemplateVersionSet"`
	NotDeleted set[xUndeletedVersion] `xml:"unsuccessfullyDeletedLaunchTemplateVersionSet"`
}

// deleteLaunchTemplateVersions deletes numbered versions; one that does
// not exist is reported as launchTemplateVersionDoesNotExist, the default
// version as unexpectedError: "You can't delete the default version of a
// launch template; you must first assign a different version as the
// default" (API reference DeleteLaunchTemplateVersions;
// DeleteLaunchTemplateVersionsResponseErrorItem lists the codes).
func (s *Account) deleteLaunchTemplateVersions(r *request) (any, error) {
	specs := r.list("LaunchTemplateVersion")
	if len(specs) == 0 {
		return nil, missingParam("launchTemplateVersion")
	}
	out := &deleteVersionsResp{Deleted: set[xDeletedVersion]{Items: []xDeletedVersion{}}, NotDeleted: set[xUndeletedVersion]{Items: []xUndeletedVersion{}}}
	err := s.mutateIn(r, func(st *state) error {
		lt, err := st.lookupLaunchTemplate(r.get("LaunchTemplateId"), r.get("LaunchTemplateName"))
		if err != nil {
			return err
		}
		for _, sp := range specs {
			n, _ := strconv.Atoi(sp)
			i := slices.IndexFunc(lt.versions, func(v *ltVersion) bool { return v.number == n })
			switch {
			case i < 0:
				out.NotDeleted.Items = append(out.NotDeleted.Items, xUndeletedVersion{ID: lt.id, Name: lt.name, Number: n,
					Error: xResponseError{Code: "launchTemplateVersionDoesNotExist", Message: "The specified launch template version does not exist."}})
			case n == lt.def:
				out.NotDeleted.Items = append(out.NotDeleted.Items, xUndeletedVersion{ID: lt.id, Name: lt.name, Number: n,
					Error: xResponseError{Code: "unexpectedError", Message: "Cannot delete the default version of a launch template."}})
			default:
				lt.versions = slices.Delete(lt.versions, i, i+1)
				out.Deleted.Items = append(out.Deleted.Items, xDeletedVersion{ID: lt.id, Name: lt.name, Number: n})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// applyLaunchTemplate fills r with the parameters of the template
// version RunInstances names in LaunchTemplate.*, where r does not give
// them itself, and tags the instances with the template's ID and version
// (aws:ec2launchtemplate:id and aws:ec2launchtemplate:version, as EC2
// tags instances launched from a template).
func (s *Account) applyLaunchTemplate(r *request) error {
	id, name := r.get("LaunchTemplate.LaunchTemplateId"), r.get("LaunchTemplate.LaunchTemplateName")
	if id == "" && name == "" {
		return nil
	}
	st := s.lockIn(r)
	defer s.unlockState()
	lt, err := st.lookupLaunchTemplate(id, name)
	if err != nil {
		return err
	}
	v, err := lt.version(r.get("LaunchTemplate.Version"))
	if err != nil {
		return err
	}
	given := maps.Clone(r.form)
	for k, vals := range v.data {
		if !overridden(given, k) {
			r.form[k] = slices.Clone(vals)
		}
	}
	n := 1
	for r.form.Has("TagSpecification." + strconv.Itoa(n) + ".ResourceType") {
		n++
	}
	p := "TagSpecification." + strconv.Itoa(n) + "."
	r.form.Set(p+"ResourceType", "instance")
	r.form.Set(p+"Tag.1.Key", "aws:ec2launchtemplate:id")
	r.form.Set(p+"Tag.1.Value", lt.id)
	r.form.Set(p+"Tag.2.Key", "aws:ec2launchtemplate:version")
	r.form.Set(p+"Tag.2.Value", strconv.Itoa(v.number))
	return nil
}
