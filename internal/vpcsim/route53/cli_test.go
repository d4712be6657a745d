package route53_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"

	"github.com/vipd/vipd/internal/testenv"
	"github.com/vipd/vipd/internal/vpcsim/route53"
)

// The change batch from seed 004, byte for byte in content.
const seed004ChangeBatch = `{
"Comment": "Update record to reflect new IP address for a system ",
"Changes": [
{
"Action": "UPSERT",
"ResourceRecordSet": {
"Name": "myservice.myvpc.mycompany.com",
"Type": "A",
"TTL": 10,
"ResourceRecords": [
{
"Value": "10.79.252.13"
}
]
}
}
]
}
`

// TestSeed004CLI runs seed 004's commands with the real AWS CLI: find the
// hosted zone with list-hosted-zones, apply change-resource-record-sets.json
// with UPSERT, then poll get-change until INSYNC, while a DNS client keeps
// resolving the old address until then. The clock advances 5 s per poll
// with a 20 s propagation delay, the figure seed 004 observed.
func TestSeed004CLI(t *testing.T) {
	clk := newClock()
	svc := route53.New(route53.Options{PropagationDelay: 20 * time.Second, Now: clk.Now})
	_, url := start(t, svc)
	cli := testenv.AWSCLI(t, url)
	aws := func(args ...string) []byte {
		t.Helper()
		out, stderr, err := cli(append(args, "--output", "json")...)
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, stderr)
		}
		return out
	}
	addr := listenDNS(t, svc, route53.DNSOptions{VPCID: "vpc-0a1b2c3d"})

	aws("route53", "create-hosted-zone", "--name", "myvpc.mycompany.com", "--caller-reference", "seed004",
		"--vpc", "VPCRegion=us-east-1,VPCId=vpc-0a1b2c3d", "--hosted-zone-config", "Comment=intranet,PrivateZone=true")
	var zones struct {
		HostedZones []struct{ Id, Name string }
	}
	if err := json.Unmarshal(aws("route53", "list-hosted-zones"), &zones); err != nil {
		t.Fatal(err)
	}
	if len(zones.HostedZones) != 1 || zones.HostedZones[0].Name != "myvpc.mycompany.com." {
		t.Fatalf("list-hosted-zones = %+v", zones)
	}
	zoneID := strings.TrimPrefix(zones.HostedZones[0].Id, "/hostedzone/")

	file := filepath.Join(t.TempDir(), "change-resource-record-sets.json")
	if err := os.WriteFile(file, []byte(seed004ChangeBatch), 0o600); err != nil {
		t.Fatal(err)
	}
	var changed struct {
		ChangeInfo struct{ Id, Status, Comment string }
	}
	if err := json.Unmarshal(aws("route53", "change-resource-record-sets", "--hosted-zone-id", zoneID, "--change-batch", "file://"+file), &changed); err != nil {
		t.Fatal(err)
	}
	if changed.ChangeInfo.Status != "PENDING" || !strings.HasPrefix(changed.ChangeInfo.Id, "/change/") {
		t.Fatalf("change-resource-record-sets = %+v, want a PENDING /change/ id", changed)
	}
	const name = "myservice.myvpc.mycompany.com"
	for step := 0; ; step++ {
		var got struct{ ChangeInfo struct{ Status string } }
		if err := json.Unmarshal(aws("route53", "get-change", "--id", changed.ChangeInfo.Id), &got); err != nil {
			t.Fatal(err)
		}
		a := query(t, addr, "udp", name, dns.TypeA)
		if got.ChangeInfo.Status == "INSYNC" {
			want := answer{Rcode: "NOERROR", Answer: []string{name + ". 10 IN A 10.79.252.13"}}
			if diff := cmp.Diff(want, a); diff != "" {
				t.Errorf("DNS once INSYNC (-want +got):\n%s", diff)
			}
			break
		}
		if got.ChangeInfo.Status != "PENDING" || a.Rcode != "NXDOMAIN" {
			t.Errorf("poll %d: status %s, DNS %+v; want PENDING and no record yet", step, got.ChangeInfo.Status, a)
		}
		if step == 10 {
			t.Fatal("get-change never reported INSYNC")
		}
		clk.Add(5 * time.Second)
	}

	// The same batch with CREATE fails as on AWS, and the CLI shows Route
	// 53's error code and message.
	dup := filepath.Join(t.TempDir(), "create.json")
	if err := os.WriteFile(dup, []byte(strings.Replace(seed004ChangeBatch, "UPSERT", "CREATE", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, err := cli("route53", "change-resource-record-sets", "--hosted-zone-id", zoneID, "--change-batch", "file://"+dup, "--output", "json")
	wantErr := "An error occurred (InvalidChangeBatch) when calling the ChangeResourceRecordSets operation: [Tried to create resource record set [name='myservice.myvpc.mycompany.com.', type='A'] but it already exists]"
	if err == nil || !strings.Contains(string(stderr), wantErr) {
		t.Errorf("duplicate CREATE: err %v, stderr %q; want %q", err, stderr, wantErr)
	}

	var sets struct {
		ResourceRecordSets []struct {
			Name, Type      string
			TTL             int
			ResourceRecords []struct{ Value string }
		}
	}
	if err := json.Unmarshal(aws("route53", "list-resource-record-sets", "--hosted-zone-id", zoneID, "--start-record-name", name, "--start-record-type", "A", "--max-items", "1"), &sets); err != nil {
		t.Fatal(err)
	}
	if len(sets.ResourceRecordSets) != 1 || sets.ResourceRecordSets[0].ResourceRecords[0].Value != "10.79.252.13" || sets.ResourceRecordSets[0].TTL != 10 {
		t.Errorf("list-resource-record-sets = %+v", sets)
	}
}
