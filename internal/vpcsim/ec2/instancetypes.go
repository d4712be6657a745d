package ec2

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// DescribeInstanceTypes and DescribeInstanceTypeOfferings over a small
// catalogue: the instance types vpcsim's worlds, tests and the SDKs'
// examples launch, with the specifications of the EC2 instance types
// guide ("Amazon EC2 instance type specifications": vCPUs, memory,
// network performance; "Maximum IP addresses per network interface":
// interfaces and addresses per interface). Every catalogued type is
// offered in every zone of every region, which real regions do not all
// do. RunInstances does not check InstanceType against the catalogue.

func init() {
	actions["DescribeInstanceTypes"] = actionSpec{run: (*Account).describeInstanceTypes}
	actions["DescribeInstanceTypeOfferings"] = actionSpec{run: (*Account).describeInstanceTypeOfferings}
}

type instanceTypeSpec struct {
	name            string
	current         bool
	freeTier        bool
	nitro           bool // hypervisor nitro (else xen)
	paravirtual     bool // supports paravirtual (older generations)
	i386            bool
	vcpus, cores    int
	memMiB          int
	enis, ipv4      int // interfaces, IPv4 addresses per interface
	ipv6            int // IPv6 addresses per interface; 0: no IPv6
	network         string
	burstable       bool
	instanceStorage bool
	ebsOptimized    string // unsupported, supported or default
}

var instanceTypes = []instanceTypeSpec{
	{name: "t1.micro", paravirtual: true, i386: true, vcpus: 1, cores: 1, memMiB: 627, enis: 2, ipv4: 2, network: "Very Low", ebsOptimized: "unsupported"},
	{name: "m1.small", paravirtual: true, i386: true, vcpus: 1, cores: 1, memMiB: 1740, enis: 2, ipv4: 4, network: "Low", instanceStorage: true, ebsOptimized: "unsupported"},
	{name: "m1.medium", paravirtual: true, i386: true, vcpus: 1, cores: 1, memMiB: 3840, enis: 2, ipv4: 6, network: "Moderate", instanceStorage: true, ebsOptimized: "unsupported"},
	{name: "t2.micro", current: true, freeTier: true, i386: true, vcpus: 1, cores: 1, memMiB: 1024, enis: 2, ipv4: 2, ipv6: 2, network: "Low to Moderate", burstable: true, ebsOptimized: "unsupported"},
	{name: "t2.small", current: true, i386: true, vcpus: 1, cores: 1, memMiB: 2048, enis: 3, ipv4: 4, ipv6: 4, network: "Low to Moderate", burstable: true, ebsOptimized: "unsupported"},
	{name: "t2.medium", current: true, i386: true, vcpus: 2, cores: 2, memMiB: 4096, enis: 3, ipv4: 6, ipv6: 6, network: "Low to Moderate", burstable: true, ebsOptimized: "unsupported"},
	{name: "t3.nano", current: true, nitro: true, vcpus: 2, cores: 1, memMiB: 512, enis: 2, ipv4: 2, ipv6: 2, network: "Up to 5 Gigabit", burstable: true, ebsOptimized: "default"},
	{name: "t3.micro", current: true, freeTier: true, nitro: true, vcpus: 2, cores: 1, memMiB: 1024, enis: 2, ipv4: 2, ipv6: 2, network: "Up to 5 Gigabit", burstable: true, ebsOptimized: "default"},
	{name: "t3.small", current: true, nitro: true, vcpus: 2, cores: 1, memMiB: 2048, enis: 3, ipv4: 4, ipv6: 4, network: "Up to 5 Gigabit", burstable: true, ebsOptimized: "default"},
	{name: "t3.medium", current: true, nitro: true, vcpus: 2, cores: 1, memMiB: 4096, enis: 3, ipv4: 6, ipv6: 6, network: "Up to 5 Gigabit", burstable: true, ebsOptimized: "default"},
	{name: "t3.large", current: true, nitro: true, vcpus: 2, cores: 1, memMiB: 8192, enis: 3, ipv4: 12, ipv6: 12, network: "Up to 5 Gigabit", burstable: true, ebsOptimized: "default"},
	{name: "m5.large", current: true, nitro: true, vcpus: 2, cores: 1, memMiB: 8192, enis: 3, ipv4: 10, ipv6: 10, network: "Up to 10 Gigabit", ebsOptimized: "default"},
	{name: "m5.xlarge", current: true, nitro: true, vcpus: 4, cores: 2, memMiB: 16384, enis: 4, ipv4: 15, ipv6: 15, network: "Up to 10 Gigabit", ebsOptimized: "default"},
	{name: "c5.large", current: true, nitro: true, vcpus: 2, cores: 1, memMiB: 4096, enis: 3, ipv4: 10, ipv6: 10, network: "Up to 10 Gigabit", ebsOptimized: "default"},
	{name: "r5.large", current: true, nitro: true, vcpus: 2, cores: 1, memMiB: 16384, enis: 3, ipv4: 10, ipv6: 10, network: "Up to 10 Gigabit", ebsOptimized: "default"},
}

