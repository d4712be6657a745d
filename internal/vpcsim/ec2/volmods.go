package ec2

import (
	"net/http"
	"strconv"
	"time"
)

// ModifyVolume and DescribeVolumesModifications (EBS Elastic Volumes). A
// modification is "modifying", then "optimizing" (after one
// Timing.VolumeAttach sample; a new size shows from then on, "Size
// increases take effect once the volume modification reaches the
// optimizing state"), then "completed" (after one Timing.Snapshot sample:
// "Performance (IOPS and throughput) changes can take from a few minutes
// to a few hours", EBS user guide, "Monitor the progress of Amazon EBS
// volume modifications"). DescribeVolumes shows the target type, IOPS
// and throughput at once. "After you initiate a volume modification,
// you must wait for that modification to reach the completed state
// before you can initiate another modification for the same volume. You
// can modify a volume up to four times within a rolling 24-hour period"
// (API reference ModifyVolume); AWS names no error code for either, and
// vpcsim answers IncorrectModificationState.

func init() {
	actions["ModifyVolume"] = actionSpec{run: (*Account).modifyVolume, resources: one(paramARN("volume", "VolumeId"))}
	actions["DescribeVolumesModifications"] = actionSpec{run: (*Account).describeVolumesModifications}
}

type volumeMod struct {
	from, to   volumeSpec
	state      string // modifying, optimizing, completed
	start, end time.Time
}

type xVolumeModification struct {
	VolumeID           string `xml:"volumeId"`
	ModificationState  string `xml:"modificationState"`
	TargetSize         int    `xml:"targetSize"`
	TargetIops         int    `xml:"targetIops,omitempty"`
	TargetVolumeType   string `xml:"targetVolumeType"`
	TargetThroughput   int    `xml:"targetThroughput,omitempty"`
	TargetMultiAttach  bool   `xml:"targetMultiAttachEnabled"`
	OriginalSize       int    `xml:"originalSize"`
	OriginalIops       int    `xml:"originalIops,omitempty"`
	OriginalVolumeType string `xml:"originalVolumeType"`
	OriginalThroughput int    `xml:"originalThroughput,omitempty"`
	OriginalMulti      bool   `xml:"originalMultiAttachEnabled"`
	Progress           int    `xml:"progress"`
	StartTime          string `xml:"startTime"`
	EndTime            string `xml:"endTime,omitempty"`
}

func (v *volume) xMod() xVolumeModification {
	m := v.mod
	x := xVolumeModification{VolumeID: v.id, ModificationState: m.state, TargetSize: m.to.size, TargetVolumeType: m.to.vtype,
		TargetMultiAttach: m.to.multiAttach, OriginalSize: m.from.size, OriginalVolumeType: m.from.vtype, OriginalMulti: m.from.multiAttach,
		StartTime: m.start.Format(awsTime)}
	x.OriginalIops, x.OriginalThroughput = m.from.reported()
	x.TargetIops, x.TargetThroughput = m.to.reported()
	switch m.state {
	case "optimizing":
		x.Progress = 50
	case "completed":
		x.Progress, x.EndTime = 100, m.end.Format(awsTime)
	}
	return x
}

type modifyVolumeResp struct {
	ec2Resp
	Mod xVolumeModification `xml:"volumeModification"`
}

