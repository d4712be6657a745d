package ec2

import (
	"cmp"
	"maps"
	"net/http"
	"strconv"
	"time"
)

// rootDevice is the root device name of the one image vpcsim models: an
// EBS-backed HVM image whose block device mapping holds an 8 GiB gp2 root
// volume deleted on termination, as the AMIs the SDKs' examples name.
const rootDevice = "/dev/sda1"

// volumeSpec is what CreateVolume and a block device mapping's Ebs say of
// a new volume; parseVolumeSpec reads it under prefix ("" for
// CreateVolume's own parameters, "BlockDeviceMapping.N.Ebs." otherwise).
type volumeSpec struct {
	size        int
	vtype       string
	iops        int
	throughput  int
	encrypted   bool
	kmsKey      string
	multiAttach bool
	snapshot    string
}

// parseVolumeSpec checks the dependencies the CreateVolume API reference
// states: "If KmsKeyId is specified, the encrypted state must be true";
// Throughput "is valid only for gp3 volumes"; MultiAttachEnabled is
// "supported with io1 and io2 volumes only"; Iops is required for io1 and
// io2. A size or a snapshot must be given. AWS answers the dependency
// errors with InvalidParameterDependency (API reference, "Common client
// error codes").
func parseVolumeSpec(r *request, prefix, sizeWire string, defaultSize int) (volumeSpec, error) {
	v := volumeSpec{vtype: r.get(prefix + "VolumeType"), kmsKey: r.get(prefix + "KmsKeyId"), snapshot: r.get(prefix + "SnapshotId")}
	if v.vtype == "" {
		v.vtype = "gp2"
	}
	switch v.vtype {
	case "standard", "gp2", "gp3", "io1", "io2", "st1", "sc1":
	default:
		return v, invalidParam("Value (%s) for parameter volumeType is invalid. Valid types are standard, gp2, gp3, io1, io2, st1 and sc1.", v.vtype)
	}
	var err error
	if s := r.get(prefix + "VolumeSize"); prefix == "" {
		s = r.get("Size")
		if s != "" {
			if v.size, err = strconv.Atoi(s); err != nil || v.size < 1 || v.size > 65536 {
				return v, invalidParam("Value (%s) for parameter size is invalid.", s)
			}
		}
	} else if s != "" {
		if v.size, err = strconv.Atoi(s); err != nil || v.size < 1 || v.size > 65536 {
			return v, invalidParam("Value (%s) for parameter volumeSize is invalid.", s)
		}
	}
	if v.size == 0 && v.snapshot == "" && defaultSize == 0 {
		return v, missingParam(sizeWire)
	}
	if v.size == 0 && v.snapshot == "" {
		// the image's size: vpcsim's image has an 8 GiB root volume (a
		// snapshot's size is its own: state.fromSnapshot)
		v.size = cmp.Or(defaultSize, 8)
	}
	for name, dst := range map[string]*int{"Iops": &v.iops, "Throughput": &v.throughput} {
		if s := r.get(prefix + name); s != "" {
			if *dst, err = strconv.Atoi(s); err != nil || *dst < 1 {
				return v, invalidParam("Value (%s) for parameter %s is invalid.", s, name)
			}
		}
	}
	if v.encrypted, _, err = r.boolean(prefix + "Encrypted"); err != nil {
		return v, err
	}
	if v.multiAttach, _, err = r.boolean(prefix + "MultiAttachEnabled"); err != nil {
		return v, err
	}
	dependency := func(format string, args ...any) error {
		return errorf(http.StatusBadRequest, "InvalidParameterDependency", format, args...)
	}
	switch {
	case v.kmsKey != "" && !v.encrypted:
		return v, dependency("The parameter KmsKeyId requires the parameter Encrypted to be set.")
	case v.throughput != 0 && v.vtype != "gp3":
		return v, dependency("The parameter Throughput is valid only for gp3 volumes, not %s.", v.vtype)
	case v.multiAttach && v.vtype != "io1" && v.vtype != "io2":
		return v, dependency("The parameter MultiAttachEnabled is supported with io1 and io2 volumes only, not %s.", v.vtype)
	case v.iops == 0 && (v.vtype == "io1" || v.vtype == "io2"):
		return v, missingParam("iops")
	}
	return v, nil
}

