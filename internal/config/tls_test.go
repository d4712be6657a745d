package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestClusterTLS(t *testing.T) {
	const head = "cluster: c\nnode: {name: a, advertise: 10.0.1.10:7946}\npeers:\n" +
		"  - {name: b, address: 10.0.2.10:7946}\n  - {name: w, address: 10.0.3.10:7946, witness: true}\n" +
		"local-address: {interface: none}\n"
	tests := []struct {
		name, yaml string
		want       ClusterTLS
		errs       []string
	}{
		{name: "unset", yaml: ""},
		{
			name: "complete",
			yaml: "cluster-tls: {ca: /etc/vipd/ca.pem, cert: /etc/vipd/a.pem, key: /etc/vipd/a.key}\n",
			want: ClusterTLS{CA: "/etc/vipd/ca.pem", Cert: "/etc/vipd/a.pem", Key: "/etc/vipd/a.key"},
		},
		{
			name: "partial and relative",
			yaml: "cluster-tls: {ca: ca.pem, cert: /etc/vipd/a.pem}\n",
			errs: []string{
				`c.yaml:7:15: cluster-tls.ca: "ca.pem" is not an absolute path`,
				"cluster-tls.key: required when cluster-tls is set",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(head+tt.yaml), "c.yaml")
			if len(tt.errs) > 0 {
				if err == nil {
					t.Fatalf("Parse: no error, want %q", tt.errs)
				}
				for _, want := range tt.errs {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("Parse error lacks %q:\n%v", want, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, c.ClusterTLS); diff != "" {
				t.Errorf("ClusterTLS (-want +got):\n%s", diff)
			}
			if got, want := c.ClusterTLS.Enabled(), tt.want != (ClusterTLS{}); got != want {
				t.Errorf("Enabled = %v, want %v", got, want)
			}
		})
	}
}
