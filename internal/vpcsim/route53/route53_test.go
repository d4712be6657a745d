package route53_test

import (
	"errors"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsroute53 "github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"
	"go.uber.org/goleak"

	"github.com/vipd/vipd/internal/testenv"
	"github.com/vipd/vipd/internal/vpcsim/route53"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// clock is a settable time source for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// start serves svc on a loopback httptest server and returns an SDK client
// for it with retries disabled, so every error reaches the test.
func start(t *testing.T, svc *route53.Service) (*awsroute53.Client, string) {
	t.Helper()
	srv := httptest.NewServer(svc.Handler())
	t.Cleanup(srv.Close)
	cfg := testenv.SDKConfig(srv.Client())
	return awsroute53.NewFromConfig(cfg, func(o *awsroute53.Options) { o.BaseEndpoint = aws.String(srv.URL) }), srv.URL
}

// apiCode returns the AWS error code and message of err, or fails.
func apiCode(t *testing.T, err error) (string, string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not an AWS API error", err)
	}
	return ae.ErrorCode(), ae.ErrorMessage()
}

func createZone(t *testing.T, c *awsroute53.Client, name, vpc string) *types.HostedZone {
	t.Helper()
	in := &awsroute53.CreateHostedZoneInput{Name: aws.String(name), CallerReference: aws.String(name + vpc)}
	if vpc != "" {
		in.VPC = &types.VPC{VPCId: aws.String(vpc), VPCRegion: types.VPCRegionUsEast1}
		in.HostedZoneConfig = &types.HostedZoneConfig{PrivateZone: true, Comment: aws.String("private")}
	}
	out, err := c.CreateHostedZone(t.Context(), in)
	if err != nil {
		t.Fatalf("CreateHostedZone(%s): %v", name, err)
	}
	return out.HostedZone
}

func TestCreateAndGetHostedZone(t *testing.T) {
	c, _ := start(t, route53.New(route53.Options{}))
	ctx := t.Context()

	pub, err := c.CreateHostedZone(ctx, &awsroute53.CreateHostedZoneInput{Name: aws.String("Example.COM"), CallerReference: aws.String("r1")})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(*pub.HostedZone.Id, "/hostedzone/Z") || *pub.Location == "" {
		t.Errorf("Id %q, Location %q: want /hostedzone/Z… and a Location", *pub.HostedZone.Id, aws.ToString(pub.Location))
	}
	if got, want := *pub.HostedZone.Name, "example.com."; got != want {
		t.Errorf("Name = %q, want %q", got, want)
	}
	if pub.DelegationSet == nil || len(pub.DelegationSet.NameServers) != 4 || pub.VPC != nil {
		t.Errorf("public zone: DelegationSet %+v, VPC %+v; want 4 name servers and no VPC", pub.DelegationSet, pub.VPC)
	}
	if pub.ChangeInfo.Status != types.ChangeStatusPending || pub.ChangeInfo.SubmittedAt == nil {
		t.Errorf("ChangeInfo = %+v, want PENDING with SubmittedAt", pub.ChangeInfo)
	}
	if *pub.HostedZone.ResourceRecordSetCount != 2 {
		t.Errorf("ResourceRecordSetCount = %d, want 2 (SOA and NS)", *pub.HostedZone.ResourceRecordSetCount)
	}

	priv := createZone(t, c, "example.com", "vpc-0abc")
	got, err := c.GetHostedZone(ctx, &awsroute53.GetHostedZoneInput{Id: priv.Id})
	if err != nil {
		t.Fatal(err)
	}
	if !got.HostedZone.Config.PrivateZone || *got.HostedZone.Config.Comment != "private" || got.DelegationSet != nil {
		t.Errorf("private zone = %+v, delegation %+v", got.HostedZone.Config, got.DelegationSet)
	}
	if diff := cmp.Diff([]types.VPC{{VPCId: aws.String("vpc-0abc"), VPCRegion: types.VPCRegionUsEast1}}, got.VPCs, cmp.AllowUnexported(types.VPC{})); diff != "" {
		t.Errorf("VPCs (-want +got):\n%s", diff)
	}

	tests := []struct {
		name     string
		call     func() error
		wantCode string
		wantMsg  string
	}{
		{
			name: "a reused caller reference is HostedZoneAlreadyExists",
			call: func() error {
				_, err := c.CreateHostedZone(ctx, &awsroute53.CreateHostedZoneInput{Name: aws.String("other.com"), CallerReference: aws.String("r1")})
				return err
			},
			wantCode: "HostedZoneAlreadyExists",
			wantMsg:  "A hosted zone has already been created with the specified caller reference.",
		},
		{
			name: "a private zone without a VPC is InvalidVPCId",
			call: func() error {
				_, err := c.CreateHostedZone(ctx, &awsroute53.CreateHostedZoneInput{Name: aws.String("p.com"), CallerReference: aws.String("r2"), HostedZoneConfig: &types.HostedZoneConfig{PrivateZone: true}})
				return err
			},
			wantCode: "InvalidVPCId",
		},
		{
			name: "a bad name is InvalidDomainName",
			call: func() error {
				_, err := c.CreateHostedZone(ctx, &awsroute53.CreateHostedZoneInput{Name: aws.String("a..b"), CallerReference: aws.String("r3")})
				return err
			},
			wantCode: "InvalidDomainName",
		},
		{
			name: "an unknown zone is NoSuchHostedZone",
			call: func() error {
				_, err := c.GetHostedZone(ctx, &awsroute53.GetHostedZoneInput{Id: aws.String("/hostedzone/ZNOPE")})
				return err
			},
			wantCode: "NoSuchHostedZone",
			wantMsg:  "No hosted zone found with ID: ZNOPE",
		},
		{
			name: "an unknown change is NoSuchChange",
			call: func() error {
				_, err := c.GetChange(ctx, &awsroute53.GetChangeInput{Id: aws.String("/change/CNOPE")})
				return err
			},
			wantCode: "NoSuchChange",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			code, msg := apiCode(t, err)
			if code != tt.wantCode || tt.wantMsg != "" && msg != tt.wantMsg {
				t.Errorf("got %s %q, want %s %q", code, msg, tt.wantCode, tt.wantMsg)
			}
		})
	}
	var nsz *types.NoSuchHostedZone
	if _, err := c.GetHostedZone(ctx, &awsroute53.GetHostedZoneInput{Id: aws.String("ZNOPE")}); !errors.As(err, &nsz) {
		t.Errorf("GetHostedZone(ZNOPE) error %T, want the modeled *types.NoSuchHostedZone", err)
	}
}

