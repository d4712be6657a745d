package ec2

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"
	"time"
)

type xVolAttachment struct {
	VolumeID            string `xml:"volumeId"`
	InstanceID          string `xml:"instanceId"`
	Device              string `xml:"device"`
	Status              string `xml:"status"`
	AttachTime          string `xml:"attachTime"`
	DeleteOnTermination bool   `xml:"deleteOnTermination"`
}

// iops and throughput are what AWS reports when a volume was created
// without them: gp2 has 3 IOPS per GiB (100 to 16,000), gp3 3,000 IOPS and
// 125 MiB/s (EBS user guide, "Amazon EBS volume types"); magnetic and
// HDD volumes report none.
func (v *volumeSpec) reported() (iops, throughput int) {
	switch v.vtype {
	case "gp2":
		return min(max(3*v.size, 100), 16000), 0
	case "gp3":
		return cmp.Or(v.iops, 3000), cmp.Or(v.throughput, 125)
	}
	return v.iops, 0
}

type xVolume struct {
	VolumeID           string              `xml:"volumeId"`
	Size               int                 `xml:"size"`
	SnapshotID         string              `xml:"snapshotId"`
	AvailabilityZone   string              `xml:"availabilityZone"`
	Status             string              `xml:"status"`
	CreateTime         string              `xml:"createTime"`
	Attachments        set[xVolAttachment] `xml:"attachmentSet"`
	VolumeType         string              `xml:"volumeType"`
	Iops               int                 `xml:"iops,omitempty"`
	Throughput         int                 `xml:"throughput,omitempty"`
	Encrypted          bool                `xml:"encrypted"`
	KmsKeyID           string              `xml:"kmsKeyId,omitempty"`
	MultiAttachEnabled bool                `xml:"multiAttachEnabled"`
	Tags               *set[xTag]          `xml:"tagSet,omitempty"`
}

func (v *volume) xAttachment() xVolAttachment {
	return xVolAttachment{VolumeID: v.id, InstanceID: v.attach.instance, Device: v.attach.device, Status: v.attach.status,
		AttachTime: v.attach.time.Format(awsTime), DeleteOnTermination: v.attach.deleteOnTermination}
}

func (v *volume) x() xVolume {
	x := xVolume{VolumeID: v.id, Size: v.size, AvailabilityZone: v.az, Status: v.state, CreateTime: v.created.Format(awsTime),
		Attachments: set[xVolAttachment]{Items: []xVolAttachment{}}, VolumeType: v.vtype, Tags: optionalTags(v.tags),
		Encrypted: v.encrypted, KmsKeyID: v.kmsKey, MultiAttachEnabled: v.multiAttach, SnapshotID: v.snapshot}
	x.Iops, x.Throughput = v.reported()
	if v.attach != nil {
		x.Attachments.Items = append(x.Attachments.Items, v.xAttachment())
	}
	return x
}

type createVolumeResp struct {
	ec2Resp
	xVolume
}

