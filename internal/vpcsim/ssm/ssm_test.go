package ssm_test

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsssm "github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"go.uber.org/goleak"

	"github.com/vipd/vipd/internal/vpcsim/ssm"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// client returns the real SDK client pointed at a fresh simulated service.
func client(t *testing.T) (*awsssm.Client, *ssm.Service) {
	t.Helper()
	svc := ssm.New(ssm.Options{})
	srv := httptest.NewServer(svc.Handler())
	t.Cleanup(srv.Close)
	c := awsssm.New(awsssm.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("x", "x", ""),
		HTTPClient:   srv.Client(),
	})
	return c, svc
}

func put(t *testing.T, c *awsssm.Client, name, value string, typ types.ParameterType, overwrite bool) int64 {
	t.Helper()
	out, err := c.PutParameter(t.Context(), &awsssm.PutParameterInput{
		Name: aws.String(name), Value: aws.String(value), Type: typ, Overwrite: aws.Bool(overwrite),
	})
	if err != nil {
		t.Fatalf("put %s=%s: %v", name, value, err)
	}
	return out.Version
}

func TestPutGetVersions(t *testing.T) {
	c, _ := client(t)
	if v := put(t, c, "MasterDB_VIP", "i-0a", types.ParameterTypeString, false); v != 1 {
		t.Errorf("first put: version %d, want 1", v)
	}
	if v := put(t, c, "MasterDB_VIP", "i-0b", "", true); v != 2 {
		t.Errorf("overwrite: version %d, want 2", v)
	}
	// An unchanged value still makes a new version, as on AWS.
	if v := put(t, c, "MasterDB_VIP", "i-0b", types.ParameterTypeString, true); v != 3 {
		t.Errorf("same value overwrite: version %d, want 3", v)
	}
	out, err := c.GetParameter(t.Context(), &awsssm.GetParameterInput{Name: aws.String("MasterDB_VIP")})
	if err != nil {
		t.Fatal(err)
	}
	p := out.Parameter
	if aws.ToString(p.Value) != "i-0b" || p.Version != 3 || p.Type != types.ParameterTypeString {
		t.Errorf("get: value %q version %d type %s; want i-0b 3 String", aws.ToString(p.Value), p.Version, p.Type)
	}
	if want := "arn:aws:ssm:us-east-1:123456789012:parameter/MasterDB_VIP"; aws.ToString(p.ARN) != want {
		t.Errorf("ARN %q, want %q", aws.ToString(p.ARN), want)
	}
	if p.LastModifiedDate == nil || p.LastModifiedDate.IsZero() {
		t.Error("no LastModifiedDate")
	}
	old, err := c.GetParameter(t.Context(), &awsssm.GetParameterInput{Name: aws.String("MasterDB_VIP:1")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(old.Parameter.Value) != "i-0a" {
		t.Errorf("get name:1 = %q, want i-0a", aws.ToString(old.Parameter.Value))
	}
}

func TestErrors(t *testing.T) {
	c, _ := client(t)
	put(t, c, "/vipd/owner", "i-0a", types.ParameterTypeString, false)
	tests := []struct {
		name string
		call func() error
		want any
	}{
		{"a put of an existing name without overwrite is refused", func() error {
			_, err := c.PutParameter(t.Context(), &awsssm.PutParameterInput{Name: aws.String("/vipd/owner"), Value: aws.String("x"), Type: types.ParameterTypeString})
			return err
		}, new(*types.ParameterAlreadyExists)},
		{"a missing name is not found", func() error {
			_, err := c.GetParameter(t.Context(), &awsssm.GetParameterInput{Name: aws.String("/vipd/none")})
			return err
		}, new(*types.ParameterNotFound)},
		{"a missing version is not found", func() error {
			_, err := c.GetParameter(t.Context(), &awsssm.GetParameterInput{Name: aws.String("/vipd/owner:9")})
			return err
		}, new(*types.ParameterVersionNotFound)},
		{"deleting a missing name is not found", func() error {
			_, err := c.DeleteParameter(t.Context(), &awsssm.DeleteParameterInput{Name: aws.String("/vipd/none")})
			return err
		}, new(*types.ParameterNotFound)},
		{"history of a missing name is not found", func() error {
			_, err := c.GetParameterHistory(t.Context(), &awsssm.GetParameterHistoryInput{Name: aws.String("/vipd/none")})
			return err
		}, new(*types.ParameterNotFound)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.As(err, tt.want) {
				t.Errorf("error %v is not %T", err, tt.want)
			}
		})
	}
	validation := []struct{ name, param, typ string }{
		{"a new name needs a type", "/vipd/new", ""},
		{"a path must start with a slash", "vipd/owner", "String"},
		{"names with aws are reserved", "awsthing", "String"},
		{"bad characters", "/vipd/own er", "String"},
	}
	for _, tt := range validation {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.PutParameter(t.Context(), &awsssm.PutParameterInput{Name: aws.String(tt.param), Value: aws.String("v"), Type: types.ParameterType(tt.typ)})
			if err == nil || !strings.Contains(err.Error(), "ValidationException") {
				t.Errorf("put %q type %q: %v, want a ValidationException", tt.param, tt.typ, err)
			}
		})
	}
}

