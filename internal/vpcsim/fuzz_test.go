package vpcsim

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// FuzzParseWorld checks that no world file makes the parser panic, and
// that a world it accepts builds a server.
func FuzzParseWorld(f *testing.F) {
	for _, p := range []string{"testdata/world.yaml", "../../examples/world.yaml"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("vpcs: [{cidr: 10.0.0.0/16}]\nsubnets: [{vpc: x}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		w, err := ParseWorld(data, "fuzz.yaml")
		if err != nil {
			return
		}
		if _, err := New(w, Options{}); err != nil {
			t.Fatalf("ParseWorld accepted a world New refuses: %v", err)
		}
	})
}

// FuzzQuery sends arbitrary form bodies as the admin and checks that every
// answer is a well-formed status, never a panic.
func FuzzQuery(f *testing.F) {
	seeds := []string{
		"Action=DescribeRouteTables&Version=2016-11-15&Filter.1.Name=vpc-id&Filter.1.Value.1=vpc-*",
		"Action=CreateRoute&RouteTableId=rtb-0a00000000000000a&DestinationCidrBlock=192.168.100.10%2F32&InstanceId=i-0a0000000000000a1",
		"Action=ReplaceRoute&RouteTableId=rtb-0a00000000000000a&DestinationCidrBlock=10.0.0.0%2F16&NetworkInterfaceId=eni-0a0000000000000a1",
		"Action=AssignPrivateIpAddresses&NetworkInterfaceId=eni-0a0000000000000a1&PrivateIpAddress.1=10.0.1.77&AllowReassignment=true",
		"Action=DescribeInstances&Filter.0.Name=&Filter.2.Value.9=x&InstanceId.1=i-",
		"Action=CreateTags&ResourceId.1=vol-0a0000000000000a1&Tag.1.Key=a&Tag.1.Value=b",
		"Action=AttachNetworkInterface&NetworkInterfaceId=eni-0e0000000000000e1&InstanceId=i-0b0000000000000b1&DeviceIndex=-1",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	data, err := os.ReadFile("testdata/world.yaml")
	if err != nil {
		f.Fatal(err)
	}
	w, err := ParseWorld(data, "world.yaml")
	if err != nil {
		f.Fatal(err)
	}
	s, err := New(w, Options{SkipSignatureCheck: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=vpcsim-admin/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0")
		rec := httptest.NewRecorder()
		s.ec2H.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK && rec.Code/100 != 4 && rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("body %q: HTTP %d\n%s", body, rec.Code, rec.Body)
		}
	})
}