type xInstanceTypeInfo struct {
	InstanceType        string      `xml:"instanceType"`
	CurrentGeneration   bool        `xml:"currentGeneration"`
	FreeTierEligible    bool        `xml:"freeTierEligible"`
	UsageClasses        set[string] `xml:"supportedUsageClasses"`
	RootDeviceTypes     set[string] `xml:"supportedRootDeviceTypes"`
	VirtualizationTypes set[string] `xml:"supportedVirtualizationTypes"`
	BareMetal           bool        `xml:"bareMetal"`
	Hypervisor          string      `xml:"hypervisor"`
	Processor           struct {
		Architectures set[string] `xml:"supportedArchitectures"`
	} `xml:"processorInfo"`
	VCPU struct {
		DefaultVCPUs   int `xml:"defaultVCpus"`
		DefaultCores   int `xml:"defaultCores"`
		DefaultThreads int `xml:"defaultThreadsPerCore"`
	} `xml:"vCpuInfo"`
	Memory struct {
		SizeInMiB int `xml:"sizeInMiB"`
	} `xml:"memoryInfo"`
	InstanceStorageSupported bool `xml:"instanceStorageSupported"`
	EBS                      struct {
		Optimized  string `xml:"ebsOptimizedSupport"`
		Encryption string `xml:"encryptionSupport"`
		NVMe       string `xml:"nvmeSupport"`
	} `xml:"ebsInfo"`
	Network struct {
		Performance string `xml:"networkPerformance"`
		MaxENIs     int    `xml:"maximumNetworkInterfaces"`
		IPv4PerENI  int    `xml:"ipv4AddressesPerInterface"`
		IPv6PerENI  int    `xml:"ipv6AddressesPerInterface"`
		IPv6        bool   `xml:"ipv6Supported"`
		ENA         string `xml:"enaSupport"`
	} `xml:"networkInfo"`
	Burstable bool `xml:"burstablePerformanceSupported"`
}

func (t *instanceTypeSpec) x() xInstanceTypeInfo {
	x := xInstanceTypeInfo{InstanceType: t.name, CurrentGeneration: t.current, FreeTierEligible: t.freeTier,
		UsageClasses: itemsOf("on-demand", "spot"), RootDeviceTypes: itemsOf("ebs"), VirtualizationTypes: itemsOf("hvm"),
		Hypervisor: "xen", InstanceStorageSupported: t.instanceStorage, Burstable: t.burstable}
	if t.instanceStorage {
		x.RootDeviceTypes = itemsOf("ebs", "instance-store")
	}
	if t.paravirtual {
		x.VirtualizationTypes = itemsOf("hvm", "paravirtual")
	}
	if t.nitro {
		x.Hypervisor = "nitro"
	}
	x.Processor.Architectures = itemsOf("x86_64")
	if t.i386 {
		x.Processor.Architectures = itemsOf("i386", "x86_64")
	}
	x.VCPU.DefaultVCPUs, x.VCPU.DefaultCores, x.VCPU.DefaultThreads = t.vcpus, t.cores, t.vcpus/t.cores
	x.Memory.SizeInMiB = t.memMiB
	x.EBS.Optimized, x.EBS.Encryption, x.EBS.NVMe = t.ebsOptimized, "supported", "unsupported"
	x.Network.ENA = "unsupported"
	if t.nitro {
		x.EBS.NVMe, x.Network.ENA = "required", "required"
	}
	x.Network.Performance, x.Network.MaxENIs, x.Network.IPv4PerENI, x.Network.IPv6PerENI, x.Network.IPv6 = t.network, t.enis, t.ipv4, t.ipv6, t.ipv6 > 0
	return x
}

type describeInstanceTypesResp struct {
	ec2Resp
	Types     set[xInstanceTypeInfo] `xml:"instanceTypeSet"`
	NextToken string                 `xml:"nextToken,omitempty"`
}

