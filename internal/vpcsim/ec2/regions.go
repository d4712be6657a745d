package ec2

import (
	"slices"
	"strings"
)

// regionInfo is one region the SDKs know: whether an account has it
// enabled from the start, and its zones as one account sees them.
type regionInfo struct {
	name  string
	optIn bool     // launched after 20 March 2019: disabled until the account opts in
	zones []zoneID // in name order
}

type zoneID struct{ name, id string }

// regionTable lists the regions of the aws, aws-us-gov and aws-cn
// partitions for which the SDKs carry an EC2 endpoint (botocore's
// get_available_regions("ec2") and the Go SDK's partitions.json). Regions
// that launched after 20 March 2019 are disabled by default ("Regions
// that are disabled by default", Amazon EC2 User Guide, "Regions and
// Zones"). The zone letters and IDs are those one real account sees: an
// account may see different letters for the same zone ID
// (https://docs.aws.amazon.com/ram/latest/userguide/working-with-az-ids.html),
// so a fixed mapping is as real as any; regions not listed with letters
// get a, b and c as az1 to az3.
var regionTable = buildRegions(map[string]string{
	// region: zone letters with their az number, "" for a b c = az1 az2 az3
	"us-east-1":      "a6 b1 c2 d4 e3 f5",
	"us-east-2":      "",
	"us-west-1":      "a3 b1",
	"us-west-2":      "a2 b1 c3 d4",
	"af-south-1":     "",
	"ap-east-1":      "",
	"ap-east-2":      "",
	"ap-northeast-1": "a4 c1 d2",
	"ap-northeast-2": "a1 b2 c3 d4",
	"ap-northeast-3": "",
	"ap-south-1":     "a1 b3 c2",
	"ap-south-2":     "",
	"ap-southeast-1": "",
	"ap-southeast-2": "a1 b3 c2",
	"ap-southeast-3": "",
	"ap-southeast-4": "",
	"ap-southeast-5": "",
	"ap-southeast-6": "",
	"ap-southeast-7": "",
	"ca-central-1":   "a1 b2 d4",
	"ca-west-1":      "",
	"eu-central-1":   "",
	"eu-central-2":   "",
	"eu-north-1":     "",
	"eu-south-1":     "",
	"eu-south-2":     "",
	"eu-west-1":      "a3 b1 c2",
	"eu-west-2":      "a2 b3 c1",
	"eu-west-3":      "",
	"il-central-1":   "",
	"me-central-1":   "",
	"me-south-1":     "",
	"mx-central-1":   "",
	"sa-east-1":      "",
	"us-gov-east-1":  "",
	"us-gov-west-1":  "",
	"cn-north-1":     "a1 b2",
	"cn-northwest-1": "",
}, []string{
	"af-south-1", "ap-east-1", "ap-east-2", "ap-south-2", "ap-southeast-3", "ap-southeast-4",
	"ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ca-west-1", "eu-central-2", "eu-south-1",
	"eu-south-2", "il-central-1", "me-central-1", "me-south-1", "mx-central-1",
})

func buildRegions(zones map[string]string, optIn []string) map[string]*regionInfo {
	out := make(map[string]*regionInfo, len(zones))
	for name, spec := range zones {
		if spec == "" {
			spec = "a1 b2 c3"
		}
		ri := &regionInfo{name: name, optIn: slices.Contains(optIn, name)}
		for _, z := range strings.Fields(spec) {
			ri.zones = append(ri.zones, zoneID{name: name + z[:1], id: regionShort(name) + "-az" + z[1:]})
		}
		out[name] = ri
	}
	return out
}

// regionShort is the region part of its zone IDs: use1 for us-east-1,
// apne1 for ap-northeast-1, usge1 for us-gov-east-1.
func regionShort(region string) string {
	parts := strings.Split(region, "-")
	dirs := map[string]string{"north": "n", "south": "s", "east": "e", "west": "w", "central": "c",
		"northeast": "ne", "southeast": "se", "northwest": "nw", "southwest": "sw"}
	short := ""
	for i, p := range parts {
		switch d, ok := dirs[p]; {
		case i == 0 || i == len(parts)-1:
			short += p
		case ok:
			short += d
		default:
			short += p[:1]
		}
	}
	return short
}

// partition names the partition of a region: the one a caller sees the
// regions of (a commercial account does not see GovCloud's or China's).
func partition(region string) string {
	switch {
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	}
	return "aws"
}

// zonesOf returns the zones of region (nil for a region vpcsim does not know).
func zonesOf(region string) []zoneID {
	if ri := regionTable[region]; ri != nil {
		return ri.zones
	}
	return nil
}

// zoneList joins the zones' names or IDs as EC2's messages list them.
func zoneList(zones []zoneID, f func(zoneID) string) string {
	out := make([]string, len(zones))
	for i, z := range zones {
		out[i] = f(z)
	}
	return strings.Join(out, ", ")
}

// isZoneOf reports whether az is a zone of region.
func isZoneOf(region, az string) bool {
	return slices.ContainsFunc(zonesOf(region), func(z zoneID) bool { return z.name == az })
}

// azID returns the zone ID of a zone name (us-east-1b is use1-az1 here).
func azID(az string) string {
	if len(az) < 2 {
		return ""
	}
	for _, z := range zonesOf(az[:len(az)-1]) {
		if z.name == az {
			return z.id
		}
	}
	return ""
}

type describeRegionsResp struct {
	ec2Resp
	Regions set[xRegion] `xml:"regionInfo"`
}

type xRegion struct {
	RegionName  string `xml:"regionName"`
	Endpoint    string `xml:"regionEndpoint"`
	OptInStatus string `xml:"optInStatus"`
}

// describeRegions lists the regions of the caller's partition: those
// enabled for the account, or with AllRegions=true every one, opt-in
// regions as not-opted-in (vpcsim's account never opts in, but serves
// every region). RegionName.N narrows the list without AllRegions, as the
// EC2 API reference for DescribeRegions allows.
func (s *Account) describeRegions(r *request) (any, error) {
	names := r.list("RegionName")
	all, _, err := r.boolean("AllRegions")
	if err != nil {
		return nil, err
	}
	fs, err := r.filters("endpoint", "region-name", "opt-in-status")
	if err != nil {
		return nil, err
	}
	part := partition(r.region)
	out := &describeRegionsResp{Regions: set[xRegion]{Items: []xRegion{}}}
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for n := range regionTable {
			if !yield(n) {
				return
			}
		}
	}) {
		ri := regionTable[name]
		if partition(name) != part || !named(names, name) || (ri.optIn && !all && len(names) == 0) {
			continue
		}
		x := xRegion{RegionName: name, Endpoint: "ec2." + name + ".amazonaws.com", OptInStatus: "opt-in-not-required"}
		if part == "aws-cn" {
			x.Endpoint += ".cn"
		}
		if ri.optIn {
			x.OptInStatus = "not-opted-in"
		}
		ok := match(fs, nil, func(f string) []string {
			switch f {
			case "endpoint":
				return []string{x.Endpoint}
			case "region-name":
				return []string{x.RegionName}
			case "opt-in-status":
				return []string{x.OptInStatus}
			}
			return nil
		})
		if ok {
			out.Regions.Items = append(out.Regions.Items, x)
		}
	}
	return out, nil
}
