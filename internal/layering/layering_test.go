package layering

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/vipd/vipd/"

// Package groups, as module-relative import paths. A trailing "/..."
// matches the package and everything under it.
var (
	// simulators model AWS (and Lambda) for tests, the demo and the
	// benchmarks.
	simulators = []string{"internal/vpcsim/...", "internal/lambdasim/..."}
	// harnesses drive vipd from outside: the fault suite, benchmarks and
	// end-to-end tests.
	harnesses = []string{"internal/chaos/...", "bench/...", "test/..."}
	// simulatedCluster runs vipd on the simulator: `vipd demo` and what
	// it shares with the harnesses.
	simulatedCluster = []string{"internal/demo", "internal/simcluster/..."}
	// daemon is what runs a node or a controller.
	daemon = []string{"internal/daemon/...", "internal/node/...", "internal/controller/..."}
	// lower are the layers under the daemon: what it decides and acts with.
	// vipdCommands is all cmd/vipd may import: the daemon, and one package
	// per command that is not the daemon (status and the other admin
	// calls, check, iam-policy, demo), with what every command shares.
	vipdCommands = []string{"internal/daemon", "internal/admin", "internal/cli", "internal/config", "internal/version",
		"internal/preflight", "internal/awsapi", "internal/iampolicy", "internal/resource/kinds", "internal/demo"}
	lower = []string{"internal/election/...", "internal/health/...", "internal/hooks/...", "internal/resource/...",
		"internal/awsapi/...", "internal/notice/...", "internal/osnet/...", "internal/fence/...", "internal/stonith/...", "internal/iampolicy/...", "internal/preflight/probe/..."}
)

// isTestHelper reports the packages that exist for tests: vpcsimtest,
// electiontest, resourcetest (the <name>test convention) and testenv.
func isTestHelper(p string) bool {
	base := p[strings.LastIndex(p, "/")+1:]
	return strings.HasSuffix(base, "test") || p == "internal/testenv"
}

// rule is one thing that must never import another.
type rule struct {
	// name reads as the rule; why is the reason, printed with a violation.
	name, why string
	// applies selects the importing packages.
	applies func(p string) bool
	// banned reports whether p may not import dep (a direct import).
	banned func(p, dep string) bool
}