// describeInstanceTypes lists the catalogue, or InstanceType.N of it (a
// type it lacks is InvalidInstanceType), with the DescribeInstanceTypes
// filters of the attributes it has.
func (s *Account) describeInstanceTypes(r *request) (any, error) {
	names := r.list("InstanceType")
	fs, err := r.filters("instance-type", "current-generation", "free-tier-eligible", "hypervisor", "bare-metal",
		"burstable-performance-supported", "instance-storage-supported", "memory-info.size-in-mib", "vcpu-info.default-vcpus",
		"vcpu-info.default-cores", "network-info.maximum-network-interfaces", "network-info.ipv4-addresses-per-interface",
		"network-info.ipv6-addresses-per-interface", "network-info.ipv6-supported", "network-info.ena-support",
		"processor-info.supported-architecture", "supported-virtualization-type", "supported-root-device-type", "supported-usage-class")
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, n := range names {
		if !slices.ContainsFunc(instanceTypes, func(t instanceTypeSpec) bool { return t.name == n }) {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return nil, errorf(http.StatusBadRequest, "InvalidInstanceType", "The following supplied instance types do not exist: [%s]", strings.Join(missing, ", "))
	}
	out := &describeInstanceTypesResp{Types: set[xInstanceTypeInfo]{Items: []xInstanceTypeInfo{}}}
	for i := range instanceTypes {
		t := &instanceTypes[i]
		if !named(names, t.name) {
			continue
		}
		x := t.x()
		if match(fs, nil, func(name string) []string {
			switch name {
			case "instance-type":
				return []string{x.InstanceType}
			case "current-generation":
				return []string{boolStr(x.CurrentGeneration)}
			case "free-tier-eligible":
				return []string{boolStr(x.FreeTierEligible)}
			case "hypervisor":
				return []string{x.Hypervisor}
			case "bare-metal":
				return []string{boolStr(x.BareMetal)}
			case "burstable-performance-supported":
				return []string{boolStr(x.Burstable)}
			case "instance-storage-supported":
				return []string{boolStr(x.InstanceStorageSupported)}
			case "memory-info.size-in-mib":
				return []string{strconv.Itoa(x.Memory.SizeInMiB)}
			case "vcpu-info.default-vcpus":
				return []string{strconv.Itoa(x.VCPU.DefaultVCPUs)}
			case "vcpu-info.default-cores":
				return []string{strconv.Itoa(x.VCPU.DefaultCores)}
			case "network-info.maximum-network-interfaces":
				return []string{strconv.Itoa(x.Network.MaxENIs)}
			case "network-info.ipv4-addresses-per-interface":
				return []string{strconv.Itoa(x.Network.IPv4PerENI)}
			case "network-info.ipv6-addresses-per-interface":
				return []string{strconv.Itoa(x.Network.IPv6PerENI)}
			case "network-info.ipv6-supported":
				return []string{boolStr(x.Network.IPv6)}
			case "network-info.ena-support":
				return []string{x.Network.ENA}
			case "processor-info.supported-architecture":
				return x.Processor.Architectures.Items
			case "supported-virtualization-type":
				return x.VirtualizationTypes.Items
			case "supported-root-device-type":
				return x.RootDeviceTypes.Items
			case "supported-usage-class":
				return x.UsageClasses.Items
			}
			return nil
		}) {
			out.Types.Items = append(out.Types.Items, x)
		}
	}
	var perr error
	if out.Types.Items, out.NextToken, perr = paginate(r, out.Types.Items, idsParam(r, "InstanceType", "instanceTypes")); perr != nil {
		return nil, perr
	}
	return out, nil
}

type xInstanceTypeOffering struct {
	InstanceType string `xml:"instanceType"`
	LocationType string `xml:"locationType"`
	Location     string `xml:"location"`
}

type describeInstanceTypeOfferingsResp struct {
	ec2Resp
	Offerings set[xInstanceTypeOffering] `xml:"instanceTypeOfferingSet"`
	NextToken string                     `xml:"nextToken,omitempty"`
}

// describeInstanceTypeOfferings lists where each type is offered in the
// call's region, by LocationType: region (the default), availability-zone
// or availability-zone-id, with the filters location and instance-type
// (API reference DescribeInstanceTypeOfferings).
func (s *Account) describeInstanceTypeOfferings(r *request) (any, error) {
	lt := r.get("LocationType")
	fs, err := r.filters("location", "instance-type")
	if err != nil {
		return nil, err
	}
	st := s.lockIn(r)
	region := st.region
	s.unlockState()
	var locations []string
	switch lt {
	case "", "region":
		lt, locations = "region", []string{region}
	case "availability-zone", "availability-zone-id":
		for _, z := range zonesOf(region) {
			if lt == "availability-zone" {
				locations = append(locations, z.name)
			} else {
				locations = append(locations, z.id)
			}
		}
	default:
		return nil, invalidParam("Value (%s) for parameter locationType is invalid. Valid values: region, availability-zone, availability-zone-id, outpost", lt)
	}
	out := &describeInstanceTypeOfferingsResp{Offerings: set[xInstanceTypeOffering]{Items: []xInstanceTypeOffering{}}}
	for _, loc := range locations {
		for _, t := range instanceTypes {
			x := xInstanceTypeOffering{InstanceType: t.name, LocationType: lt, Location: loc}
			if match(fs, nil, func(name string) []string {
				if name == "location" {
					return []string{loc}
				}
				return []string{t.name}
			}) {
				out.Offerings.Items = append(out.Offerings.Items, x)
			}
		}
	}
	var perr error
	if out.Offerings.Items, out.NextToken, perr = paginate(r, out.Offerings.Items, ""); perr != nil {
		return nil, perr
	}
	return out, nil
}