func TestSecureString(t *testing.T) {
	c, _ := client(t)
	put(t, c, "/vipd/secret", "hunter2", types.ParameterTypeSecureString, false)
	enc, err := c.GetParameter(t.Context(), &awsssm.GetParameterInput{Name: aws.String("/vipd/secret")})
	if err != nil {
		t.Fatal(err)
	}
	if v := aws.ToString(enc.Parameter.Value); v == "hunter2" || strings.Contains(v, "hunter2") {
		t.Errorf("without decryption the value is %q, want ciphertext", v)
	}
	dec, err := c.GetParameter(t.Context(), &awsssm.GetParameterInput{Name: aws.String("/vipd/secret"), WithDecryption: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if v := aws.ToString(dec.Parameter.Value); v != "hunter2" {
		t.Errorf("with decryption the value is %q, want hunter2", v)
	}
}

func TestHistoryAndDelete(t *testing.T) {
	c, _ := client(t)
	for i, v := range []string{"a", "b", "c", "d", "e"} {
		put(t, c, "/h", v, types.ParameterTypeString, i > 0)
	}
	var got []string
	p := awsssm.NewGetParameterHistoryPaginator(c, &awsssm.GetParameterHistoryInput{Name: aws.String("/h"), MaxResults: aws.Int32(2)})
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, h := range out.Parameters {
			got = append(got, aws.ToString(h.Value)+":"+string(rune('0'+h.Version)))
		}
	}
	if want := "a:1 b:2 c:3 d:4 e:5"; strings.Join(got, " ") != want || pages != 3 {
		t.Errorf("history %v in %d pages, want %s in 3", got, pages, want)
	}
	if _, err := c.DeleteParameter(t.Context(), &awsssm.DeleteParameterInput{Name: aws.String("/h")}); err != nil {
		t.Fatal(err)
	}
	if v := put(t, c, "/h", "again", types.ParameterTypeString, false); v != 1 {
		t.Errorf("put after delete: version %d, want 1", v)
	}
}

func TestCallsRecordToken(t *testing.T) {
	c, svc := client(t)
	_, err := c.PutParameter(t.Context(), &awsssm.PutParameterInput{
		Name: aws.String("/t"), Value: aws.String("v"), Type: types.ParameterTypeString,
	}, func(o *awsssm.Options) {
		o.APIOptions = append(o.APIOptions, awsmiddleware.AddUserAgentKeyValue("vipd-token", "42"))
	})
	if err != nil {
		t.Fatal(err)
	}
	calls := svc.Calls()
	if len(calls) != 1 || calls[0].Op != "PutParameter" || calls[0].Name != "/t" || calls[0].Token != 42 {
		t.Errorf("calls = %+v, want one PutParameter of /t with token 42", calls)
	}
}