func TestListHostedZones(t *testing.T) {
	c, _ := start(t, route53.New(route53.Options{}))
	ctx := t.Context()
	// Created out of name order; ListHostedZonesByName sorts by reversed labels.
	for _, n := range []string{"b.example.org", "a.example.com", "example.com", "z.net"} {
		createZone(t, c, n, "")
	}
	var names []string
	var marker *string
	for range 10 {
		out, err := c.ListHostedZones(ctx, &awsroute53.ListHostedZonesInput{Marker: marker, MaxItems: aws.Int32(3)})
		if err != nil {
			t.Fatal(err)
		}
		for _, z := range out.HostedZones {
			names = append(names, *z.Name)
		}
		if !out.IsTruncated {
			break
		}
		marker = out.NextMarker
	}
	if diff := cmp.Diff([]string{"b.example.org.", "a.example.com.", "example.com.", "z.net."}, names); diff != "" {
		t.Errorf("ListHostedZones pages, creation order (-want +got):\n%s", diff)
	}

	names = nil
	in := &awsroute53.ListHostedZonesByNameInput{MaxItems: aws.Int32(2)}
	for range 10 {
		out, err := c.ListHostedZonesByName(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		for _, z := range out.HostedZones {
			names = append(names, *z.Name)
		}
		if !out.IsTruncated {
			break
		}
		in.DNSName, in.HostedZoneId = out.NextDNSName, out.NextHostedZoneId
	}
	if diff := cmp.Diff([]string{"example.com.", "a.example.com.", "z.net.", "b.example.org."}, names); diff != "" {
		t.Errorf("ListHostedZonesByName pages (-want +got):\n%s", diff)
	}
	out, err := c.ListHostedZonesByName(ctx, &awsroute53.ListHostedZonesByNameInput{DNSName: aws.String("example.org")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.HostedZones) != 1 || *out.HostedZones[0].Name != "b.example.org." {
		t.Errorf("ListHostedZonesByName(example.org) = %v, want only b.example.org. (after org.example)", out.HostedZones)
	}
}

func rrset(name string, typ types.RRType, ttl int64, values ...string) *types.ResourceRecordSet {
	rs := &types.ResourceRecordSet{Name: aws.String(name), Type: typ, TTL: aws.Int64(ttl)}
	for _, v := range values {
		rs.ResourceRecords = append(rs.ResourceRecords, types.ResourceRecord{Value: aws.String(v)})
	}
	return rs
}

func change(a types.ChangeAction, rs *types.ResourceRecordSet) types.Change {
	return types.Change{Action: a, ResourceRecordSet: rs}
}

func changeBatch(t *testing.T, c *awsroute53.Client, zoneID string, changes ...types.Change) (*types.ChangeInfo, error) {
	t.Helper()
	out, err := c.ChangeResourceRecordSets(t.Context(), &awsroute53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String(zoneID),
		ChangeBatch:  &types.ChangeBatch{Changes: changes, Comment: aws.String("test")},
	})
	if err != nil {
		return nil, err
	}
	return out.ChangeInfo, nil
}

// listAll returns the zone's record sets as "name type ttl v1,v2".
func listAll(t *testing.T, c *awsroute53.Client, zoneID string) []string {
	t.Helper()
	out, err := c.ListResourceRecordSets(t.Context(), &awsroute53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zoneID)})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, rs := range out.ResourceRecordSets {
		if rs.Type == types.RRTypeSoa || rs.Type == types.RRTypeNs {
			continue
		}
		var vals []string
		for _, r := range rs.ResourceRecords {
			vals = append(vals, *r.Value)
		}
		got = append(got, strings.Join([]string{*rs.Name, string(rs.Type), time.Duration(*rs.TTL * int64(time.Second)).String(), strings.Join(vals, ",")}, " "))
	}
	return got
}

