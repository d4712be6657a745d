package ec2

import (
	"maps"
	"net/http"
	"regexp"
	"slices"
	"time"
)

// CreateImage and DeregisterImage: an account's own AMIs, made from an
// instance that is running or stopped (API reference CreateImage:
// "Creates an Amazon EBS-backed AMI from an Amazon EBS-backed instance
// that is either running or stopped"). CreateImage snapshots every EBS
// volume attached to the instance, and the image is pending until its
// snapshots complete, then available. DescribeImages lists them beside
// vpcsim's built-in images; RunInstances accepts any ami- ID.

func init() {
	actions["CreateImage"] = actionSpec{run: (*Account).createImage, resources: one(instanceARN)}
	actions["DeregisterImage"] = actionSpec{run: (*Account).deregisterImage, resources: one(paramARN("image", "ImageId"))}
}

type image struct {
	id, name, desc string
	arch           string
	created        time.Time
	snaps          []*snapshot
	tags           map[string]string
}

// state is pending while any of its snapshots is.
func (im *image) state() string {
	for _, sn := range im.snaps {
		if sn.state != "completed" {
			return "pending"
		}
	}
	return "available"
}

// imageName is CreateImage's Name: 3 to 128 characters of letters,
// numbers, ( ) [ ] space . / - ' @ and _ (API reference CreateImage).
var imageName = regexp.MustCompile(`^[a-zA-Z0-9()\[\] ./\-'@_]{3,128}$`)

type createImageResp struct {
	ec2Resp
	ImageID string `xml:"imageId"`
}

func (s *Account) createImage(r *request) (any, error) {
	name, err := r.required("Name", "name")
	if err != nil {
		return nil, err
	}
	if !imageName.MatchString(name) {
		return nil, invalidParam("AMI names must be between 3 and 128 characters long, and may contain letters, numbers, '(', ')', '.', '-', '/' and '_'")
	}
	id, err := r.required("InstanceId", "instanceId")
	if err != nil {
		return nil, err
	}
	if err := malformed("InvalidInstanceID.Malformed", "i", id); err != nil {
		return nil, err
	}
	out := &createImageResp{}
	err = s.mutateIn(r, func(st *state) error {
		in := st.instance(id)
		if in == nil {
			return notFound("InvalidInstanceID.NotFound", "instance", id)
		}
		if in.state != "running" && in.state != "stopped" {
			return errorf(http.StatusBadRequest, "IncorrectInstanceState", "The instance '%s' is not in a state from which it can be imaged.", in.id)
		}
		for _, im := range st.images {
			if im.name == name {
				return errorf(http.StatusBadRequest, "InvalidAMIName.Duplicate", "AMI name %s is already in use by AMI %s", name, im.id)
			}
		}
		im := &image{id: s.ids.next("ami"), name: name, desc: r.get("Description"), arch: "x86_64", created: time.Now().UTC(), tags: tagSpecs(r, "image")}
		for _, v := range st.vols {
			if v.attach != nil && v.attach.instance == in.id {
				im.snaps = append(im.snaps, s.snapshotOf(st, v, "Created by CreateImage("+in.id+") for "+im.id, tagSpecs(r, "snapshot")))
			}
		}
		st.images = append(st.images, im)
		st.byID[im.id] = im
		out.ImageID = im.id
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// deregisterImage removes an image; its snapshots stay ("When you
// deregister an AMI, it doesn't affect ... snapshots", API reference
// DeregisterImage).
func (s *Account) deregisterImage(r *request) (any, error) {
	id, err := r.required("ImageId", "imageId")
	if err != nil {
		return nil, err
	}
	err = s.mutateIn(r, func(st *state) error {
		im, ok := st.byID[id].(*image)
		if !ok {
			return errorf(http.StatusBadRequest, "InvalidAMIID.NotFound", "The image id '[%s]' does not exist", id)
		}
		st.images = slices.DeleteFunc(st.images, func(x *image) bool { return x == im })
		delete(st.byID, id)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &returnResp{Return: true}, nil
}

// ownImages are the images of r's region made with CreateImage, and
// their tags by ID.
func (s *Account) ownImages(r *request) ([]xImage, map[string]map[string]string) {
	st := s.lockIn(r)
	defer s.unlockState()
	var out []xImage
	tags := map[string]map[string]string{}
	for _, im := range st.images {
		out = append(out, xImage{ImageID: im.id, ImageLocation: st.account + "/" + im.name, ImageState: im.state(), ImageOwnerID: st.account,
			Architecture: im.arch, ImageType: "machine", Name: im.name, Description: im.desc, RootDeviceType: "ebs", RootDeviceName: rootDevice,
			VirtualizationType: "hvm", Hypervisor: "xen", EnaSupport: true, CreationDate: im.created.Format(awsTime), Tags: optionalTags(im.tags)})
		tags[im.id] = maps.Clone(im.tags)
	}
	return out, tags
}