// newVolume adds a volume of spec in zone az; s.mu held.
func (s *Account) newVolume(st *state, spec volumeSpec, az, state string, tags map[string]string) *volume {
	v := &volume{id: s.ids.next("vol"), az: az, volumeSpec: spec, state: state, created: time.Now().UTC(), tags: tags}
	st.vols = append(st.vols, v)
	st.byID[v.id] = v
	return v
}

// blockDevice is one entry of RunInstances' BlockDeviceMapping.N.
type blockDevice struct {
	device   string
	noDevice bool
	spec     volumeSpec
	// deleteOnTermination, when set, overrides the default: true, the
	// image's value for its root volume and what EC2 gives volumes it
	// creates from a launch's mapping.
	deleteOnTermination *bool
}

// parseBlockDevices reads RunInstances' BlockDeviceMapping.N: each entry
// names a DeviceName and either Ebs (with a VolumeSize or a SnapshotId),
// NoDevice (which must be empty: it suppresses the image's device) or a
// VirtualName (an instance store volume, which vpcsim does not model and
// omits, as EC2 does for instance types without instance store).
func parseBlockDevices(r *request) ([]blockDevice, error) {
	var out []blockDevice
	for i := 1; ; i++ {
		p := "BlockDeviceMapping." + strconv.Itoa(i) + "."
		if !hasPrefix(r, p) {
			return out, nil
		}
		d := blockDevice{device: r.get(p + "DeviceName")}
		if d.device == "" {
			return nil, missingParam("deviceName")
		}
		switch {
		case r.form.Has(p + "NoDevice"):
			if r.get(p+"NoDevice") != "" {
				return nil, errorf(http.StatusBadRequest, "InvalidRequest", "The request received was invalid")
			}
			d.noDevice = true
		case r.get(p+"VirtualName") != "":
			continue
		case !hasPrefix(r, p+"Ebs."):
			return nil, missingParam("ebs")
		default:
			def := 0
			if d.device == rootDevice {
				def = 8 // the image's root volume
			}
			spec, err := parseVolumeSpec(r, p+"Ebs.", "size or snapshotId", def)
			if err != nil {
				return nil, err
			}
			d.spec = spec
			if b, ok, err := r.boolean(p + "Ebs.DeleteOnTermination"); err != nil {
				return nil, err
			} else if ok {
				d.deleteOnTermination = &b
			}
		}
		out = append(out, d)
	}
}

func hasPrefix(r *request, p string) bool {
	for k := range r.form {
		if len(k) > len(p) && k[:len(p)] == p {
			return true
		}
	}
	return false
}

// attachLaunchVolumes creates and attaches the volumes of a new instance:
// the image's root volume (8 GiB gp2 at rootDevice, unless the mapping
// overrides or suppresses it) and every other EBS entry of the mapping,
// tagged with the launch's "volume" tag specification; s.mu held.
func (s *Account) attachLaunchVolumes(st *state, in *instance, az string, bdms []blockDevice, tags map[string]string) {
	root := blockDevice{device: rootDevice, spec: volumeSpec{size: 8, vtype: "gp2", iops: 100}}
	devs := []blockDevice{root}
	for _, d := range bdms {
		if d.device == rootDevice {
			devs[0] = d
			continue
		}
		devs = append(devs, d)
	}
	for _, d := range devs {
		if d.noDevice {
			continue
		}
		v := s.newVolume(st, d.spec, az, "in-use", maps.Clone(tags))
		v.attach = &volAttach{instance: in.id, device: d.device, status: "attached", time: in.launch, deleteOnTermination: true}
		if d.deleteOnTermination != nil {
			v.attach.deleteOnTermination = *d.deleteOnTermination
		}
	}
}