func TestChangeResourceRecordSets(t *testing.T) {
	c, _ := start(t, route53.New(route53.Options{}))
	z := createZone(t, c, "example.com", "vpc-1")
	id := *z.Id
	if _, err := changeBatch(t, c, id,
		change(types.ChangeActionCreate, rrset("www.example.com", types.RRTypeA, 60, "10.0.0.1")),
		change(types.ChangeActionCreate, rrset("alias.example.com.", types.RRTypeCname, 60, "www.example.com")),
		change(types.ChangeActionCreate, rrset("txt.example.com.", types.RRTypeTxt, 60, `"hello world"`)),
	); err != nil {
		t.Fatal(err)
	}
	base := []string{
		"alias.example.com. CNAME 1m0s www.example.com",
		"txt.example.com. TXT 1m0s \"hello world\"",
		"www.example.com. A 1m0s 10.0.0.1",
	}
	if diff := cmp.Diff(base, listAll(t, c, id)); diff != "" {
		t.Fatalf("after CREATE (-want +got):\n%s", diff)
	}

	tests := []struct {
		name    string
		changes []types.Change
		code    string
		msg     string
		want    []string // records afterwards; nil means unchanged
	}{
		{
			name:    "CREATE of an existing set fails",
			changes: []types.Change{change(types.ChangeActionCreate, rrset("www.example.com.", types.RRTypeA, 60, "10.0.0.2"))},
			code:    "InvalidChangeBatch",
			msg:     "[Tried to create resource record set [name='www.example.com.', type='A'] but it already exists]",
		},
		{
			name:    "DELETE of a missing set fails",
			changes: []types.Change{change(types.ChangeActionDelete, rrset("nope.example.com.", types.RRTypeA, 60, "10.0.0.2"))},
			code:    "InvalidChangeBatch",
			msg:     "[Tried to delete resource record set [name='nope.example.com.', type='A'] but it was not found]",
		},
		{
			name:    "DELETE with other values fails",
			changes: []types.Change{change(types.ChangeActionDelete, rrset("www.example.com.", types.RRTypeA, 60, "10.0.0.9"))},
			code:    "InvalidChangeBatch",
			msg:     "[Tried to delete resource record set [name='www.example.com.', type='A'] but the values provided do not match the current values]",
		},
		{
			name: "a batch with one bad change applies nothing and reports every problem",
			changes: []types.Change{
				change(types.ChangeActionUpsert, rrset("new.example.com.", types.RRTypeA, 60, "10.0.0.5")),
				change(types.ChangeActionUpsert, rrset("bad.example.com.", types.RRTypeA, 60, "10.0.0")),
				change(types.ChangeActionCreate, rrset("www.other.com.", types.RRTypeA, 60, "10.0.0.5")),
			},
			code: "InvalidChangeBatch",
			msg:  "[Invalid Resource Record: 'FATAL problem: ARRDATAIllegalIPv4Address (Value is not a valid IPv4 address) encountered with '10.0.0'', RRSet with DNS name www.other.com. is not permitted in zone example.com.]",
		},
		{
			name:    "an AAAA value must be IPv6",
			changes: []types.Change{change(types.ChangeActionUpsert, rrset("v6.example.com.", types.RRTypeAaaa, 60, "10.0.0.1"))},
			code:    "InvalidChangeBatch",
			msg:     "[Invalid Resource Record: 'FATAL problem: AAAARRDATAIllegalIPv6Address (Value is not a valid IPv6 address) encountered with '10.0.0.1'']",
		},
		{
			name:    "a TXT value must be quoted",
			changes: []types.Change{change(types.ChangeActionUpsert, rrset("t.example.com.", types.RRTypeTxt, 60, "bare"))},
			code:    "InvalidChangeBatch",
			msg:     "[Invalid Resource Record: 'FATAL problem: InvalidCharacterString (Value should be enclosed in quotation marks) encountered with 'bare'']",
		},
		{
			name:    "duplicate values are rejected",
			changes: []types.Change{change(types.ChangeActionUpsert, rrset("d.example.com.", types.RRTypeA, 60, "10.0.0.1", "10.0.0.1"))},
			code:    "InvalidChangeBatch",
			msg:     "[Duplicate Resource Record: '10.0.0.1']",
		},
		{
			name:    "a CNAME cannot join other records",
			changes: []types.Change{change(types.ChangeActionCreate, rrset("www.example.com.", types.RRTypeCname, 60, "x.example.com"))},
			code:    "InvalidChangeBatch",
			msg:     "[RRSet of type CNAME with DNS name www.example.com. is not permitted as it conflicts with other records with the same DNS name in zone example.com.]",
		},
		{
			name:    "a CNAME cannot sit at the apex",
			changes: []types.Change{change(types.ChangeActionCreate, rrset("example.com.", types.RRTypeCname, 60, "x.example.com"))},
			code:    "InvalidChangeBatch",
			msg:     "[RRSet of type CNAME with DNS name example.com. is not permitted at apex in zone example.com.]",
		},
		{
			name:    "the apex SOA cannot be deleted",
			changes: []types.Change{change(types.ChangeActionDelete, rrset("example.com.", types.RRTypeSoa, 900, "ns-1536.awsdns-00.co.uk. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400"))},
			code:    "InvalidChangeBatch",
			msg:     "[A HostedZone must contain exactly one SOA record.]",
		},
		{
			// The name is echoed as spelled (AWS's answer as quoted in
			// getmoto/moto's test_change_resource_record_set__delete_should_match_create).
			name:    "a set without TTL is InvalidInput",
			changes: []types.Change{change(types.ChangeActionUpsert, &types.ResourceRecordSet{Name: aws.String("x.example.com"), Type: types.RRTypeA})},
			code:    "InvalidInput",
			msg:     "Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found none in Change with [Action=UPSERT, Name=x.example.com, Type=A, SetIdentifier=null]",
		},
		{
			// Route 53 validates the request against its XML schema first
			// (Xerces' cvc-enumeration-valid), before any other check.
			name:    "an action outside the enumeration fails schema validation",
			changes: []types.Change{change("INVALID_ACTION", rrset("v.example.com.", types.RRTypeA, 60, "10.0.0.1"))},
			code:    "InvalidInput",
			msg:     "Invalid XML ; cvc-enumeration-valid: Value 'INVALID_ACTION' is not facet-valid with respect to enumeration '[CREATE, DELETE, UPSERT]'. It must be a value from the enumeration.",
		},
		{
			// A name with whitespace is refused before the TTL is looked at.
			name:    "a name with a space is UnsupportedCharacter",
			changes: []types.Change{change(types.ChangeActionCreate, &types.ResourceRecordSet{Name: aws.String("i d.example.com."), Type: types.RRTypeTxt})},
			code:    "InvalidChangeBatch",
			msg:     "[FATAL problem: UnsupportedCharacter (Value contains unsupported characters) encountered with ' ']",
		},
		{
			// "A request cannot contain more than 1,000 ResourceRecord
			// elements. When the value of the Action element is UPSERT, each
			// ResourceRecord element is counted twice." (API reference
			// ChangeResourceRecordSets, Limits)
			name: "more than 1,000 records, UPSERTs counting twice, is InvalidChangeBatch",
			changes: []types.Change{
				change(types.ChangeActionUpsert, rrset("m1.example.com.", types.RRTypeA, 60, manyAddrs(250)...)),
				change(types.ChangeActionUpsert, rrset("m2.example.com.", types.RRTypeA, 60, manyAddrs(250)...)),
				change(types.ChangeActionCreate, rrset("m3.example.com.", types.RRTypeA, 60, "10.0.0.1")),
			},
			code: "InvalidChangeBatch",
			msg:  "Number of records limit of 1000 exceeded.",
		},
		{
			name: "UPSERT replaces, DELETE then CREATE in one batch works",
			changes: []types.Change{
				change(types.ChangeActionUpsert, rrset("www.example.com.", types.RRTypeA, 10, "10.79.252.13", "10.79.252.14")),
				change(types.ChangeActionDelete, rrset("txt.example.com.", types.RRTypeTxt, 60, `"hello world"`)),
				change(types.ChangeActionCreate, rrset("txt.example.com.", types.RRTypeTxt, 30, `"v=2"`)),
				change(types.ChangeActionDelete, rrset("alias.example.com.", types.RRTypeCname, 60, "www.example.com")),
			},
			want: []string{
				"txt.example.com. TXT 30s \"v=2\"",
				"www.example.com. A 10s 10.79.252.13,10.79.252.14",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := listAll(t, c, id)
			_, err := changeBatch(t, c, id, tt.changes...)
			if tt.code == "" {
				if err != nil {
					t.Fatal(err)
				}
			} else {
				code, msg := apiCode(t, err)
				if code != tt.code || msg != tt.msg {
					t.Errorf("error:\n got %s %s\nwant %s %s", code, msg, tt.code, tt.msg)
				}
			}
			want := tt.want
			if want == nil {
				want = before
			}
			if diff := cmp.Diff(want, listAll(t, c, id)); diff != "" {
				t.Errorf("records afterwards (-want +got):\n%s", diff)
			}
		})
	}

	var icb *types.InvalidChangeBatch
	_, err := changeBatch(t, c, id, change(types.ChangeActionCreate, rrset("www.example.com.", types.RRTypeA, 10, "10.0.0.1")))
	if !errors.As(err, &icb) {
		t.Errorf("error %T, want the modeled *types.InvalidChangeBatch", err)
	}
	if _, err := changeBatch(t, c, "ZNOPE", change(types.ChangeActionUpsert, rrset("a.example.com.", types.RRTypeA, 10, "10.0.0.1"))); err == nil {
		t.Error("change to an unknown zone succeeded")
	} else if code, _ := apiCode(t, err); code != "NoSuchHostedZone" {
		t.Errorf("change to an unknown zone: %s, want NoSuchHostedZone", code)
	}
}