var rules = []rule{
	{
		name: "product packages never import the simulators",
		why: "vpcsim answers as AWS does for tests; in the daemon it would stand in for AWS on a " +
			"failover path. Only `vipd demo` (internal/demo) embeds it (design.md, style.md: only tests " +
			"and vipd demo import vpcsim)",
		applies: func(p string) bool { return isProduct(p) && !in(p, simulatedCluster) },
		banned:  func(_, dep string) bool { return in(dep, simulators) },
	},
	{
		name: "product packages never import test helpers or harnesses",
		why: "test doubles and fault injection must not ship in the binary (style.md: do not ship " +
			"test doubles in production files, as hashicorp/raft's testing.go does)",
		applies: isProduct,
		banned:  func(_, dep string) bool { return isTestHelper(dep) || in(dep, harnesses) },
	},
	{
		name: "the admin package imports nothing of vipd",
		why: "it holds the client behind `vipd status`, which must build and work apart from the " +
			"daemon it talks to, as etcd's client/v3 bans server imports (.gomodguard.yaml)",
		applies: func(p string) bool { return in(p, []string{"internal/admin/..."}) },
		banned:  func(_, dep string) bool { return true },
	},
	{
		name: "only cmd imports the daemon",
		why: "a node or controller is built and run once, at the top; a library that started one " +
			"would own goroutines and sockets nobody waits for",
		applies: func(p string) bool { return !in(p, []string{"cmd/..."}) && !in(p, daemon) },
		banned:  func(_, dep string) bool { return in(dep, daemon) },
	},
	{
		name: "cmd/vipd imports only the daemon and its other commands' packages",
		why: "the command parses flags and calls one package per command; when it wired the node " +
			"itself it imported 22 packages and ran goroutines nobody waited for (issue 18). Building " +
			"a node, a lease or a reload belongs in internal/daemon",
		applies: func(p string) bool { return p == "cmd/vipd" },
		banned:  func(_, dep string) bool { return !in(dep, vipdCommands) },
	},
	{
		name: "the node loop never imports the admin surface",
		why: "the loop keeps its state in its own types and internal/daemon shows them as `vipd status " +
			"--json`; state kept as the JSON types tied every change of the loop to the wire contract (issue 18)",
		applies: func(p string) bool { return p == "internal/node" },
		banned:  func(_, dep string) bool { return in(dep, []string{"internal/admin/..."}) },
	},
	{
		name: "only the demo and the harnesses import the simulated cluster",
		why: "simcluster starts vipd processes on vpcsim; in the daemon it would be a second, " +
			"simulated, way to run a node",
		applies: func(p string) bool { return !in(p, harnesses) && !in(p, simulatedCluster) },
		banned:  func(_, dep string) bool { return in(dep, []string{"internal/simcluster/..."}) },
	},
	{
		name: "only the harnesses import the netns cluster",
		why: "netnscluster needs root and Linux namespaces; `vipd demo` runs without either, so " +
			"it must not reach the binary",
		applies: func(p string) bool { return !in(p, harnesses) && p != "internal/simcluster/netnscluster" },
		banned:  func(_, dep string) bool { return dep == "internal/simcluster/netnscluster" },
	},
	{
		name: "the config schema imports nothing of vipd",
		why: "config is read by every command, the docs and the harnesses; it describes, it " +
			"does not act (style.md: config imports none of them)",
		applies: func(p string) bool { return in(p, []string{"internal/config/..."}) },
		banned:  func(_, dep string) bool { return true },
	},
	{
		name: "the layers under the daemon never import it, its admin surface or cmd",
		why: "dependencies point one way (style.md: cmd → node → election, health, resource, " +
			"hooks, admin → AWS clients, osnet); an import upward is a cycle in the design even " +
			"where Go would allow it",
		applies: func(p string) bool { return in(p, lower) },
		banned: func(_, dep string) bool {
			return in(dep, daemon) || in(dep, []string{"cmd/...", "internal/admin/...", "internal/preflight"})
		},
	},
	{
		name: "the simulators import nothing of vipd",
		why: "vpcsim is checked against AWS, the AWS CLI and moto; if it imported vipd's code, a " +
			"vipd bug could become simulated AWS behaviour and every test would agree with it",
		applies: func(p string) bool { return in(p, simulators) },
		// vpcsimtest may use testenv, which holds no vipd behaviour, only
		// the test's environment (it clears the caller's AWS settings).
		banned: func(p, dep string) bool {
			return !in(dep, simulators) && dep != "internal/version" && (!isTestHelper(p) || dep != "internal/testenv")
		},
	},
}

// isProduct reports the packages that ship in vipd or vipd-lambda, or
// that they are made of.
func isProduct(p string) bool {
	if !in(p, []string{"cmd/vipd/...", "cmd/vipd-lambda/...", "internal/..."}) {
		return false
	}
	return !in(p, simulators) && !in(p, harnesses) && !isTestHelper(p) && p != "internal/layering"
}

func in(p string, patterns []string) bool {
	for _, pat := range patterns {
		if base, ok := strings.CutSuffix(pat, "/..."); ok {
			if p == base || strings.HasPrefix(p, base+"/") {
				return true
			}
		} else if p == pat {
			return true
		}
	}
	return false
}

// pkg is what go list says of one package: its non-test imports.
type pkg struct {
	ImportPath string
	Imports    []string
}

// graph lists every package of the module with its imports of the
// module's packages, module-relative, for the build tags given.
func graph(t *testing.T, tags string) map[string][]string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		// The go command is how `go test` got here; without it on PATH
		// the rules cannot be checked, which must not pass quietly.
		t.Fatalf("find the go command: %v", err)
	}
	root := moduleRoot(t)
	touchSources(t, root)
	cmd := exec.Command(gobin, "list", "-e", "-tags", tags, "-json=ImportPath,Imports", "./...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list in %s: %v\n%s", root, err, stderr.String())
	}
	g := map[string][]string{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		from, ok := strings.CutPrefix(p.ImportPath, module)
		if !ok {
			continue
		}
		g[from] = []string{}
		for _, imp := range p.Imports {
			if dep, ok := strings.CutPrefix(imp, module); ok {
				g[from] = append(g[from], dep)
			}
		}
	}
	if len(g) < 20 {
		t.Fatalf("go list found %d packages of the module, want the whole tree", len(g))
	}
	return g
}

