package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestParseRejectsResources pins the messages of mistakes in the resource
// kinds of issue 7, as TestParseRejects does for the rest (same -update).
func TestParseRejectsResources(t *testing.T) {
	tests := []struct {
		name string
		yaml string
	}{
		{"two-kinds-in-one-resource", members + "resources:\n  - secondary-ip: {addresses: [10.0.1.100]}\n    elastic-ip: {allocation-id: eipalloc-0a1b2c3d}\n"},
		{"secondary-ip-bad-addresses", members + "resources:\n  - secondary-ip: {addresses: [10.0.1.100/32, 'fd00::1', 8.8.8.8, 10.0.1.7, 10.0.1.7], device-index: 40}\n"},
		{"secondary-ip-no-addresses", members + "resources:\n  - secondary-ip: {device-index: 1}\n"},
		{"elastic-ip-bad", members + "resources:\n  - elastic-ip: {allocation-id: eip-123, device-index: 1}\n  - elastic-ip: {private-ip: 10.0.1}\n"},
		{"eni-bad", members + "resources:\n  - eni: {id: eni-xyz, device-index: -1, detach-timeout: -1s, host: nnoe, policy-routing: {table: 254, priority: 40000, table-name: 'my table'}}\n  - eni: {}\n  - eni: {id: eni-0a1b2c3d, private-ip: 10.0.1.50}\n"},
		{"route53-bad", members + "resources:\n  - route53: {hosted-zone-id: z123, name: 'bad..name', type: CNAME, ttl: 1500ms, address: privat, insync-timeout: 10s}\n  - route53: {hosted-zone-id: Z123, name: db.example.internal, type: AAAA}\n  - route53: {}\n"},
		{"ebs-volume-bad", members + "resources:\n  - ebs-volume: {volume-id: vol-1, device: /dev/sda1, block-device: dev/nvme1n1, mount-point: /, options: ['noatime,ro'], host: yes-please}\n  - ebs-volume: {volume-id: vol-0a1b2c3d, fsck: true}\n"},
		{"resources-owning-the-same-thing", members + "resources:\n  - secondary-ip: {addresses: [10.0.1.100]}\n  - secondary-ip: {addresses: [10.0.1.101, 10.0.1.100]}\n  - ebs-volume: {volume-id: vol-0a1b2c3d}\n  - ebs-volume: {volume-id: vol-0a1b2c3d}\n  - route53: {hosted-zone-id: Z1, name: db.example.internal}\n  - route53: {hosted-zone-id: Z1, name: DB.example.internal., type: A}\n"},
		{"ipv6-bad", members + "resources:\n  - overlay-route: {cidrs: ['fe80::/64', 'ff02::1/128', '::ffff:10.0.0.1/128', 'fd00:ec2::10/128'], route-tables: all}\n  - route53: {hosted-zone-id: Z1, name: db.example.internal, address: private-ipv6}\nlocal-address: {cidr: 'fd00:ec2::10/128'}\n"},
		{"tag-selectors-bad", members + "resources:\n  - overlay-route: {cidr: 192.168.100.10/32, route-tables: {tags: []}}\n  - overlay-route: {cidr: 192.168.100.11/32, route-tables: {tags: [{value: db}, {key: vipd, value: a}, {key: vipd, value: b}]}}\n  - eni: {id: eni-0a1b2c3d, tags: [{key: vipd, value: db}]}\n  - ebs-volume: {volume-id: vol-0a1b2c3d, tags: [{key: vipd}]}\n  - elastic-ip: {tags: [{key: '', value: web}]}\nlocal-address: {interface: none}\n"},
		{"route-tables-tags-typo", members + "resources:\n  - overlay-route: {cidr: 192.168.100.10/32, route-tables: {tags: [{key: vipd, valeu: db}], tabs: x}}\nlocal-address: {interface: none}\n"},
		{"tag-selectors-owning-the-same-thing", members + "resources:\n  - eni: {tags: [{key: vipd, value: db}]}\n  - eni: {tags: [{key: vipd, value: db}]}\nlocal-address: {interface: none}\n"},
		{"fence-bad", members + "resources:\n  - overlay-route: {cidr: 192.168.100.10/32, route-tables: all}\nlocal-address: {cidr: 192.168.100.10/32}\nfence: {stop-instance: true, timeout: 2h}\n"},
		{"fence-before-bad", members + "resources:\n  - ebs-volume: {volume-id: vol-0a1b2c3d}\nfence: {stop-instance: true, before: detach}\n"},
		{"fence-before-alone", members + "resources:\n  - ebs-volume: {volume-id: vol-0a1b2c3d}\nfence: {before: takeover}\n"},
		{"fence-takeover-peer-hostname", "cluster: c\nnode: {name: a, advertise: 10.0.0.1:7946}\npeers: [{name: b, address: 'db-b.internal:7946'}, {name: w, address: 'witness.internal:7946', witness: true}]\nresources:\n  - overlay-route: {cidr: 192.168.100.10/32, route-tables: all}\nlocal-address: {cidr: 192.168.100.10/32}\nfence: {stop-instance: true, before: takeover}\n"},
		{"fence-takeover-not-raft", "cluster: c\nnode: {name: a, advertise: 10.0.0.1:7946}\nelection: {backend: dynamodb, dynamodb: {table: vipd-lease}}\nresources:\n  - overlay-route: {cidr: 192.168.100.10/32, route-tables: all}\nlocal-address: {cidr: 192.168.100.10/32}\nfence: {stop-instance: true, before: takeover}\n"},
		{"fence-timeout-alone", members + "resources:\n  - ebs-volume: {volume-id: vol-0a1b2c3d}\nfence: {timeout: 1m}\n"},
		{"local-address-not-secondary", members + "resources:\n  - secondary-ip: {addresses: [10.0.1.100]}\nlocal-address: {cidr: 10.0.1.101/32}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.yaml), "vipd.yaml")
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want an error", tt.yaml, c)
			}
			checkPlaced(t, err)
			got := err.Error() + "\n"
			golden := filepath.Join("testdata", "errors", tt.name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, rerr := os.ReadFile(golden)
			if rerr != nil {
				t.Fatalf("read golden (run go test -update to create it): %v", rerr)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("Parse(%q) error mismatch (-want +got):\n%s", tt.yaml, diff)
			}
		})
	}
}