func TestListResourceRecordSetsPaging(t *testing.T) {
	c, _ := start(t, route53.New(route53.Options{}))
	id := *createZone(t, c, "example.com", "").Id
	if _, err := changeBatch(t, c, id,
		change(types.ChangeActionCreate, rrset("b.example.com.", types.RRTypeA, 60, "10.0.0.1")),
		change(types.ChangeActionCreate, rrset("b.example.com.", types.RRTypeTxt, 60, `"b"`)),
		change(types.ChangeActionCreate, rrset("a.b.example.com.", types.RRTypeA, 60, "10.0.0.2")),
		change(types.ChangeActionCreate, rrset("c.example.com.", types.RRTypeAaaa, 60, "fd00::1")),
	); err != nil {
		t.Fatal(err)
	}
	var got []string
	in := &awsroute53.ListResourceRecordSetsInput{HostedZoneId: aws.String(id), MaxItems: aws.Int32(2)}
	for range 10 {
		out, err := c.ListResourceRecordSets(t.Context(), in)
		if err != nil {
			t.Fatal(err)
		}
		for _, rs := range out.ResourceRecordSets {
			got = append(got, *rs.Name+" "+string(rs.Type))
		}
		if !out.IsTruncated {
			break
		}
		in.StartRecordName, in.StartRecordType = out.NextRecordName, out.NextRecordType
	}
	want := []string{
		"example.com. NS", "example.com. SOA",
		"b.example.com. A", "b.example.com. TXT",
		"a.b.example.com. A",
		"c.example.com. AAAA",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pages in Route 53 order (-want +got):\n%s", diff)
	}
	// "If you specify Type but not Name: Route 53 returns the InvalidInput
	// error." (API reference ListResourceRecordSets)
	_, err := c.ListResourceRecordSets(t.Context(), &awsroute53.ListResourceRecordSetsInput{HostedZoneId: aws.String(id), StartRecordType: types.RRTypeA})
	if code, msg := apiCode(t, err); code != "InvalidInput" || msg != "The input is not valid" {
		t.Errorf("type without name: %s %q, want InvalidInput \"The input is not valid\"", code, msg)
	}
	_, err = c.ListResourceRecordSets(t.Context(), &awsroute53.ListResourceRecordSetsInput{HostedZoneId: aws.String(id), StartRecordName: aws.String("a\tb.example.com.")})
	if code, msg := apiCode(t, err); code != "InvalidInput" || msg != "FATAL problem: UnsupportedCharacter (Value contains unsupported characters) encountered with '\t'" {
		t.Errorf("name with a tab: %s %q, want InvalidInput UnsupportedCharacter", code, msg)
	}
	// Escaped, the same character is part of a valid name (Developer Guide,
	// "DNS domain name format": other characters as escape codes).
	if _, err := c.ListResourceRecordSets(t.Context(), &awsroute53.ListResourceRecordSetsInput{HostedZoneId: aws.String(id), StartRecordName: aws.String(`a\ b.example.com.`)}); err != nil {
		t.Errorf("name with an escaped space: %v", err)
	}
}

