package route53_test

import (
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsroute53 "github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"

	"github.com/vipd/vipd/internal/vpcsim/route53"
)

// listenDNS starts svc's DNS server on loopback and closes it at cleanup.
func listenDNS(t *testing.T, svc *route53.Service, opts route53.DNSOptions) string {
	t.Helper()
	d, err := svc.ListenDNS("127.0.0.1:0", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("close dns server: %v", err)
		}
	})
	return d.Addr()
}

// answer is a DNS response reduced to what the tests compare.
type answer struct {
	Rcode  string
	Answer []string
	Ns     []string
}

func query(t *testing.T, addr, network, name string, qtype uint16) answer {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = true
	c := &dns.Client{Net: network, Timeout: 5 * time.Second}
	resp, _, err := c.ExchangeContext(t.Context(), m, addr)
	if err != nil {
		t.Fatalf("query %s %s over %s: %v", name, dns.TypeToString[qtype], network, err)
	}
	if !resp.RecursionAvailable {
		t.Errorf("query %s: RA not set; a resolver answers with RA", name)
	}
	a := answer{Rcode: dns.RcodeToString[resp.Rcode]}
	for _, rr := range resp.Answer {
		a.Answer = append(a.Answer, strings.ReplaceAll(rr.String(), "\t", " "))
	}
	sort.Strings(a.Answer)
	for _, rr := range resp.Ns {
		a.Ns = append(a.Ns, strings.ReplaceAll(rr.String(), "\t", " "))
	}
	return a
}

const privateSOA = "example.internal. 900 IN SOA ns-1536.awsdns-00.co.uk. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400"