// TestParseResources checks that a config with every kind parses into the
// fields the resources read.
func TestParseResources(t *testing.T) {
	y := members + `resources:
  - route53: {hosted-zone-id: Z0123456789ABC, name: db.example.internal, ttl: 10s, wait-insync: true, insync-timeout: 90s}
  - overlay-route: {cidr: 192.168.100.10/32, route-tables: all}
  - secondary-ip: {addresses: [10.0.1.100, 10.0.1.101]}
  - elastic-ip: {allocation-id: eipalloc-0a1b2c3d, private-ip: 10.0.1.100}
  - eni: {id: eni-0a1b2c3d4e5f60718, device-index: 1, host: none, policy-routing: {table: 100, table-name: MYHA, priority: 100}}
  - ebs-volume: {volume-id: vol-0a1b2c3d, device: /dev/sdf, mount-point: /data, options: [noatime], fsck: true, host: none}
local-address: {interface: none, cidr: 10.0.1.100/32}
`
	c, err := Parse([]byte(y), "vipd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, r := range c.Resources {
		kinds = append(kinds, r.Kind())
	}
	want := []string{KindRoute53, KindOverlayRoute, KindSecondaryIP, KindElasticIP, KindENI, KindEBSVolume}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("kinds (-want +got):\n%s", diff)
	}
	if got := c.Resources[0].Route53; got.TTL != 10*time.Second || got.InsyncTimeout != 90*time.Second || !got.WaitInsync {
		t.Errorf("route53 = %+v", got)
	}
	if got := c.Resources[2].SecondaryIP.Addrs(); len(got) != 2 || got[1].String() != "10.0.1.101" {
		t.Errorf("secondary-ip addrs = %v", got)
	}
	if got := c.Resources[4].ENI.PolicyRouting; got != (PolicyRouting{Table: 100, TableName: "MYHA", Priority: 100}) {
		t.Errorf("eni policy routing = %+v", got)
	}
	if got := c.Resources[5].EBSVolume; got.MountPoint != "/data" || !got.Fsck || got.Options[0] != "noatime" {
		t.Errorf("ebs-volume = %+v", got)
	}
}

// TestDocsExamples parses every complete configuration (a yaml block that
// starts with a comment or `cluster:`) in docs/*.md, so that the pages'
// examples keep working.
func TestDocsExamples(t *testing.T) {
	pages, err := filepath.Glob(filepath.Join("..", "..", "docs", "*.md"))
	if err != nil || len(pages) == 0 {
		t.Fatalf("no docs pages: %v", err)
	}
	n := 0
	for _, page := range pages {
		b, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		blocks := strings.Split(string(b), "```yaml\n")
		for i, blk := range blocks[1:] {
			body, _, _ := strings.Cut(blk, "```")
			if !strings.Contains(body, "\ncluster:") && !strings.HasPrefix(body, "cluster:") {
				continue
			}
			n++
			name := fmt.Sprintf("%s#%d", filepath.Base(page), i+1)
			parse := func() error { _, err := Parse([]byte(body), name); return err }
			if strings.Contains(body, "\ncandidates:") || strings.HasPrefix(body, "candidates:") {
				// A `vipd controller` configuration (docs/controller.md).
				parse = func() error { _, err := ParseController([]byte(body), name); return err }
			}
			if err := parse(); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
	}
	if n < 6 {
		t.Errorf("found %d example configs in docs, want one per resource page", n)
	}
}
