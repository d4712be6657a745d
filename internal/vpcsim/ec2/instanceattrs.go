package ec2

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// metadataOptions are an instance's InstanceMetadataOptions: what
// RunInstances' MetadataOptions and ModifyInstanceMetadataOptions set.
type metadataOptions struct {
	tokens, endpoint, ipv6, tags string
	hopLimit                     int
}

// defaultMetadataOptions are EC2's defaults for an image that does not set
// its own (API reference, InstanceMetadataOptionsRequest): tokens
// optional, endpoint enabled, IPv6 endpoint disabled, hop limit 1, tags
// in metadata disabled.
var defaultMetadataOptions = metadataOptions{tokens: "optional", endpoint: "enabled", ipv6: "disabled", tags: "disabled", hopLimit: 1}

type xMetadataOptions struct {
	State                   string `xml:"state"`
	HTTPTokens              string `xml:"httpTokens"`
	HTTPPutResponseHopLimit int    `xml:"httpPutResponseHopLimit"`
	HTTPEndpoint            string `xml:"httpEndpoint"`
	HTTPProtocolIpv6        string `xml:"httpProtocolIpv6"`
	InstanceMetadataTags    string `xml:"instanceMetadataTags"`
}

func (m metadataOptions) x() *xMetadataOptions {
	return &xMetadataOptions{State: "applied", HTTPTokens: m.tokens, HTTPPutResponseHopLimit: m.hopLimit,
		HTTPEndpoint: m.endpoint, HTTPProtocolIpv6: m.ipv6, InstanceMetadataTags: m.tags}
}

// metadataOptions are the instance's; a world's instances have the
// world's (imds-v1 says whether tokens are optional).
func (st *state) metadataOptions(in *instance) metadataOptions {
	if in.metadata.tokens == "" {
		m := defaultMetadataOptions
		if !st.imdsV1 {
			m.tokens = "required"
		}
		return m
	}
	return in.metadata
}

// parseMetadataOptions applies the parameters under prefix
// ("MetadataOptions." for RunInstances, "" for
// ModifyInstanceMetadataOptions) to m, checking each against the values
// the API reference lists.
func parseMetadataOptions(r *request, prefix string, m metadataOptions) (metadataOptions, error) {
	for _, f := range []struct {
		name  string
		dst   *string
		valid []string
	}{
		{"HttpTokens", &m.tokens, []string{"optional", "required"}},
		{"HttpEndpoint", &m.endpoint, []string{"enabled", "disabled"}},
		{"HttpProtocolIpv6", &m.ipv6, []string{"enabled", "disabled"}},
		{"InstanceMetadataTags", &m.tags, []string{"enabled", "disabled"}},
	} {
		v := r.get(prefix + f.name)
		if v == "" {
			continue
		}
		if !slices.Contains(f.valid, v) {
			return m, invalidParam("Value (%s) for parameter %s is invalid. Valid values are %s.", v, f.name, strings.Join(f.valid, ", "))
		}
		*f.dst = v
	}
	if v := r.get(prefix + "HttpPutResponseHopLimit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 64 {
			return m, invalidParam("Value (%s) for parameter HttpPutResponseHopLimit is invalid. Valid values are 1 to 64.", v)
		}
		m.hopLimit = n
	}
	return m, nil
}

type modifyMetadataOptionsResp struct {
	ec2Resp
	InstanceID      string            `xml:"instanceId"`
	MetadataOptions *xMetadataOptions `xml:"instanceMetadataOptions"`
}

