package ec2

import (
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// EBS snapshots: CreateSnapshot(s), DescribeSnapshots, DeleteSnapshot,
// CopySnapshot and the createVolumePermission attribute. A snapshot is
// "pending" for one Timing.Snapshot sample after it starts, then
// "completed" with progress 100% (API reference Snapshot, State: "pending
// | completed | error"; EBS user guide, "Create Amazon EBS snapshots":
// "Snapshots occur asynchronously; the point-in-time snapshot is created
// immediately, but the status of the snapshot is pending until the
// snapshot is complete"). It keeps what its volume was: size, encryption
// and KMS key. Volumes made from it (CreateVolume SnapshotId, a launch's
// block device mapping) take those as their default.

func init() {
	for name, spec := range map[string]actionSpec{
		"CreateSnapshot":            {run: (*Account).createSnapshot, resources: snapshotVolumeARNs},
		"CreateSnapshots":           {run: (*Account).createSnapshots, resources: one(paramARN("instance", "InstanceSpecification.InstanceId"))},
		"DescribeSnapshots":         {run: (*Account).describeSnapshots},
		"DeleteSnapshot":            {run: (*Account).deleteSnapshot, resources: one(snapshotARN("SnapshotId"))},
		"CopySnapshot":              {run: (*Account).copySnapshot, resources: one(snapshotARN("SourceSnapshotId"))},
		"ModifySnapshotAttribute":   {run: (*Account).modifySnapshotAttribute, resources: one(snapshotARN("SnapshotId"))},
		"DescribeSnapshotAttribute": {run: (*Account).describeSnapshotAttribute},
		"ResetSnapshotAttribute":    {run: (*Account).resetSnapshotAttribute, resources: one(snapshotARN("SnapshotId"))},
	} {
		actions[name] = spec
	}
}

// snapshotARN names a snapshot, which has no account in its ARN
// ("Actions defined by Amazon EC2": arn:${Partition}:ec2:${Region}::snapshot/${SnapshotId}).
func snapshotARN(param string) func(st *state, r *request) string {
	return func(st *state, r *request) string {
		return "arn:aws:ec2:" + st.region + "::snapshot/" + r.get(param)
	}
}

// snapshotVolumeARNs are CreateSnapshot's: the volume and the new
// snapshot ("Actions defined by Amazon EC2": snapshot*, volume*).
func snapshotVolumeARNs(st *state, r *request) []string {
	return []string{st.arn("volume", r.get("VolumeId")), "arn:aws:ec2:" + st.region + "::snapshot/*"}
}

type snapshot struct {
	id          string
	volume      string // the source volume; copies have copiedVolumeID
	size        int
	description string
	state       string // pending, completed
	start       time.Time
	encrypted   bool
	kmsKey      string
	tags        map[string]string
	// groups and users hold createVolumePermission: "all" makes the
	// snapshot public; users are the other accounts that may use it.
	groups, users []string
}

// copiedVolumeID is the volume of a CopySnapshot copy (API reference
// Snapshot, volumeId: "Snapshots created by the CopySnapshot action have
// an arbitrary volume ID that should not be used for any purpose").
const copiedVolumeID = "vol-ffffffff"

func (st *state) snapshot(id string) *snapshot { x, _ := st.byID[id].(*snapshot); return x }

func snapshotNotFound(id string) *apiError {
	return errorf(http.StatusBadRequest, "InvalidSnapshot.NotFound", "The snapshot '%s' does not exist.", id)
}

// newSnapshot starts a snapshot of v (or a copy when v is nil); it
// completes after one Timing.Snapshot sample. s.mu held.
func (s *Account) newSnapshot(st *state, sn *snapshot) *snapshot {
	sn.id, sn.state, sn.start = s.ids.next("snap"), "pending", time.Now().UTC()
	st.snaps = append(st.snaps, sn)
	st.byID[sn.id] = sn
	st.schedule(s.opts.Timing.Snapshot.Sample(), func(*state) {
		if sn.state == "pending" {
			sn.state = "completed"
		}
	})
	return sn
}

func (s *Account) snapshotOf(st *state, v *volume, desc string, tags map[string]string) *snapshot {
	return s.newSnapshot(st, &snapshot{volume: v.id, size: v.size, description: desc, encrypted: v.encrypted, kmsKey: v.kmsKey, tags: tags})
}

type xSnapshot struct {
	SnapshotID  string     `xml:"snapshotId"`
	VolumeID    string     `xml:"volumeId"`
	Status      string     `xml:"status"`
	StartTime   string     `xml:"startTime"`
	Progress    string     `xml:"progress"`
	OwnerID     string     `xml:"ownerId"`
	VolumeSize  int        `xml:"volumeSize"`
	Description string     `xml:"description"`
	Encrypted   bool       `xml:"encrypted"`
	KmsKeyID    string     `xml:"kmsKeyId,omitempty"`
	StorageTier string     `xml:"storageTier"`
	Tags        *set[xTag] `xml:"tagSet,omitempty"`
}

// progress is "0%" while pending, "100%" once completed.
func (sn *snapshot) progress() string {
	if sn.state == "completed" {
		return "100%"
	}
	return "0%"
}

func (sn *snapshot) x(owner string) xSnapshot {
	return xSnapshot{SnapshotID: sn.id, VolumeID: sn.volume, Status: sn.state, StartTime: sn.start.Format(awsTime),
		Progress: sn.progress(), OwnerID: owner, VolumeSize: sn.size, Description: sn.description,
		Encrypted: sn.encrypted, KmsKeyID: sn.kmsKey, StorageTier: "standard", Tags: optionalTags(sn.tags)}
}

type createSnapshotResp struct {
	ec2Resp
	xSnapshot
}

// createSnapshot snapshots VolumeId, which must exist (InvalidVolume.NotFound).
func (s *Account) createSnapshot(r *request) (any, error) {
	out := &createSnapshotResp{}
	err := s.mutateIn(r, func(st *state) error {
		v, err := st.lookupVolume(r)
		if err != nil {
			return err
		}
		out.xSnapshot = s.snapshotOf(st, v, r.get("Description"), tagSpecs(r, "snapshot")).x(st.account)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

type xSnapshotInfo struct {
	SnapshotID  string    `xml:"snapshotId"`
	VolumeID    string    `xml:"volumeId"`
	State       string    `xml:"state"`
	StartTime   string    `xml:"startTime"`
	Progress    string    `xml:"progress"`
	OwnerID     string    `xml:"ownerId"`
	VolumeSize  int       `xml:"volumeSize"`
	Description string    `xml:"description"`
	Encrypted   bool      `xml:"encrypted"`
	Tags        set[xTag] `xml:"tagSet"`
}

type createSnapshotsResp struct {
	ec2Resp
	Snapshots set[xSnapshotInfo] `xml:"snapshotSet"`
}

// createSnapshots snapshots every volume attached to an instance, all
// started at the same time (API reference CreateSnapshots: "Creates
// crash-consistent snapshots of multiple EBS volumes attached to an
// Amazon EC2 instance"; SnapshotInfo, startTime: "This is the same for
// all snapshots initiated by the same request"). ExcludeBootVolume leaves
// out the root volume, ExcludeDataVolumeId.N the named ones;
// CopyTagsFromSource=volume copies each volume's tags.
func (s *Account) createSnapshots(r *request) (any, error) {
	id, err := r.required("InstanceSpecification.InstanceId", "instanceSpecification.instanceId")
	if err != nil {
		return nil, err
	}
	noBoot, _, err := r.boolean("InstanceSpecification.ExcludeBootVolume")
	if err != nil {
		return nil, err
	}
	excluded := r.list("InstanceSpecification.ExcludeDataVolumeId")
	copyTags := r.get("CopyTagsFromSource")
	if copyTags != "" && copyTags != "volume" {
		return nil, invalidParam("Value (%s) for parameter copyTagsFromSource is invalid. Valid values: volume", copyTags)
	}
	out := &createSnapshotsResp{Snapshots: set[xSnapshotInfo]{Items: []xSnapshotInfo{}}}
	err = s.mutateIn(r, func(st *state) error {
		in := st.instance(id)
		if in == nil || in.state == "terminated" {
			return notFound("InvalidInstanceID.NotFound", "instance", id)
		}
		var start time.Time
		for _, v := range st.vols {
			if v.attach == nil || v.attach.instance != in.id {
				continue
			}
			if noBoot && v.attach.device == rootDevice || slices.Contains(excluded, v.id) {
				continue
			}
			tags := tagSpecs(r, "snapshot")
			if copyTags == "volume" {
				tags = maps.Clone(v.tags)
				maps.Copy(tags, tagSpecs(r, "snapshot"))
			}
			sn := s.snapshotOf(st, v, r.get("Description"), tags)
			if start.IsZero() {
				start = sn.start
			}
			sn.start = start
			out.Snapshots.Items = append(out.Snapshots.Items, xSnapshotInfo{SnapshotID: sn.id, VolumeID: v.id, State: sn.state,
				StartTime: sn.start.Format(awsTime), Progress: sn.progress(), OwnerID: st.account, VolumeSize: sn.size,
				Description: sn.description, Encrypted: sn.encrypted, Tags: tagSet(sn.tags)})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

type describeSnapshotsResp struct {
	ec2Resp
	Snapshots set[xSnapshot] `xml:"snapshotSet"`
	NextToken string         `xml:"nextToken,omitempty"`
}

// describeSnapshots lists the account's snapshots with the filters the
// API reference lists for DescribeSnapshots. Owner.N scopes to owners
// (self or this account's ID: vpcsim has no public or shared snapshots of
// others); RestorableBy.N to snapshots those accounts may use: their
// own, public ones, and those shared with them.
func (s *Account) describeSnapshots(r *request) (any, error) {
	ids := r.list("SnapshotId")
	owners, restorable := r.list("Owner"), r.list("RestorableBy")
	fs, err := r.filters("description", "encrypted", "owner-alias", "owner-id", "progress", "snapshot-id",
		"start-time", "status", "storage-tier", "volume-id", "volume-size")
	if err != nil {
		return nil, err
	}
	st := s.lockIn(r)
	defer s.unlockState()
	for _, id := range ids {
		if st.snapshot(id) == nil {
			return nil, snapshotNotFound(id)
		}
	}
	out := &describeSnapshotsResp{Snapshots: set[xSnapshot]{Items: []xSnapshot{}}}
	for _, sn := range st.snaps {
		if !named(ids, sn.id) {
			continue
		}
		if len(owners) > 0 && !slices.Contains(owners, "self") && !slices.Contains(owners, st.account) {
			continue
		}
		if len(restorable) > 0 && !slices.ContainsFunc(restorable, func(a string) bool {
			return a == "self" || a == st.account || slices.Contains(sn.groups, "all") || slices.Contains(sn.users, a)
		}) {
			continue
		}
		x := sn.x(st.account)
		ok := match(fs, sn.tags, func(name string) []string {
			switch name {
			case "description":
				return []string{x.Description}
			case "encrypted":
				return []string{boolStr(x.Encrypted)}
			case "owner-id":
				return []string{x.OwnerID}
			case "progress":
				return []string{x.Progress}
			case "snapshot-id":
				return []string{x.SnapshotID}
			case "start-time":
				return []string{x.StartTime}
			case "status":
				return []string{x.Status}
			case "storage-tier":
				return []string{x.StorageTier}
			case "volume-id":
				return []string{x.VolumeID}
			case "volume-size":
				return []string{strconv.Itoa(x.VolumeSize)}
			}
			return nil // owner-alias: only Amazon's own snapshots have one
		})
		if ok {
			out.Snapshots.Items = append(out.Snapshots.Items, x)
		}
	}
	var perr error
	if out.Snapshots.Items, out.NextToken, perr = paginate(r, out.Snapshots.Items, idsParam(r, "SnapshotId", "snapshotIds")); perr != nil {
		return nil, perr
	}
	return out, nil
}

func (st *state) lookupSnapshot(r *request, param, wire string) (*snapshot, error) {
	id, err := r.required(param, wire)
	if err != nil {
		return nil, err
	}
	sn := st.snapshot(id)
	if sn == nil {
		return nil, snapshotNotFound(id)
	}
	return sn, nil
}

// deleteSnapshot deletes a snapshot; volumes made from it stay (EBS user
// guide, "Delete an Amazon EBS snapshot": deleting a snapshot "has no
// effect on" the volumes created from it).
func (s *Account) deleteSnapshot(r *request) (any, error) {
	err := s.mutateIn(r, func(st *state) error {
		sn, err := st.lookupSnapshot(r, "SnapshotId", "snapshotId")
		if err != nil {
			return err
		}
		st.snaps = slices.DeleteFunc(st.snaps, func(x *snapshot) bool { return x == sn })
		delete(st.byID, sn.id)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &returnResp{Return: true}, nil
}

type copySnapshotResp struct {
	ec2Resp
	SnapshotID string     `xml:"snapshotId"`
	Tags       *set[xTag] `xml:"tagSet,omitempty"`
}

// copySnapshot copies SourceSnapshotId of SourceRegion into the call's
// region. The copy is encrypted when the source is or Encrypted is set,
// with KmsKeyId when given ("If KmsKeyId is specified, the encrypted
// state must be true", API reference CopySnapshot; InvalidParameterDependency
// otherwise, as for CreateVolume), and has an arbitrary volume ID.
func (s *Account) copySnapshot(r *request) (any, error) {
	srcRegion, err := r.required("SourceRegion", "sourceRegion")
	if err != nil {
		return nil, err
	}
	encrypted, _, err := r.boolean("Encrypted")
	if err != nil {
		return nil, err
	}
	kms := r.get("KmsKeyId")
	if kms != "" && !encrypted {
		return nil, errorf(http.StatusBadRequest, "InvalidParameterDependency", "The parameter KmsKeyId requires the parameter Encrypted to be set.")
	}
	out := &copySnapshotResp{}
	err = s.mutateIn(r, func(st *state) error {
		if regionTable[srcRegion] == nil {
			return invalidParam("Value (%s) for parameter sourceRegion is invalid.", srcRegion)
		}
		src := s.regionLocked(srcRegion)
		src.advance(time.Now())
		from, err := src.lookupSnapshot(r, "SourceSnapshotId", "sourceSnapshotId")
		if err != nil {
			return err
		}
		if from.state != "completed" {
			return errorf(http.StatusBadRequest, "IncorrectState", "Snapshot %s is not in the 'completed' state.", from.id)
		}
		sn := &snapshot{volume: copiedVolumeID, size: from.size, description: r.get("Description"),
			encrypted: from.encrypted || encrypted, kmsKey: cmpOr(kms, from.kmsKey), tags: tagSpecs(r, "snapshot")}
		s.newSnapshot(st, sn)
		out.SnapshotID, out.Tags = sn.id, optionalTags(sn.tags)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// modifySnapshotAttribute adds or removes createVolumePermission
// entries: the group "all" (public) or account IDs, from UserGroup.N and
// UserId.N or from CreateVolumePermission.Add.N / .Remove.N. Only
// createVolumePermission can be modified (API reference
// ModifySnapshotAttribute, Attribute: "Only volume creation permissions
// can be modified"); a group other than "all" is
// InvalidAMIAttributeItemValue, as for images (API reference, "Common
// client error codes": "The value of an item added to, or removed from,
// an image attribute is not valid"). Adding what is there and removing
// what is not do nothing.
func (s *Account) modifySnapshotAttribute(r *request) (any, error) {
	op := r.get("OperationType")
	groups, users := r.list("UserGroup"), r.list("UserId")
	for _, kind := range []string{"Add", "Remove"} {
		for i := 1; ; i++ {
			p := "CreateVolumePermission." + kind + "." + strconv.Itoa(i) + "."
			g, u := r.get(p+"Group"), r.get(p+"UserId")
			if g == "" && u == "" {
				break
			}
			if op != "" && op != map[string]string{"Add": "add", "Remove": "remove"}[kind] {
				return nil, errorf(http.StatusBadRequest, "InvalidParameterCombination", "The parameter operationType does not match createVolumePermission.%s", kind)
			}
			op = map[string]string{"Add": "add", "Remove": "remove"}[kind]
			if g != "" {
				groups = append(groups, g)
			}
			if u != "" {
				users = append(users, u)
			}
		}
	}
	if a := r.get("Attribute"); a != "" && a != "createVolumePermission" {
		return nil, invalidParam("Value (%s) for parameter attribute is invalid. Only createVolumePermission can be modified.", a)
	}
	if op != "add" && op != "remove" {
		if op == "" {
			return nil, missingParam("operationType")
		}
		return nil, invalidParam("Value (%s) for parameter operationType is invalid. Valid values: add, remove", op)
	}
	for _, g := range groups {
		if g != "all" {
			return nil, errorf(http.StatusBadRequest, "InvalidAMIAttributeItemValue", "Invalid attribute item value \"%s\" for userGroup item type.", g)
		}
	}
	err := s.mutateIn(r, func(st *state) error {
		sn, err := st.lookupSnapshot(r, "SnapshotId", "snapshotId")
		if err != nil {
			return err
		}
		if op == "add" {
			for _, g := range groups {
				if !slices.Contains(sn.groups, g) {
					sn.groups = append(sn.groups, g)
				}
			}
			for _, u := range users {
				if !slices.Contains(sn.users, u) {
					sn.users = append(sn.users, u)
				}
			}
			return nil
		}
		sn.groups = slices.DeleteFunc(sn.groups, func(g string) bool { return slices.Contains(groups, g) })
		sn.users = slices.DeleteFunc(sn.users, func(u string) bool { return slices.Contains(users, u) })
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &returnResp{Return: true}, nil
}

type xVolumePermission struct {
	Group  string `xml:"group,omitempty"`
	UserID string `xml:"userId,omitempty"`
}

type describeSnapshotAttributeResp struct {
	ec2Resp
	SnapshotID   string                  `xml:"snapshotId"`
	Permissions  *set[xVolumePermission] `xml:"createVolumePermission,omitempty"`
	ProductCodes *set[struct{}]          `xml:"productCodes,omitempty"`
}

// describeSnapshotAttribute answers createVolumePermission or
// productCodes (none: vpcsim has no Marketplace snapshots).
func (s *Account) describeSnapshotAttribute(r *request) (any, error) {
	attr, err := r.required("Attribute", "attribute")
	if err != nil {
		return nil, err
	}
	if attr != "createVolumePermission" && attr != "productCodes" {
		return nil, invalidParam("Value (%s) for parameter attribute is invalid. Valid values: productCodes, createVolumePermission", attr)
	}
	st := s.lockIn(r)
	defer s.unlockState()
	sn, err := st.lookupSnapshot(r, "SnapshotId", "snapshotId")
	if err != nil {
		return nil, err
	}
	out := &describeSnapshotAttributeResp{SnapshotID: sn.id}
	if attr == "productCodes" {
		out.ProductCodes = &set[struct{}]{Items: []struct{}{}}
		return out, nil
	}
	perms := set[xVolumePermission]{Items: []xVolumePermission{}}
	for _, g := range sn.groups {
		perms.Items = append(perms.Items, xVolumePermission{Group: g})
	}
	for _, u := range sn.users {
		perms.Items = append(perms.Items, xVolumePermission{UserID: u})
	}
	out.Permissions = &perms
	return out, nil
}

// resetSnapshotAttribute makes the snapshot private again: no public
// group, no accounts (API reference ResetSnapshotAttribute: "Resets
// permission settings for the specified snapshot").
func (s *Account) resetSnapshotAttribute(r *request) (any, error) {
	attr, err := r.required("Attribute", "attribute")
	if err != nil {
		return nil, err
	}
	if attr != "createVolumePermission" {
		return nil, invalidParam("Value (%s) for parameter attribute is invalid. Only createVolumePermission can be reset.", attr)
	}
	err = s.mutateIn(r, func(st *state) error {
		sn, err := st.lookupSnapshot(r, "SnapshotId", "snapshotId")
		if err != nil {
			return err
		}
		sn.groups, sn.users = nil, nil
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &returnResp{Return: true}, nil
}

// fromSnapshot completes a volume spec that names a snapshot: the
// snapshot must exist (InvalidSnapshot.NotFound); the volume is at least
// the snapshot's size, which is its default ("Size: ... If you specify a
// snapshot, the default is the snapshot size. You can specify a volume
// size that is equal to or larger than the snapshot size", API reference
// CreateVolume), and encrypted with the snapshot's key when the snapshot
// is ("Volumes created from encrypted snapshots are automatically
// encrypted", EBS user guide, "Amazon EBS encryption"). s.mu held.
func (st *state) fromSnapshot(spec *volumeSpec) error {
	if spec.snapshot == "" {
		return nil
	}
	sn := st.snapshot(spec.snapshot)
	if sn == nil {
		return snapshotNotFound(spec.snapshot)
	}
	if spec.size == 0 {
		spec.size = sn.size
	}
	if spec.size < sn.size {
		return invalidParam("Volume of %dGiB is too small; minimum is %dGiB.", spec.size, sn.size)
	}
	if sn.encrypted {
		spec.encrypted = true
		spec.kmsKey = cmpOr(spec.kmsKey, sn.kmsKey)
	}
	return nil
}