func TestDNSAnswers(t *testing.T) {
	svc := route53.New(route53.Options{})
	c, _ := start(t, svc)
	addr := listenDNS(t, svc, route53.DNSOptions{})
	id := *createZone(t, c, "example.internal", "vpc-1").Id
	if _, err := changeBatch(t, c, id,
		change(types.ChangeActionCreate, rrset("www.example.internal", types.RRTypeA, 10, "10.0.0.1", "10.0.0.2")),
		change(types.ChangeActionCreate, rrset("www.example.internal", types.RRTypeAaaa, 20, "fd00::1")),
		change(types.ChangeActionCreate, rrset("txt.example.internal", types.RRTypeTxt, 30, `"v=1" "two"`)),
		change(types.ChangeActionCreate, rrset("alias.example.internal", types.RRTypeCname, 40, "www.example.internal")),
		change(types.ChangeActionCreate, rrset("dangling.example.internal", types.RRTypeCname, 40, "nope.example.internal")),
		change(types.ChangeActionCreate, rrset("a.b.c.example.internal", types.RRTypeA, 10, "10.0.0.3")),
	); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		network string
		qname   string
		qtype   uint16
		want    answer
	}{
		{"an A set with its TTL", "udp", "www.example.internal", dns.TypeA, answer{Rcode: "NOERROR", Answer: []string{
			"www.example.internal. 10 IN A 10.0.0.1", "www.example.internal. 10 IN A 10.0.0.2"}}},
		{"names are case-insensitive", "udp", "WWW.Example.Internal", dns.TypeA, answer{Rcode: "NOERROR", Answer: []string{
			"www.example.internal. 10 IN A 10.0.0.1", "www.example.internal. 10 IN A 10.0.0.2"}}},
		{"AAAA over TCP", "tcp", "www.example.internal", dns.TypeAAAA, answer{Rcode: "NOERROR", Answer: []string{
			"www.example.internal. 20 IN AAAA fd00::1"}}},
		{"TXT with several strings", "udp", "txt.example.internal", dns.TypeTXT, answer{Rcode: "NOERROR", Answer: []string{
			`txt.example.internal. 30 IN TXT "v=1" "two"`}}},
		{"a CNAME is followed", "udp", "alias.example.internal", dns.TypeA, answer{Rcode: "NOERROR", Answer: []string{
			"alias.example.internal. 40 IN CNAME www.example.internal.",
			"www.example.internal. 10 IN A 10.0.0.1", "www.example.internal. 10 IN A 10.0.0.2"}}},
		{"a CNAME asked for itself", "udp", "alias.example.internal", dns.TypeCNAME, answer{Rcode: "NOERROR", Answer: []string{
			"alias.example.internal. 40 IN CNAME www.example.internal."}}},
		{"a dangling CNAME ends in NXDOMAIN", "udp", "dangling.example.internal", dns.TypeA, answer{Rcode: "NXDOMAIN",
			Answer: []string{"dangling.example.internal. 40 IN CNAME nope.example.internal."}, Ns: []string{privateSOA}}},
		{"a missing name is NXDOMAIN with the SOA", "udp", "nope.example.internal", dns.TypeA, answer{Rcode: "NXDOMAIN", Ns: []string{privateSOA}}},
		{"a missing type is NODATA with the SOA", "udp", "www.example.internal", dns.TypeTXT, answer{Rcode: "NOERROR", Ns: []string{privateSOA}}},
		{"an empty non-terminal is NODATA", "udp", "b.c.example.internal", dns.TypeA, answer{Rcode: "NOERROR", Ns: []string{privateSOA}}},
		{"the apex SOA", "udp", "example.internal", dns.TypeSOA, answer{Rcode: "NOERROR", Answer: []string{privateSOA}}},
		{"names outside every zone are refused", "udp", "example.com", dns.TypeA, answer{Rcode: "REFUSED"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, query(t, addr, tt.network, tt.qname, tt.qtype)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestDNSSeesChangesOnlyWhenInsync is seed 004's failover: UPSERT the A
// record to the new address, and clients keep resolving the old one until
// GetChange says INSYNC.
func TestDNSSeesChangesOnlyWhenInsync(t *testing.T) {
	clk := newClock()
	svc := route53.New(route53.Options{PropagationDelay: 20 * time.Second, Now: clk.Now})
	c, _ := start(t, svc)
	addr := listenDNS(t, svc, route53.DNSOptions{})
	id := *createZone(t, c, "myvpc.mycompany.com", "vpc-1").Id
	name := "myservice.myvpc.mycompany.com"
	ci, err := changeBatch(t, c, id, change(types.ChangeActionUpsert, rrset(name, types.RRTypeA, 10, "10.79.252.12")))
	if err != nil {
		t.Fatal(err)
	}
	if got := query(t, addr, "udp", name, dns.TypeA); got.Rcode != "NXDOMAIN" {
		t.Errorf("before the first change is INSYNC: %+v, want NXDOMAIN", got)
	}
	clk.Add(20 * time.Second)
	want := func(ip string) answer {
		return answer{Rcode: "NOERROR", Answer: []string{"myservice.myvpc.mycompany.com. 10 IN A " + ip}}
	}
	if diff := cmp.Diff(want("10.79.252.12"), query(t, addr, "udp", name, dns.TypeA)); diff != "" {
		t.Errorf("after INSYNC (-want +got):\n%s", diff)
	}

	ci, err = changeBatch(t, c, id, change(types.ChangeActionUpsert, rrset(name, types.RRTypeA, 10, "10.79.252.13")))
	if err != nil {
		t.Fatal(err)
	}
	for step := 0; ; step++ {
		out, err := c.GetChange(t.Context(), &awsroute53.GetChangeInput{Id: ci.Id})
		if err != nil {
			t.Fatal(err)
		}
		got := query(t, addr, "udp", name, dns.TypeA)
		if out.ChangeInfo.Status == types.ChangeStatusInsync {
			if diff := cmp.Diff(want("10.79.252.13"), got); diff != "" {
				t.Errorf("INSYNC after %d s (-want +got):\n%s", step*5, diff)
			}
			if step != 4 {
				t.Errorf("INSYNC after %d s, want 20 s", step*5)
			}
			break
		}
		if diff := cmp.Diff(want("10.79.252.12"), got); diff != "" {
			t.Errorf("PENDING after %d s: DNS must still serve the old address (-want +got):\n%s", step*5, diff)
		}
		if step == 10 {
			t.Fatal("change never became INSYNC")
		}
		clk.Add(5 * time.Second)
	}
	// The API shows the new value at once, as AWS's does.
	out, err := c.ListResourceRecordSets(t.Context(), &awsroute53.ListResourceRecordSetsInput{HostedZoneId: aws.String(id), StartRecordName: aws.String(name), StartRecordType: types.RRTypeA, MaxItems: aws.Int32(1)})
	if err != nil || *out.ResourceRecordSets[0].ResourceRecords[0].Value != "10.79.252.13" {
		t.Errorf("ListResourceRecordSets = %+v, %v", out, err)
	}
}

func TestDNSViews(t *testing.T) {
	svc := route53.New(route53.Options{})
	c, _ := start(t, svc)
	pub := *createZone(t, c, "corp.example", "").Id
	priv1 := *createZone(t, c, "corp.example", "vpc-1").Id
	priv2 := *createZone(t, c, "corp.example", "vpc-2").Id
	for id, ip := range map[string]string{pub: "203.0.113.1", priv1: "10.0.0.1", priv2: "10.0.0.2"} {
		if _, err := changeBatch(t, c, id, change(types.ChangeActionCreate, rrset("app.corp.example", types.RRTypeA, 60, ip))); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		vpc  string
		want string
	}{
		{"the whole account sees the oldest private zone over the public one", "", "10.0.0.1"},
		{"vpc-2 sees its own private zone", "vpc-2", "10.0.0.2"},
		{"a VPC without a private zone sees the public zone", "vpc-9", "203.0.113.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := listenDNS(t, svc, route53.DNSOptions{VPCID: tt.vpc})
			got := query(t, addr, "udp", "app.corp.example", dns.TypeA)
			if len(got.Answer) != 1 || !strings.HasSuffix(got.Answer[0], " "+tt.want) {
				t.Errorf("answer %v, want %s", got.Answer, tt.want)
			}
		})
	}
}