// touchSources stats every Go file of the module, so that go test's cache
// (which records the files a test looks at, not those go list reads)
// reruns the test when an import changes.
func touchSources(t *testing.T, root string) {
	t.Helper()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "bin" || d.Name() == "dist") {
			return filepath.SkipDir
		}
		if strings.HasSuffix(path, ".go") {
			_, err = os.Stat(path)
		}
		return err
	})
	if err != nil {
		t.Fatalf("list the module's sources: %v", err)
	}
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// violations applies the rules to g.
func violations(g map[string][]string) []string {
	var out []string
	for _, r := range rules {
		for _, p := range slices.Sorted(maps.Keys(g)) {
			if !r.applies(p) {
				continue
			}
			for _, dep := range g[p] {
				if r.banned(p, dep) {
					out = append(out, p+" imports "+dep+": "+r.name+", because "+r.why)
				}
			}
		}
	}
	return out
}

// TestLayering checks every rule against the module's import graph, with
// and without the build tags some packages use (the e2e tests, the Lambda
// build).
func TestLayering(t *testing.T) {
	for _, tags := range []string{"", "e2e", "lambda.norpc"} {
		for _, v := range violations(graph(t, tags)) {
			t.Errorf("tags %q: %s", tags, v)
		}
	}
}

// TestRulesCatchViolations feeds the rules imports each one forbids, so
// that a rule that can no longer fail (a renamed package, a pattern that
// matches nothing) is noticed.
func TestRulesCatchViolations(t *testing.T) {
	bad := map[string][]string{
		"internal/node":                  {"internal/vpcsim", "internal/admin"},
		"internal/resource/overlayroute": {"internal/vpcsim/vpcsimtest", "internal/node"},
		"internal/admin":                 {"internal/node"},
		"internal/health":                {"internal/controller"},
		"internal/config":                {"internal/fence"},
		"internal/election/raft":         {"internal/admin"},
		"internal/vpcsim":                {"internal/awsapi"},
		"cmd/vipd":                       {"internal/chaos", "internal/node", "internal/daemon"},
		"internal/demo":                  {"internal/vpcsim", "internal/election/electiontest", "internal/simcluster", "internal/simcluster/netnscluster"},
		"internal/simcluster":            {"internal/vpcsim", "internal/vpcsim/vpcsimtest"},
		"internal/daemon":                {"internal/simcluster"},
		"internal/preflight":             {"internal/resource/kinds"},
		"internal/resource/resourcetest": {"internal/vpcsim"},
		"internal/election/electiontest": {"internal/election"},
		"cmd/vpcsim":                     {"internal/vpcsim"},
	}
	got := violations(bad)
	want := []string{
		"internal/node imports internal/vpcsim",
		"internal/node imports internal/admin",
		"internal/resource/overlayroute imports internal/vpcsim/vpcsimtest",
		"internal/resource/overlayroute imports internal/node",
		"internal/admin imports internal/node",
		"internal/health imports internal/controller",
		"internal/config imports internal/fence",
		"internal/election/raft imports internal/admin",
		"internal/vpcsim imports internal/awsapi",
		"cmd/vipd imports internal/chaos",
		"cmd/vipd imports internal/node",
		"internal/demo imports internal/election/electiontest",
		"internal/simcluster imports internal/vpcsim/vpcsimtest",
		"internal/daemon imports internal/simcluster",
		"internal/demo imports internal/simcluster/netnscluster",
	}
	for _, w := range want {
		if !slices.ContainsFunc(got, func(v string) bool { return strings.HasPrefix(v, w+":") }) {
			t.Errorf("no rule caught %q", w)
		}
	}
	for _, ok := range []string{"internal/demo imports internal/vpcsim:", "cmd/vipd imports internal/daemon:",
		"internal/demo imports internal/simcluster:", "internal/simcluster imports internal/vpcsim:", "internal/preflight imports internal/resource/kinds:",
		"internal/resource/resourcetest imports", "internal/election/electiontest imports", "cmd/vpcsim imports"} {
		if slices.ContainsFunc(got, func(v string) bool { return strings.HasPrefix(v, ok) }) {
			t.Errorf("a rule forbids what is allowed: %s", ok)
		}
	}
}