// manyAddrs returns n distinct IPv4 addresses.
func manyAddrs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "10.1." + strconv.Itoa(i/256) + "." + strconv.Itoa(i%256)
	}
	return out
}

func TestGetChangeBecomesInsyncAfterPropagationDelay(t *testing.T) {
	clk := newClock()
	c, _ := start(t, route53.New(route53.Options{PropagationDelay: 20 * time.Second, Now: clk.Now}))
	id := *createZone(t, c, "example.com", "vpc-1").Id
	ci, err := changeBatch(t, c, id, change(types.ChangeActionUpsert, rrset("a.example.com.", types.RRTypeA, 10, "10.0.0.1")))
	if err != nil {
		t.Fatal(err)
	}
	if ci.Status != types.ChangeStatusPending || !strings.HasPrefix(*ci.Id, "/change/C") || *ci.Comment != "test" {
		t.Fatalf("ChangeInfo = %+v, want PENDING /change/C… with the comment", ci)
	}
	status := func() types.ChangeStatus {
		out, err := c.GetChange(t.Context(), &awsroute53.GetChangeInput{Id: ci.Id})
		if err != nil {
			t.Fatal(err)
		}
		return out.ChangeInfo.Status
	}
	clk.Add(19 * time.Second)
	if got := status(); got != types.ChangeStatusPending {
		t.Errorf("after 19s: %s, want PENDING", got)
	}
	clk.Add(time.Second)
	if got := status(); got != types.ChangeStatusInsync {
		t.Errorf("after 20s: %s, want INSYNC", got)
	}
}