// modifyInstanceMetadataOptions changes an instance's metadata options; the
// answer's state is "applied" at once (vpcsim's IMDS reads them on every
// request), where EC2 may answer "pending" first.
func (s *Account) modifyInstanceMetadataOptions(r *request) (any, error) {
	out := &modifyMetadataOptionsResp{}
	err := s.mutateIn(r, func(st *state) error {
		in, err := st.lookupInstance(r)
		if err != nil {
			return err
		}
		m, err := parseMetadataOptions(r, "", st.metadataOptions(in))
		if err != nil {
			return err
		}
		in.metadata = m
		out.InstanceID, out.MetadataOptions = in.id, m.x()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// xOptValue is an attribute whose value may be absent, answered as an
// empty element (the SDKs then show {}), as EC2 answers userData of an
// instance launched without it and kernel of an HVM instance.
type xOptValue struct {
	Value string `xml:"value,omitempty"`
}

type xAttrGroup struct {
	GroupID string `xml:"groupId"`
}

type xAttrBlockDevice struct {
	DeviceName string `xml:"deviceName"`
	EBS        struct {
		VolumeID            string `xml:"volumeId"`
		Status              string `xml:"status"`
		AttachTime          string `xml:"attachTime"`
		DeleteOnTermination bool   `xml:"deleteOnTermination"`
	} `xml:"ebs"`
}

type describeInstanceAttributeResp struct {
	ec2Resp
	InstanceID            string                 `xml:"instanceId"`
	SourceDestCheck       *xOptValue             `xml:"sourceDestCheck,omitempty"`
	InstanceType          *xOptValue             `xml:"instanceType,omitempty"`
	DisableAPITermination *xOptValue             `xml:"disableApiTermination,omitempty"`
	DisableAPIStop        *xOptValue             `xml:"disableApiStop,omitempty"`
	Kernel                *xOptValue             `xml:"kernel,omitempty"`
	Ramdisk               *xOptValue             `xml:"ramdisk,omitempty"`
	UserData              *xOptValue             `xml:"userData,omitempty"`
	ShutdownBehavior      *xOptValue             `xml:"instanceInitiatedShutdownBehavior,omitempty"`
	RootDeviceName        *xOptValue             `xml:"rootDeviceName,omitempty"`
	EbsOptimized          *xOptValue             `xml:"ebsOptimized,omitempty"`
	SriovNetSupport       *xOptValue             `xml:"sriovNetSupport,omitempty"`
	EnaSupport            *xOptValue             `xml:"enaSupport,omitempty"`
	Groups                *set[xAttrGroup]       `xml:"groupSet,omitempty"`
	BlockDevices          *set[xAttrBlockDevice] `xml:"blockDeviceMapping,omitempty"`
	ProductCodes          *set[struct{}]         `xml:"productCodes,omitempty"`
}

// describeInstanceAttribute answers one of the attributes the API
// reference lists (DescribeInstanceAttribute, Attribute); names are case
// sensitive, and any other is "Unknown attribute".
func (s *Account) describeInstanceAttribute(r *request) (any, error) {
	attr, err := r.required("Attribute", "attribute")
	if err != nil {
		return nil, err
	}
	st := s.lockIn(r)
	defer s.unlockState()
	in, err := st.lookupInstance(r)
	if err != nil {
		return nil, err
	}
	out := &describeInstanceAttributeResp{InstanceID: in.id}
	val := func(v string) *xOptValue { return &xOptValue{Value: v} }
	switch attr {
	case "sourceDestCheck":
		sdc := true
		if p := st.primaryENI(in); p != nil {
			sdc = p.sdc
		}
		out.SourceDestCheck = val(boolStr(sdc))
	case "instanceType":
		out.InstanceType = val(in.instanceType)
	case "disableApiTermination":
		out.DisableAPITermination = val(boolStr(in.noTerminate))
	case "disableApiStop":
		out.DisableAPIStop = val(boolStr(in.noStop))
	case "kernel":
		out.Kernel = val("")
	case "ramdisk":
		out.Ramdisk = val("")
	case "userData":
		out.UserData = val(in.userData)
	case "instanceInitiatedShutdownBehavior":
		out.ShutdownBehavior = val(cmp.Or(in.shutdownBehavior, "stop"))
	case "rootDeviceName":
		out.RootDeviceName = val(rootDevice)
	case "ebsOptimized":
		out.EbsOptimized = val(boolStr(in.ebsOptimized))
	case "sriovNetSupport":
		out.SriovNetSupport = val("")
	case "enaSupport":
		out.EnaSupport = val("true")
	case "productCodes":
		out.ProductCodes = &set[struct{}]{Items: []struct{}{}}
	case "groupSet":
		g := set[xAttrGroup]{Items: []xAttrGroup{}}
		if p := st.primaryENI(in); p != nil {
			for _, id := range p.groups {
				g.Items = append(g.Items, xAttrGroup{GroupID: id})
			}
		}
		out.Groups = &g
	case "blockDeviceMapping":
		b := set[xAttrBlockDevice]{Items: []xAttrBlockDevice{}}
		for _, v := range st.vols {
			if v.attach != nil && v.attach.instance == in.id {
				x := xAttrBlockDevice{DeviceName: v.attach.device}
				x.EBS.VolumeID, x.EBS.Status, x.EBS.AttachTime, x.EBS.DeleteOnTermination = v.id, v.attach.status, v.attach.time.Format(awsTime), v.attach.deleteOnTermination
				b.Items = append(b.Items, x)
			}
		}
		out.BlockDevices = &b
	default:
		return nil, invalidParam("Value (%s) for parameter attribute is invalid. Unknown attribute.", attr)
	}
	return out, nil
}

// stoppedOnly are the attributes EC2 changes only on a stopped instance
// (EC2 user guide, "Modify a stopped instance": instance type, user data,
// kernel, RAM disk and EBS optimization).
var stoppedOnly = map[string]bool{"instanceType": true, "userData": true, "kernel": true, "ramdisk": true, "ebsOptimized": true}

// modifyInstanceAttribute sets one attribute a call, given either as
// <Name>.Value (SDK, CLI --[no-]source-dest-check) or as
// Attribute=<name>&Value=...: sourceDestCheck (which belongs to the
// primary interface; like AWS, an instance with several interfaces is
// refused and the interface must be modified instead),
// disableApiTermination and disableApiStop (TerminateInstances and
// StopInstances then answer OperationNotPermitted), the stoppedOnly
// attributes, instanceInitiatedShutdownBehavior, BlockDeviceMapping.N's
// DeleteOnTermination or GroupId.N.
func (s *Account) modifyInstanceAttribute(r *request) (any, error) {
	attrs := map[string]string{}
	for _, a := range []string{"SourceDestCheck", "DisableApiTermination", "DisableApiStop", "InstanceType", "UserData",
		"EbsOptimized", "Kernel", "Ramdisk", "InstanceInitiatedShutdownBehavior", "EnaSupport", "SriovNetSupport"} {
		if r.form.Has(a + ".Value") {
			attrs[strings.ToLower(a[:1])+a[1:]] = r.get(a + ".Value")
		}
	}
	if a := r.get("Attribute"); a != "" {
		if !r.form.Has("Value") {
			return nil, missingParam("value")
		}
		attrs[a] = r.get("Value")
	}
	if groupIDs := r.list("GroupId"); len(groupIDs) > 0 && len(attrs) == 0 {
		return s.modifyInstanceGroups(r, groupIDs)
	}
	if hasPrefix(r, "BlockDeviceMapping.") && len(attrs) == 0 {
		return s.modifyInstanceBlockDevices(r)
	}
	if len(attrs) == 0 {
		return nil, errorf(http.StatusBadRequest, "InvalidParameterCombination", "No attributes specified.")
	}
	if len(attrs) > 1 {
		return nil, errorf(http.StatusBadRequest, "InvalidParameterCombination", "Only one attribute can be modified at a time.")
	}
	var attr, val string
	for attr, val = range attrs {
	}
	var flag bool
	switch attr {
	case "sourceDestCheck", "disableApiTermination", "disableApiStop", "ebsOptimized", "enaSupport":
		b, err := strconv.ParseBool(val)
		if err != nil {
			return nil, invalidParam("Value (%s) for parameter value is invalid. Expected a boolean.", val)
		}
		flag = b
	case "instanceType":
		if val == "" {
			return nil, missingParam("value")
		}
	case "instanceInitiatedShutdownBehavior":
		if val != "stop" && val != "terminate" {
			return nil, invalidParam("Value (%s) for parameter instanceInitiatedShutdownBehavior is invalid. Valid values are stop and terminate.", val)
		}
	case "userData", "kernel", "ramdisk", "sriovNetSupport":
	default:
		return nil, invalidParam("Value (%s) for parameter attribute is invalid. Unknown attribute.", attr)
	}
	if err := s.mutateIn(r, func(st *state) error {
		in, err := st.lookupInstance(r)
		if err != nil {
			return err
		}
		if stoppedOnly[attr] && in.state != "stopped" {
			return errorf(http.StatusBadRequest, "IncorrectInstanceState", "The instance '%s' is not in the 'stopped' state.", in.id)
		}
		switch attr {
		case "disableApiTermination":
			in.noTerminate = flag
		case "disableApiStop":
			in.noStop = flag
		case "instanceType":
			in.instanceType = val
		case "userData":
			in.userData = val
		case "ebsOptimized":
			in.ebsOptimized = flag
		case "instanceInitiatedShutdownBehavior":
			in.shutdownBehavior = val
		case "kernel", "ramdisk", "sriovNetSupport", "enaSupport":
			// vpcsim's one image is HVM with ENA: nothing else to keep
		case "sourceDestCheck":
			if len(in.enis) > 1 {
				return errorf(http.StatusBadRequest, "InvalidInstanceID",
					"There are multiple interfaces attached to instance '%s'. Please specify an interface ID for the operation instead.", in.id)
			}
			p := st.primaryENI(in)
			if p == nil {
				return errorf(http.StatusBadRequest, "InvalidInstanceID", "Instance '%s' has no network interface", in.id)
			}
			p.sdc = flag
		}
		return nil
	}); err != nil {
		return nil, err
	}
	return &returnResp{Return: true}, nil
}

// modifyInstanceBlockDevices sets DeleteOnTermination of attached volumes
// by device name: "If no value is specified for DeleteOnTermination, the
// default is true" (API reference, ModifyInstanceAttribute
// BlockDeviceMapping.N); a device with no volume is refused.
func (s *Account) modifyInstanceBlockDevices(r *request) (any, error) {
	type change struct {
		device string
		delete bool
	}
	var changes []change
	for i := 1; hasPrefix(r, "BlockDeviceMapping."+strconv.Itoa(i)+"."); i++ {
		p := "BlockDeviceMapping." + strconv.Itoa(i) + "."
		dev, err := r.required(p+"DeviceName", "deviceName")
		if err != nil {
			return nil, err
		}
		del, ok, err := r.boolean(p + "Ebs.DeleteOnTermination")
		if err != nil {
			return nil, err
		}
		changes = append(changes, change{dev, del || !ok})
	}
	if err := s.mutateIn(r, func(st *state) error {
		in, err := st.lookupInstance(r)
		if err != nil {
			return err
		}
		var found []*volAttach
		for _, c := range changes {
			var a *volAttach
			for _, v := range st.vols {
				if v.attach != nil && v.attach.instance == in.id && v.attach.device == c.device {
					a = v.attach
				}
			}
			if a == nil {
				return errorf(http.StatusBadRequest, "InvalidInstanceAttributeValue", "No device is currently mapped at %s", c.device)
			}
			found = append(found, a)
		}
		for i, a := range found {
			a.deleteOnTermination = changes[i].delete
		}
		return nil
	}); err != nil {
		return nil, err
	}
	return &returnResp{Return: true}, nil
}

// launchOptions are RunInstances' parameters that only set what the
// instance reports (user data, EBS optimization, monitoring, hibernation,
// shutdown behaviour, metadata options).
type launchOptions struct {
	userData, shutdownBehavior string
	ebsOptimized, monitoring   bool
	hibernate                  bool
	metadata                   metadataOptions
	keyName, hostID            string
}

func parseLaunchOptions(r *request) (launchOptions, error) {
	// KeyName and Placement.HostId are recorded and reported, never
	// checked: key pairs and Dedicated Hosts are not modelled, as any ami-
	// image is accepted.
	o := launchOptions{userData: r.get("UserData"), shutdownBehavior: r.get("InstanceInitiatedShutdownBehavior"),
		keyName: r.get("KeyName"), hostID: r.get("Placement.HostId")}
	if o.shutdownBehavior != "" && o.shutdownBehavior != "stop" && o.shutdownBehavior != "terminate" {
		return o, invalidParam("Value (%s) for parameter instanceInitiatedShutdownBehavior is invalid. Valid values are stop and terminate.", o.shutdownBehavior)
	}
	var err error
	for name, dst := range map[string]*bool{"EbsOptimized": &o.ebsOptimized, "Monitoring.Enabled": &o.monitoring, "HibernationOptions.Configured": &o.hibernate} {
		if *dst, _, err = r.boolean(name); err != nil {
			return o, err
		}
	}
	o.metadata, err = parseMetadataOptions(r, "MetadataOptions.", defaultMetadataOptions)
	return o, err
}

func (o launchOptions) apply(in *instance) {
	in.userData, in.shutdownBehavior = o.userData, o.shutdownBehavior
	in.ebsOptimized, in.monitoring, in.hibernate = o.ebsOptimized, o.monitoring, o.hibernate
	in.metadata = o.metadata
	in.keyName, in.hostID = o.keyName, o.hostID
}
