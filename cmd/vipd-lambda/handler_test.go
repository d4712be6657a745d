package main

import (
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsssm "github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/vipd/vipd/internal/testenv"
	simssm "github.com/vipd/vipd/internal/vpcsim/ssm"
)

func TestCheckEvent(t *testing.T) {
	tests := []struct {
		name, event string
		ok          bool
	}{
		{"a scheduled event runs", scheduledEvent, true},
		{"an empty object runs (manual invoke)", `{}`, true},
		{"an S3 event is refused", `{"source":"aws.s3","detail-type":"Object Created"}`, false},
		{"an arbitrary object is refused", `{"hello":"world"}`, false},
		{"a list is refused", `[1]`, false},
		{"a string is refused", `"tick"`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkEvent(json.RawMessage(tt.event))
			if (err == nil) != tt.ok {
				t.Errorf("checkEvent(%s) = %v, want ok %v", tt.event, err, tt.ok)
			}
		})
	}
}

func TestHandleWithoutConfigurationIsAnError(t *testing.T) {
	h := &handler{getenv: func(string) string { return "" }, log: slog.New(slog.DiscardHandler)}
	_, err := h.handle(t.Context(), json.RawMessage(`{}`))
	if err == nil || !strings.Contains(err.Error(), "VIPD_CONFIG") {
		t.Errorf("handle without configuration: %v, want an error naming VIPD_CONFIG", err)
	}
	h.getenv = func(k string) string {
		if k == "VIPD_CONFIG" {
			return "cluster: [oops"
		}
		return ""
	}
	if _, err := h.handle(t.Context(), json.RawMessage(`{}`)); err == nil {
		t.Error("handle with a broken configuration succeeded")
	}
}

// TestConfigFromParameter reads the configuration from an SSM parameter,
// as VIPD_CONFIG_PARAMETER asks, through the SDK's own endpoint variable.
func TestConfigFromParameter(t *testing.T) {
	svc := simssm.New(simssm.Options{})
	srv := httptest.NewServer(svc.Handler())
	t.Cleanup(srv.Close)
	testenv.AWS(t, "AWS_ENDPOINT_URL_SSM="+srv.URL, "AWS_ACCESS_KEY_ID=x", "AWS_SECRET_ACCESS_KEY=x", "AWS_EC2_METADATA_DISABLED=true")
	yaml := `cluster: orders
candidates: {instances: [{id: i-0a000000000000001}, {id: i-0b000000000000002}]}
health: [{tcp: "{address}:5432"}]
resources: [{overlay-route: {cidr: 192.168.100.10/32, route-tables: all}}]
owner-parameter: {name: MasterDB_VIP}
lease: {table: vipd-leases}
`
	c := awsssm.New(awsssm.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), Credentials: credentials.NewStaticCredentialsProvider("x", "x", "")})
	if _, err := c.PutParameter(t.Context(), &awsssm.PutParameterInput{Name: aws.String("/vipd/orders/config"), Value: aws.String(yaml), Type: ssmtypes.ParameterTypeSecureString}); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"VIPD_CONFIG_PARAMETER": "/vipd/orders/config", "AWS_REGION": "us-east-1"}
	h := &handler{getenv: func(k string) string { return env[k] }, log: slog.New(slog.DiscardHandler)}
	cfg, err := h.config(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Cluster != "orders" || cfg.Source != "ssm:/vipd/orders/config" {
		t.Errorf("config cluster %q source %q", cfg.Cluster, cfg.Source)
	}
	env["VIPD_CONFIG_PARAMETER"] = "/vipd/none"
	if _, err := h.config(t.Context()); err == nil || !strings.Contains(err.Error(), "ParameterNotFound") {
		t.Errorf("missing parameter: %v", err)
	}
}