func TestThrottling(t *testing.T) {
	clk := newClock()
	c, _ := start(t, route53.New(route53.Options{RequestsPerSecond: route53.AWSRequestsPerSecond, Now: clk.Now}))
	list := func() error {
		_, err := c.ListHostedZones(t.Context(), &awsroute53.ListHostedZonesInput{})
		return err
	}
	for i := range 5 {
		if err := list(); err != nil {
			t.Fatalf("call %d within the limit: %v", i+1, err)
		}
	}
	err := list()
	code, msg := apiCode(t, err)
	if code != "Throttling" || msg != "Rate exceeded" {
		t.Errorf("6th call in one second: %s %q, want Throttling \"Rate exceeded\"", code, msg)
	}
	var re interface{ HTTPStatusCode() int }
	if !errors.As(err, &re) || re.HTTPStatusCode() != 400 {
		t.Errorf("throttled status: %v, want HTTP 400 as Route 53 sends", err)
	}
	clk.Add(200 * time.Millisecond)
	if err := list(); err != nil {
		t.Errorf("after 200ms one token is back: %v", err)
	}
}

func TestPriorRequestNotComplete(t *testing.T) {
	clk := newClock()
	c, _ := start(t, route53.New(route53.Options{PropagationDelay: 10 * time.Second, RejectWhilePending: true, Now: clk.Now}))
	id := *createZone(t, c, "example.com", "vpc-1").Id
	up := func(ip string) error {
		_, err := changeBatch(t, c, id, change(types.ChangeActionUpsert, rrset("a.example.com.", types.RRTypeA, 10, ip)))
		return err
	}
	if err := up("10.0.0.1"); err != nil {
		t.Fatalf("first change while the zone's creation is PENDING: %v", err)
	}
	err := up("10.0.0.2")
	var prnc *types.PriorRequestNotComplete
	if !errors.As(err, &prnc) {
		t.Fatalf("second change while PENDING: %v, want PriorRequestNotComplete", err)
	}
	clk.Add(10 * time.Second)
	if err := up("10.0.0.2"); err != nil {
		t.Errorf("change after INSYNC: %v", err)
	}
	if got := listAll(t, c, id); !slices.Equal(got, []string{"a.example.com. A 10s 10.0.0.2"}) {
		t.Errorf("records = %v", got)
	}
}