// createVolume creates a volume that is "creating" until the next
// transition (one Timing.VolumeAttach sample), then "available".
func (s *Account) createVolume(r *request) (any, error) {
	az, err := r.required("AvailabilityZone", "availabilityZone")
	if err != nil {
		return nil, err
	}
	spec, err := parseVolumeSpec(r, "", "size/snapshot", 0)
	if err != nil {
		return nil, err
	}
	out := &createVolumeResp{}
	err = s.mutateIn(r, func(st *state) error {
		if !isZoneOf(st.region, az) {
			return invalidParam("Invalid availability zone: [%s]", az)
		}
		if err := st.fromSnapshot(&spec); err != nil {
			return err
		}
		v := s.newVolume(st, spec, az, "creating", tagSpecs(r, "volume"))
		st.schedule(s.opts.Timing.VolumeAttach.Sample(), func(*state) {
			if v.state == "creating" {
				v.state = "available"
			}
		})
		out.xVolume = v.x()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (st *state) lookupVolume(r *request) (*volume, error) {
	id, err := r.required("VolumeId", "volumeId")
	if err != nil {
		return nil, err
	}
	if err := malformed("InvalidVolumeID.Malformed", "vol", id); err != nil {
		return nil, err
	}
	v := st.volume(id)
	if v == nil {
		return nil, errorf(http.StatusBadRequest, "InvalidVolume.NotFound", "The volume '%s' does not exist.", id)
	}
	return v, nil
}

type volAttachResp struct {
	ec2Resp
	xVolAttachment
}

// attachVolume starts attaching (attaching → attached after
// Timing.VolumeAttach). A volume in use answers VolumeInUse, one in another
// zone InvalidVolume.ZoneMismatch, a taken device InvalidParameterValue.
func (s *Account) attachVolume(r *request) (any, error) {
	dev, err := r.required("Device", "device")
	if err != nil {
		return nil, err
	}
	out := &volAttachResp{}
	err = s.mutateIn(r, func(st *state) error {
		v, err := st.lookupVolume(r)
		if err != nil {
			return err
		}
		in, err := st.lookupInstance(r)
		if err != nil {
			return err
		}
		if v.attach != nil {
			return errorf(http.StatusBadRequest, "VolumeInUse", "%s is already attached to an instance", v.id)
		}
		if v.state != "available" {
			return errorf(http.StatusBadRequest, "IncorrectState", "%s is not 'available'.", v.id)
		}
		if p := st.primaryENI(in); p != nil && p.az != v.az {
			return errorf(http.StatusBadRequest, "InvalidVolume.ZoneMismatch", "The volume '%s' is not in the same availability zone as instance '%s'", v.id, in.id)
		}
		if in.state != "running" && in.state != "stopped" {
			return errorf(http.StatusBadRequest, "IncorrectInstanceState", "The instance '%s' is not in a valid state for this operation.", in.id)
		}
		for _, o := range st.vols {
			if o.attach != nil && o.attach.instance == in.id && o.attach.device == dev {
				return invalidParam("Attachment point %s is already in use", dev)
			}
		}
		a := &volAttach{instance: in.id, device: dev, status: "attaching", time: time.Now().UTC()}
		v.attach, v.state = a, "in-use"
		st.schedule(s.opts.Timing.VolumeAttach.Sample(), func(*state) {
			if v.attach == a && a.status == "attaching" {
				a.status = "attached"
			}
		})
		out.xVolAttachment = v.xAttachment()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// detachVolume starts detaching (detaching → available after
// Timing.VolumeDetach, halved with Force). InstanceId and Device, when
// given, must match the attachment.
func (s *Account) detachVolume(r *request) (any, error) {
	force, _, err := r.boolean("Force")
	if err != nil {
		return nil, err
	}
	out := &volAttachResp{}
	err = s.mutateIn(r, func(st *state) error {
		v, err := st.lookupVolume(r)
		if err != nil {
			return err
		}
		a := v.attach
		// An attachment the call names (instance, device) that does not
		// exist is InvalidAttachment.NotFound ("The specified
		// attachment does not exist", API reference, error codes);
		// without one, a volume not attached is IncorrectState.
		id, dev := r.get("InstanceId"), r.get("Device")
		// An instance that does not exist is InvalidInstanceID.NotFound
		// ("The specified instance does not exist", API reference, error
		// codes), before any attachment is looked for.
		if id != "" && st.instance(id) == nil {
			return notFound("InvalidInstanceID.NotFound", "instance", id)
		}
		if id != "" && (a == nil || id != a.instance || dev != "" && dev != a.device) {
			return errorf(http.StatusBadRequest, "InvalidAttachment.NotFound", "The volume %s is not attached to instance %s as device %s", v.id, id, cmp.Or(dev, "(any)"))
		}
		if a == nil {
			return errorf(http.StatusBadRequest, "IncorrectState", "Volume '%s' is in the 'available' state.", v.id)
		}
		if dev != "" && dev != a.device {
			return errorf(http.StatusBadRequest, "InvalidAttachment.NotFound", "The volume %s is not attached at device %s", v.id, dev)
		}
		if a.status == "detaching" && !force {
			out.xVolAttachment = v.xAttachment()
			return nil
		}
		a.status = "detaching"
		d := s.opts.Timing.VolumeDetach.Sample()
		if force {
			d /= 2
		}
		st.schedule(d, func(*state) {
			if v.attach == a {
				v.attach, v.state = nil, "available"
			}
		})
		out.xVolAttachment = v.xAttachment()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Account) deleteVolume(r *request) (any, error) {
	err := s.mutateIn(r, func(st *state) error {
		v, err := st.lookupVolume(r)
		if err != nil {
			return err
		}
		if v.attach != nil {
			return errorf(http.StatusBadRequest, "VolumeInUse", "Volume %s is currently attached to %s", v.id, v.attach.instance)
		}
		st.vols = slices.DeleteFunc(st.vols, func(x *volume) bool { return x == v })
		delete(st.byID, v.id)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &returnResp{Return: true}, nil
}

type describeVolumesResp struct {
	ec2Resp
	Volumes   set[xVolume] `xml:"volumeSet"`
	NextToken string       `xml:"nextToken,omitempty"`
}

func (s *Account) describeVolumes(r *request) (any, error) {
	ids := r.list("VolumeId")
	fs, err := r.filters("volume-id", "attachment.instance-id", "attachment.status", "attachment.device",
		"availability-zone", "status", "size", "volume-type", "encrypted",
		"snapshot-id", "create-time", "multi-attach-enabled", "attachment.attach-time", "attachment.delete-on-termination")
	if err != nil {
		return nil, err
	}
	st := s.lockIn(r)
	defer s.unlockState()
	for _, id := range ids {
		if st.volume(id) == nil {
			return nil, errorf(http.StatusBadRequest, "InvalidVolume.NotFound", "The volume '%s' does not exist.", id)
		}
	}
	out := &describeVolumesResp{Volumes: set[xVolume]{Items: []xVolume{}}}
	for _, v := range st.vols {
		if !named(ids, v.id) {
			continue
		}
		x := v.x()
		ok := match(fs, v.tags, func(name string) []string {
			switch name {
			case "volume-id":
				return []string{x.VolumeID}
			case "availability-zone":
				return []string{x.AvailabilityZone}
			case "status":
				return []string{x.Status}
			case "size":
				return []string{strconv.Itoa(x.Size)}
			case "volume-type":
				return []string{x.VolumeType}
			case "encrypted":
				return []string{boolStr(x.Encrypted)}
			case "snapshot-id":
				return []string{x.SnapshotID}
			case "create-time":
				return []string{x.CreateTime}
			case "multi-attach-enabled":
				return []string{boolStr(x.MultiAttachEnabled)}
			}
			if v.attach == nil {
				return nil
			}
			switch name {
			case "attachment.instance-id":
				return []string{v.attach.instance}
			case "attachment.status":
				return []string{v.attach.status}
			case "attachment.device":
				return []string{v.attach.device}
			case "attachment.attach-time":
				return []string{v.attach.time.Format(awsTime)}
			case "attachment.delete-on-termination":
				return []string{boolStr(v.attach.deleteOnTermination)}
			}
			return nil
		})
		if ok {
			out.Volumes.Items = append(out.Volumes.Items, x)
		}
	}
	var perr error
	if out.Volumes.Items, out.NextToken, perr = paginate(r, out.Volumes.Items, ""); perr != nil {
		return nil, perr
	}
	return out, nil
}
