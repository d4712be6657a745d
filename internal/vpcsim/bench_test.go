package vpcsim_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vipd/vipd/internal/vpcsim"
	"github.com/vipd/vipd/internal/vpcsim/vpcsimtest"
)

// BenchmarkDescribeRouteTables measures the server: filtered
// DescribeRouteTables calls on loopback with latency and throttling off,
// sent as the SDK sends them but without the SDK's client-side cost
// (signing, XML decoding), which on 2 cores would otherwise take most of
// the CPU. Issue 3 asks for at least 5,000 calls/s on 2 cores.
func BenchmarkDescribeRouteTables(b *testing.B) {
	// The request is not signed; what is measured is serving it.
	srv := vpcsimtest.NewServerOptions(b, loadWorldB(b), vpcsim.Options{SkipSignatureCheck: true})
	ak, _ := srv.AdminKey()
	body := url.Values{"Action": {"DescribeRouteTables"}, "Version": {"2016-11-15"},
		"Filter.1.Name": {"vpc-id"}, "Filter.1.Value.1": {vpcDemo}}.Encode()
	auth := "AWS4-HMAC-SHA256 Credential=" + ak + "/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host;x-amz-date, Signature=0"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer client.CloseIdleConnections()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, err := http.NewRequestWithContext(b.Context(), http.MethodPost, srv.URL(), strings.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
			req.Header.Set("Authorization", auth)
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("HTTP %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}

// BenchmarkDescribeRouteTablesSDK measures the same call end to end through
// the real SDK client, whose signing and decoding share the CPU.
func BenchmarkDescribeRouteTablesSDK(b *testing.B) {
	srv := vpcsimtest.NewServer(b, loadWorldB(b))
	c := awsec2.NewFromConfig(vpcsimtest.AdminConfig(b, srv))
	in := &awsec2.DescribeRouteTablesInput{Filters: []types.Filter{{Name: aws.String("vpc-id"), Values: []string{vpcDemo}}}}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.DescribeRouteTables(b.Context(), in); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}