func TestDeleteHostedZone(t *testing.T) {
	svc := route53.New(route53.Options{})
	c, _ := start(t, svc)
	addr := listenDNS(t, svc, route53.DNSOptions{})
	id := *createZone(t, c, "gone.example", "vpc-1").Id
	if _, err := changeBatch(t, c, id, change(types.ChangeActionCreate, rrset("a.gone.example", types.RRTypeA, 60, "10.0.0.1"))); err != nil {
		t.Fatal(err)
	}
	_, err := c.DeleteHostedZone(t.Context(), &awsroute53.DeleteHostedZoneInput{Id: aws.String(id)})
	var notEmpty *types.HostedZoneNotEmpty
	if !errors.As(err, &notEmpty) {
		t.Fatalf("deleting a zone with records: %v, want HostedZoneNotEmpty", err)
	}
	if _, err := changeBatch(t, c, id, change(types.ChangeActionDelete, rrset("a.gone.example", types.RRTypeA, 60, "10.0.0.1"))); err != nil {
		t.Fatal(err)
	}
	out, err := c.DeleteHostedZone(t.Context(), &awsroute53.DeleteHostedZoneInput{Id: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.GetChange(t.Context(), &awsroute53.GetChangeInput{Id: out.ChangeInfo.Id})
	if err != nil || got.ChangeInfo.Status != types.ChangeStatusInsync {
		t.Errorf("GetChange(deletion) = %+v, %v; want INSYNC", got, err)
	}
	if _, err := c.GetHostedZone(t.Context(), &awsroute53.GetHostedZoneInput{Id: aws.String(id)}); err == nil {
		t.Error("the zone is still there")
	}
	if a := query(t, addr, "udp", "a.gone.example", dns.TypeA); a.Rcode != "REFUSED" {
		t.Errorf("DNS after deletion: %+v, want REFUSED", a)
	}
}

// TestSDKRetriesAbsorbThrottling checks that the SDK's standard retryer
// treats vpcsim's Throttling as AWS's, backing off until the burst passes.
func TestSDKRetriesAbsorbThrottling(t *testing.T) {
	srv := httptest.NewServer(route53.New(route53.Options{RequestsPerSecond: route53.AWSRequestsPerSecond}).Handler())
	t.Cleanup(srv.Close)
	cfg := aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("x", "x", ""),
		HTTPClient:       srv.Client(),
		RetryMaxAttempts: 10,
	}
	c := awsroute53.NewFromConfig(cfg, func(o *awsroute53.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	for i := range 12 {
		if _, err := c.ListHostedZones(t.Context(), &awsroute53.ListHostedZonesInput{}); err != nil {
			t.Fatalf("call %d: %v; the standard retryer should absorb Throttling", i+1, err)
		}
	}
}