func (s *Account) modifyVolume(r *request) (any, error) {
	out := &modifyVolumeResp{}
	err := s.mutateIn(r, func(st *state) error {
		v, err := st.lookupVolume(r)
		if err != nil {
			return err
		}
		if v.state != "available" && v.state != "in-use" {
			return errorf(http.StatusBadRequest, "IncorrectState", "Volume %s is in the '%s' state.", v.id, v.state)
		}
		if v.mod != nil && v.mod.state != "completed" {
			return errorf(http.StatusBadRequest, "IncorrectModificationState", "Volume %s is already being modified.", v.id)
		}
		now := time.Now().UTC()
		recent := 0
		for _, t := range v.modTimes {
			if now.Sub(t) < 24*time.Hour {
				recent++
			}
		}
		if recent >= 4 {
			return errorf(http.StatusBadRequest, "IncorrectModificationState", "You've reached the maximum modification rate per volume limit. Wait at least 6 hours between modifications per EBS volume.")
		}
		to := v.volumeSpec
		changed := false
		if sz := r.get("Size"); sz != "" {
			n, err := strconv.Atoi(sz)
			if err != nil || n < 1 || n > 65536 {
				return invalidParam("Value (%s) for parameter size is invalid.", sz)
			}
			if n < v.size {
				return invalidParam("New size cannot be smaller than existing size")
			}
			to.size, changed = n, true
		}
		if t := r.get("VolumeType"); t != "" {
			switch t {
			case "standard", "gp2", "gp3", "io1", "io2", "st1", "sc1":
			default:
				return invalidParam("Value (%s) for parameter volumeType is invalid. Valid types are standard, gp2, gp3, io1, io2, st1 and sc1.", t)
			}
			to.vtype, changed = t, true
		}
		for name, dst := range map[string]*int{"Iops": &to.iops, "Throughput": &to.throughput} {
			if s := r.get(name); s != "" {
				n, err := strconv.Atoi(s)
				if err != nil || n < 1 {
					return invalidParam("Value (%s) for parameter %s is invalid.", s, name)
				}
				*dst, changed = n, true
			}
		}
		if b, ok, err := r.boolean("MultiAttachEnabled"); err != nil {
			return err
		} else if ok {
			to.multiAttach, changed = b, true
		}
		if !changed {
			return missingParamMsg("The request must contain at least one of size, volumeType, iops, throughput or multiAttachEnabled")
		}
		// The same dependencies as CreateVolume's (parseVolumeSpec).
		switch {
		case to.throughput != 0 && to.vtype != "gp3":
			return errorf(http.StatusBadRequest, "InvalidParameterDependency", "The parameter Throughput is valid only for gp3 volumes, not %s.", to.vtype)
		case to.multiAttach && to.vtype != "io1" && to.vtype != "io2":
			return errorf(http.StatusBadRequest, "InvalidParameterDependency", "The parameter MultiAttachEnabled is supported with io1 and io2 volumes only, not %s.", to.vtype)
		case to.iops == 0 && (to.vtype == "io1" || to.vtype == "io2"):
			return missingParam("iops")
		}
		m := &volumeMod{from: v.volumeSpec, to: to, state: "modifying", start: now}
		v.mod, v.modTimes = m, append(v.modTimes, now)
		// Type, IOPS and throughput show at once; the size once optimizing.
		v.vtype, v.iops, v.throughput, v.multiAttach = to.vtype, to.iops, to.throughput, to.multiAttach
		st.schedule(s.opts.Timing.VolumeAttach.Sample(), func(st *state) {
			if v.mod != m || m.state != "modifying" {
				return
			}
			m.state, v.size = "optimizing", m.to.size
			st.schedule(s.opts.Timing.Snapshot.Sample(), func(*state) {
				if v.mod == m && m.state == "optimizing" {
					m.state, m.end = "completed", time.Now().UTC()
				}
			})
		})
		out.Mod = v.xMod()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

type describeVolumesModificationsResp struct {
	ec2Resp
	Mods      set[xVolumeModification] `xml:"volumeModificationSet"`
	NextToken string                   `xml:"nextToken,omitempty"`
}

// describeVolumesModifications "Describes the most recent volume
// modification request for the specified EBS volumes" (API reference),
// with the filters volume-id, modification-state, target-size,
// target-iops, target-volume-type, original-size, original-iops,
// original-volume-type and start-time.
func (s *Account) describeVolumesModifications(r *request) (any, error) {
	ids := r.list("VolumeId")
	fs, err := r.filters("volume-id", "modification-state", "target-size", "target-iops", "target-volume-type",
		"original-size", "original-iops", "original-volume-type", "start-time")
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
	out := &describeVolumesModificationsResp{Mods: set[xVolumeModification]{Items: []xVolumeModification{}}}
	for _, v := range st.vols {
		if v.mod == nil || !named(ids, v.id) {
			continue
		}
		x := v.xMod()
		if match(fs, nil, func(name string) []string {
			return []string{map[string]string{"volume-id": x.VolumeID, "modification-state": x.ModificationState,
				"target-size": strconv.Itoa(x.TargetSize), "target-iops": strconv.Itoa(x.TargetIops), "target-volume-type": x.TargetVolumeType,
				"original-size": strconv.Itoa(x.OriginalSize), "original-iops": strconv.Itoa(x.OriginalIops),
				"original-volume-type": x.OriginalVolumeType, "start-time": x.StartTime}[name]}
		}) {
			out.Mods.Items = append(out.Mods.Items, x)
		}
	}
	var perr error
	if out.Mods.Items, out.NextToken, perr = paginate(r, out.Mods.Items, ""); perr != nil {
		return nil, perr
	}
	return out, nil
}
