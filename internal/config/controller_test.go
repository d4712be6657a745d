package config

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

const controllerYAML = `cluster: orders-db
candidates:
  instances:
    - {id: i-0a000000000000001}
    - {id: i-0b000000000000002, check-address: "127.0.0.1:5000"}
health:
  - {tcp: "{address}:5432", interval: 500ms, timeout: 500ms}
resources:
  - overlay-route: {cidr: 192.168.100.10/32, route-tables: all}
owner-parameter: {name: MasterDB_VIP}
lease: {table: vipd-leases}
aws: {region: us-east-1}
`

func TestParseControllerDefaults(t *testing.T) {
	c, err := ParseController([]byte(controllerYAML), "ctl.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := ControllerLease{Table: "vipd-leases", KeyAttribute: "id", Key: "orders-db", Duration: 10 * time.Second, Renew: 2500 * time.Millisecond}
	if diff := cmp.Diff(want, c.Lease); diff != "" {
		t.Errorf("lease (-want +got):\n%s", diff)
	}
	if c.Health[0].Name != "tcp {address}:5432" || c.Health[0].Rise != 2 {
		t.Errorf("check defaults: %+v", c.Health[0])
	}
	if got := ExpandCheck(c.Health[0], "10.0.1.10").TCP; got != "10.0.1.10:5432" {
		t.Errorf("expanded tcp %q", got)
	}
	if c.OwnerParameter.Type != ParameterString || c.Interval != time.Second {
		t.Errorf("owner-parameter %+v interval %s", c.OwnerParameter, c.Interval)
	}
}

func TestParseControllerErrors(t *testing.T) {
	tests := []struct {
		name, edit, want string
	}{
		{"a host-side resource is refused", "resources:\n  - eni: {id: eni-0a000000000000001}\n", "resources[0].eni: eni changes the host"},
		{"one candidate cannot fail over", "candidates: {instances: [{id: i-0a000000000000001}]}\n", "one candidate cannot fail over"},
		{"a typo in the owner type gets a hint", "owner-parameter: {name: X, type: Strin}\n", `did you mean "String"`},
		{"renew must be well below the lease", "lease: {table: vipd-leases, duration: 1s, renew: 900ms}\n", "more than half the lease duration"},
		{"unknown keys are refused", "candidate: {}\n", `unknown key (did you mean "candidates"?)`},
		{"instances and tags exclude each other", "candidates: {instances: [{id: i-0a000000000000001}, {id: i-0b000000000000002}], tags: [{key: a, value: b}]}\n", "both instances and tags"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Replace the top-level key the edit sets, keep the rest.
			key := tt.edit[:strings.Index(tt.edit, ":")]
			var kept []string
			skip := false
			for _, line := range strings.Split(controllerYAML, "\n") {
				if strings.HasPrefix(line, key+":") {
					skip = true
					continue
				}
				if skip && strings.HasPrefix(line, " ") {
					continue
				}
				skip = false
				kept = append(kept, line)
			}
			_, err := ParseController([]byte(strings.Join(kept, "\n")+tt.edit), "ctl.yaml")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestControllerRoundTrip checks that a controller configuration with
// every section set survives MarshalYAML and ParseController unchanged:
// harnesses and tools write controller files from the struct.
func TestControllerRoundTrip(t *testing.T) {
	src := controllerYAML + `name: ctl-1
preempt: true
interval: 2s
reconcile: {interval: 3s}
notify: {master: /etc/vipd/master.sh, timeout: 4s}
api: {socket: /run/vipd/ctl.sock, metrics: "127.0.0.1:9758"}
log: {format: json, level: debug}
lambda: {run-time: 40s, stop-before: 4s}
`
	src = strings.Replace(src, "aws: {region: us-east-1}", `aws: {region: us-east-1, endpoint: "http://127.0.0.1:4566", endpoints: {ssm: "http://127.0.0.1:4567"}, call-timeout: 3s, assume-role: {role-arn: "arn:aws:iam::210987654321:role/vipd-routes", external-id: ext-1}}`, 1)
	c, err := ParseController([]byte(src), "ctl.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out, err := yaml.Marshal(c)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	back, err := ParseController(out, "ctl.yaml")
	if err != nil {
		t.Fatalf("ParseController(Marshal(c)): %v\n%s", err, out)
	}
	if diff := cmp.Diff(c, back, cmp.Comparer(prefixEqual)); diff != "" {
		t.Errorf("round trip mismatch (-parsed +reparsed):\n%s\nmarshalled:\n%s", diff, out)
	}
}

const fleetYAML = `name: ctl-a
health:
  - {tcp: "{address}:5432", interval: 500ms, timeout: 500ms}
lease: {table: vipd-leases}
api: {socket: /run/vipd/controller.sock}
aws: {region: us-east-1}
write-concurrency: 8
clusters:
  - cluster: orders-db
    candidates: {instances: [{id: i-0a000000000000001}, {id: i-0b000000000000002}]}
    resources: [{overlay-route: {cidr: 192.168.100.10/32, route-tables: all}}]
    owner-parameter: {name: orders-db-owner}
  - cluster: users-db
    candidates: {tags: [{key: vipd, value: users-db}]}
    preempt: true
    health: [{http: {url: "http://{address}/health"}}]
    resources: [{overlay-route: {cidr: 192.168.100.11/32, route-tables: all}}]
    owner-parameter: {name: /vipd/users-db/owner, type: SecureString}
`

// TestParseControllerFleet: a file with clusters (issue 17) gives one
// single-cluster configuration per entry, each with the shared fields,
// its own lease key and admin socket, and the top's health unless it sets
// its own.
func TestParseControllerFleet(t *testing.T) {
	c, err := ParseController([]byte(fleetYAML), "fleet.yaml")
	if err != nil {
		t.Fatal(err)
	}
	per := c.PerCluster()
	if len(per) != 2 {
		t.Fatalf("%d clusters, want 2", len(per))
	}
	o, u := per[0], per[1]
	if o.Cluster != "orders-db" || o.Lease.Key != "orders-db" || o.Lease.Table != "vipd-leases" || o.Lease.Renew != 2500*time.Millisecond {
		t.Errorf("orders-db: cluster %q lease %+v", o.Cluster, o.Lease)
	}
	if o.API.Socket != "/run/vipd/controller-orders-db.sock" || u.API.Socket != "/run/vipd/controller-users-db.sock" {
		t.Errorf("sockets %q, %q", o.API.Socket, u.API.Socket)
	}
	if len(o.Health) != 1 || o.Health[0].TCP != "{address}:5432" || o.Health[0].Name == "" {
		t.Errorf("orders-db health %+v, want the top's", o.Health)
	}
	if len(u.Health) != 1 || u.Health[0].HTTP == nil || u.Health[0].Name == "" {
		t.Errorf("users-db health %+v, want its own", u.Health)
	}
	if o.OwnerParameter.Type != ParameterString || u.OwnerParameter.Type != ParameterSecureString || !u.Preempt || o.Preempt {
		t.Errorf("owner parameters %+v %+v, preempt %v %v", o.OwnerParameter, u.OwnerParameter, o.Preempt, u.Preempt)
	}
	if c.WriteConcurrency != 8 || o.Name != "ctl-a" || len(u.Candidates.Tags) != 1 {
		t.Errorf("write-concurrency %d name %q tags %+v", c.WriteConcurrency, o.Name, u.Candidates.Tags)
	}
	for _, x := range per {
		if err := x.Validate(); err != nil {
			t.Errorf("%s: per-cluster configuration does not validate: %v", x.Cluster, err)
		}
	}
	single, err := ParseController([]byte(controllerYAML), "ctl.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := single.PerCluster(); len(got) != 1 || got[0] != single {
		t.Errorf("a single-cluster file is not its own one cluster")
	}
}

// TestParseControllerFleetErrors: each problem of an entry is named with
// its line and path under clusters, and per-cluster fields at the top are
// refused.
func TestParseControllerFleetErrors(t *testing.T) {
	tests := []struct{ name, from, to, want string }{
		{"duplicate cluster", "cluster: users-db", "cluster: orders-db", `fleet.yaml:13:5: clusters[1].cluster: "orders-db" is already the cluster at clusters[0]`},
		{"duplicate owner record", "/vipd/users-db/owner", "orders-db-owner", `clusters[1].owner-parameter.name: "orders-db-owner" is already the owner record of clusters[0]`},
		{"entry's own error", "[{id: i-0a000000000000001}, {id: i-0b000000000000002}]", "[{id: i-0a000000000000001}]", "fleet.yaml:10:18: clusters[0].candidates.instances: one candidate cannot fail over"},
		{"per-cluster field at the top", "name: ctl-a\n", "name: ctl-a\ncluster: x\n", "fleet.yaml:2:1: cluster: set in each entry of clusters"},
		{"no health anywhere", "health:\n  - {tcp: \"{address}:5432\", interval: 500ms, timeout: 500ms}\n", "", "clusters[0].health: required"},
		{"typo in an entry", "preempt: true", "prempt: true", `clusters[1].prempt: unknown key (did you mean "preempt"?)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseController([]byte(strings.Replace(fleetYAML, tt.from, tt.to, 1)), "fleet.yaml")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
