// Package vpcsimtest starts a vpcsim server per test, as httptest does for
// HTTP servers, and builds AWS SDK configurations pointed at it: as the
// admin, or as a simulated instance whose credentials come from that
// instance's IMDS.
//
// Only tests import vpcsimtest.
package vpcsimtest

import (
	"io"
	"log/slog"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"

	"github.com/vipd/vipd/internal/testenv"
	"github.com/vipd/vipd/internal/vpcsim"
)

// NewServer starts a server for w on 127.0.0.1:0 (and an IMDS listener per
// instance) and closes it when the test ends. Latency and throttling are
// off.
func NewServer(t testing.TB, w *vpcsim.World) *vpcsim.Server {
	t.Helper()
	return NewServerOptions(t, w, vpcsim.Options{})
}

// NewServerOptions is NewServer with options (timing, throttling); a nil
// Logger logs warnings to the test's output.
//
// Both clear the caller's AWS configuration from the environment for the
// rest of the test (testenv.AWS), so that the SDK clients the test builds,
// in the process or in children inheriting its environment, talk to this
// server with what the test sets; the test cannot be parallel.
func NewServerOptions(t testing.TB, w *vpcsim.World, opts vpcsim.Options) *vpcsim.Server {
	t.Helper()
	testenv.AWS(t)
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	s, err := vpcsim.New(w, opts)
	if err != nil {
		t.Fatalf("vpcsimtest: %v", err)
	}
	if err := s.Start(t.Context(), "127.0.0.1:0"); err != nil {
		t.Fatalf("vpcsimtest: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("vpcsimtest: %v", err)
		}
	})
	return s
}

// ParseWorld parses a world file given inline, failing the test on error.
func ParseWorld(t testing.TB, yaml string) *vpcsim.World {
	t.Helper()
	w, err := vpcsim.ParseWorld([]byte(yaml), t.Name()+".yaml")
	if err != nil {
		t.Fatalf("vpcsimtest: %v", err)
	}
	return w
}

// AdminConfig returns an SDK configuration that signs with the server's
// admin key and sends every call to the server. Shared config files and the
// real IMDS are never consulted, and the caller's AWS environment is
// cleared for the rest of the test (testenv.AWS).
func AdminConfig(t testing.TB, s *vpcsim.Server, optFns ...func(*config.LoadOptions) error) aws.Config {
	t.Helper()
	testenv.AWS(t)
	ak, sk := s.AdminKey()
	return load(t, s, append([]func(*config.LoadOptions) error{
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(ak, sk, "")),
		config.WithEC2IMDSClientEnableState(imds.ClientDisabled),
	}, optFns...))
}

// InstanceConfig returns an SDK configuration for code running on the
// instance: credentials come from the EC2 role provider reading the
// instance's simulated IMDS, and calls go to the server.
//
// Like AdminConfig and NewServer, it clears the caller's AWS environment
// for the rest of the test first (testenv.AWS): a server the test did not
// make with NewServer, such as a simulated cluster's, leaves it as it was,
// and an AWS_PROFILE naming no profile or AWS_EC2_METADATA_DISABLED would
// break the configuration.
func InstanceConfig(t testing.TB, s *vpcsim.Server, instanceID string, optFns ...func(*config.LoadOptions) error) aws.Config {
	t.Helper()
	testenv.AWS(t)
	url := s.IMDSURL(instanceID)
	if url == "" {
		t.Fatalf("vpcsimtest: instance %s has no IMDS endpoint", instanceID)
	}
	provider := ec2rolecreds.New(func(o *ec2rolecreds.Options) {
		o.Client = imds.New(imds.Options{Endpoint: url})
	})
	return load(t, s, append([]func(*config.LoadOptions) error{
		config.WithCredentialsProvider(aws.NewCredentialsCache(provider)),
		config.WithEC2IMDSEndpoint(url),
	}, optFns...))
}

func load(t testing.TB, s *vpcsim.Server, opts []func(*config.LoadOptions) error) aws.Config {
	t.Helper()
	base := []func(*config.LoadOptions) error{
		config.WithRegion(s.Region()),
		config.WithBaseEndpoint(s.URL()),
		config.WithSharedConfigFiles([]string{}),
		config.WithSharedCredentialsFiles([]string{}),
	}
	cfg, err := config.LoadDefaultConfig(t.Context(), append(base, opts...)...)
	if err != nil {
		t.Fatalf("vpcsimtest: load AWS config: %v", err)
	}
	if cfg.HTTPClient == nil {
		// LoadDefaultConfig builds no client unless the environment asks
		// for one (AWS_CA_BUNDLE); wrap the default the services would use.
		cfg.HTTPClient = awshttp.NewBuildableClient()
	}
	cfg.HTTPClient = BodyRaceFix(cfg.HTTPClient)
	return cfg
}

// BodyRaceFix wraps an SDK HTTP client to avoid a race between the SDK and
// net/http that a fast server exposes: smithy-go closes the request body as
// soon as the response headers arrive, and its closed body's WriteTo answers
// io.EOF as an error; if net/http is still checking the body for extra
// bytes (io.Copy to io.Discard, which uses WriteTo), it takes that for a
// failed write and closes the connection, so reading the response fails
// with "use of closed network connection". AWS answers too slowly for this
// to happen; vpcsim on loopback answers within microseconds. Hiding WriteTo
// makes the closed body read as a plain EOF.
func BodyRaceFix(c aws.HTTPClient) aws.HTTPClient { return bodyRaceFix{c} }

type bodyRaceFix struct{ c aws.HTTPClient }

func (f bodyRaceFix) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		r = r.Clone(r.Context())
		r.Body = readCloserOnly{r.Body}
	}
	return f.c.Do(r)
}

// readCloserOnly exposes only Read and Close of its body.
type readCloserOnly struct{ io.ReadCloser }
