package ssm

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options tunes a Service. The zero value is usable.
type Options struct {
	// Region and AccountID appear in parameter ARNs; defaults us-east-1 and
	// 123456789012.
	Region    string
	AccountID string
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger receives one debug line per failed call; default discards.
	Logger *slog.Logger
}

// Service is the simulated Parameter Store of one account and region. All
// methods are safe for concurrent use; the parameters live behind one mutex,
// so every read sees every earlier write.
type Service struct {
	opts Options
	log  *slog.Logger

	mu     sync.Mutex
	params map[string]*parameter

	calls calls
}

// parameter is one name and its versions, oldest first.
type parameter struct {
	versions []version
}

type version struct {
	Type        string
	Value       string
	Description string
	KeyID       string
	Version     int64
	Modified    time.Time
}

// maxVersions is how many versions of a name are kept (AWS: 100).
const maxVersions = 100

// New returns an empty Service.
func New(opts Options) *Service {
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.AccountID == "" {
		opts.AccountID = "123456789012"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{opts: opts, log: opts.Logger.With("component", "ssm"), params: map[string]*parameter{}}
}

// apiError is an SSM error: its __type code and message, HTTP 400.
type apiError struct {
	code    string
	message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func validation(format string, args ...any) *apiError {
	return &apiError{"ValidationException", fmt.Sprintf(format, args...)}
}

// TargetPrefix starts the X-Amz-Target of every SSM request; a server that
// mounts several services routes on it.
const TargetPrefix = "AmazonSSM."

// maxBody bounds a request; the largest parameter value is 8 KB.
const maxBody = 1 << 20

// Handler returns the JSON 1.1 API: POST / with X-Amz-Target
// AmazonSSM.<Operation>. It can be mounted beside other services; the target
// header tells SSM requests apart.
func (s *Service) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

func (s *Service) serveHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := newRequestID()
	w.Header().Set("X-Amzn-Requestid", reqID)
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), TargetPrefix)
	out, name, err := s.dispatch(r)
	status := http.StatusOK
	code := ""
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = &apiError{"SerializationException", err.Error()}
		}
		code = ae.code
		s.log.Debug("ssm error", "op", op, "aws_code", ae.code)
		status = http.StatusBadRequest
		w.Header().Set("X-Amzn-Errortype", ae.code)
		out = map[string]string{"__type": ae.code, "message": ae.message}
	}
	s.calls.add(Call{Time: s.opts.Now(), Op: op, Name: name, Code: code, Token: tokenOf(r.UserAgent())})
	b, merr := json.Marshal(out)
	if merr != nil {
		// Only our own response types get here.
		panic(merr)
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func newRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func (s *Service) dispatch(r *http.Request) (out any, name string, err error) {
	if r.Method != http.MethodPost {
		return nil, "", &apiError{"UnknownOperationException", "Only POST is supported"}
	}
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), TargetPrefix)
	if !ok {
		return nil, "", &apiError{"UnknownOperationException", ""}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return nil, "", &apiError{"SerializationException", "read request: " + err.Error()}
	}
	var req request
	if len(body) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			return nil, "", &apiError{"SerializationException", err.Error()}
		}
	}
	switch op {
	case "PutParameter":
		out, err = s.put(&req)
	case "GetParameter":
		out, err = s.get(&req)
	case "GetParameterHistory":
		out, err = s.history(&req)
	case "DeleteParameter":
		out, err = s.delete(&req)
	default:
		return nil, req.Name, &apiError{"UnknownOperationException", ""}
	}
	return out, req.Name, err
}

// request is the union of the modelled operations' inputs.
type request struct {
	Name           string `json:"Name"`
	Value          string `json:"Value"`
	Type           string `json:"Type"`
	Description    string `json:"Description"`
	KeyID          string `json:"KeyId"`
	Overwrite      bool   `json:"Overwrite"`
	Tier           string `json:"Tier"`
	WithDecryption bool   `json:"WithDecryption"`
	MaxResults     *int   `json:"MaxResults"`
	NextToken      string `json:"NextToken"`
}

// Parameter types.
const (
	typeString       = "String"
	typeStringList   = "StringList"
	typeSecureString = "SecureString"
)

var nameRE = regexp.MustCompile(`^[a-zA-Z0-9_.\-/]+$`)

func checkName(n string) error {
	switch {
	case n == "":
		return validation("1 validation error detected: Value at 'name' failed to satisfy constraint: Member must have length greater than or equal to 1")
	case len(n) > 2048:
		return validation("1 validation error detected: Value at 'name' failed to satisfy constraint: Member must have length less than or equal to 2048")
	case !nameRE.MatchString(n):
		return validation("Parameter name: can't be prefixed with \"aws\" or \"ssm\" (case-insensitive). It must use only letters, numbers, or the following symbols: . (period), - (hyphen), _ (underscore). Special characters are not allowed. All sub-paths, if specified, must use the forward slash symbol \"/\". Valid example: /get/parameters2-/by1./path0_.")
	case strings.Contains(n, "/") && !strings.HasPrefix(n, "/"):
		return validation("Parameter name must be a fully qualified name.")
	}
	first := strings.ToLower(strings.TrimPrefix(n, "/"))
	if strings.HasPrefix(first, "aws") || strings.HasPrefix(first, "ssm") {
		return validation("No access to reserved parameter name: %s.", n)
	}
	return nil
}

func (s *Service) arn(name string) string {
	if !strings.HasPrefix(name, "/") {
		name = "/" + name
	}
	return fmt.Sprintf("arn:aws:ssm:%s:%s:parameter%s", s.opts.Region, s.opts.AccountID, name)
}

func (s *Service) put(req *request) (any, error) {
	if err := checkName(req.Name); err != nil {
		return nil, err
	}
	if req.Value == "" {
		return nil, validation("1 validation error detected: Value at 'value' failed to satisfy constraint: Member must have length greater than or equal to 1")
	}
	if len(req.Value) > 4096 {
		return nil, validation("Standard tier parameters support a maximum parameter value of 4096 characters. To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier.")
	}
	switch req.Type {
	case "", typeString, typeStringList, typeSecureString:
	default:
		return nil, validation("1 validation error detected: Value '%s' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [SecureString, StringList, String]", req.Type)
	}
	if req.Tier != "" && req.Tier != "Standard" {
		return nil, validation("vpcsim models the Standard tier only, not %s", req.Tier)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.params[req.Name]
	next := version{Type: req.Type, Value: req.Value, Description: req.Description, KeyID: req.KeyID, Version: 1, Modified: s.opts.Now()}
	if p != nil {
		if !req.Overwrite {
			return nil, &apiError{"ParameterAlreadyExists", "The parameter already exists. To overwrite this value, set the overwrite option in the request to true."}
		}
		last := p.versions[len(p.versions)-1]
		next.Version = last.Version + 1
		if next.Type == "" {
			next.Type = last.Type
		}
		if next.Description == "" {
			next.Description = last.Description
		}
	} else {
		if req.Type == "" {
			return nil, validation("A parameter type is required when you create a parameter.")
		}
		p = &parameter{}
		s.params[req.Name] = p
	}
	p.versions = append(p.versions, next)
	if over := len(p.versions) - maxVersions; over > 0 {
		p.versions = append(p.versions[:0], p.versions[over:]...)
	}
	return map[string]any{"Version": next.Version, "Tier": "Standard"}, nil
}

// wireParameter is a Parameter / ParameterHistory element.
type wireParameter struct {
	Name             string   `json:"Name"`
	Type             string   `json:"Type"`
	Value            string   `json:"Value"`
	Version          int64    `json:"Version"`
	LastModifiedDate float64  `json:"LastModifiedDate"`
	ARN              string   `json:"ARN,omitempty"`
	DataType         string   `json:"DataType"`
	Description      string   `json:"Description,omitempty"`
	KeyID            string   `json:"KeyId,omitempty"`
	LastModifiedUser string   `json:"LastModifiedUser,omitempty"`
	Tier             string   `json:"Tier,omitempty"`
	Labels           []string `json:"Labels,omitempty"`
}

// ciphertextPrefix marks the simulated KMS ciphertext of a SecureString.
const ciphertextPrefix = "AQICAHvpcsim"

func (v version) value(decrypt bool) string {
	if v.Type == typeSecureString && !decrypt {
		return ciphertextPrefix + base64.StdEncoding.EncodeToString([]byte(v.Value))
	}
	return v.Value
}

func (s *Service) wire(name string, v version, decrypt bool) wireParameter {
	keyID := v.KeyID
	if v.Type == typeSecureString && keyID == "" {
		keyID = "alias/aws/ssm"
	}
	return wireParameter{
		Name: name, Type: v.Type, Value: v.value(decrypt), Version: v.Version,
		LastModifiedDate: float64(v.Modified.UnixMilli()) / 1000,
		DataType:         "text",
		Description:      v.Description,
		KeyID:            keyID,
	}
}

func notFound() error { return &apiError{"ParameterNotFound", ""} }

func (s *Service) get(req *request) (any, error) {
	name, sel, hasSel := strings.Cut(req.Name, ":")
	if w, ok := s.publicParameter(name); ok && !hasSel {
		return map[string]any{"Parameter": w}, nil
	}
	if err := checkName(name); err != nil {
		return nil, err
	}
	var want int64
	if hasSel {
		n, err := strconv.ParseInt(sel, 10, 64)
		if err != nil || n < 1 {
			return nil, validation("Parameter selector %q is not a version; labels are not modelled", sel)
		}
		want = n
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.params[name]
	if p == nil {
		return nil, notFound()
	}
	v := p.versions[len(p.versions)-1]
	if hasSel {
		found := false
		for _, x := range p.versions {
			if x.Version == want {
				v, found = x, true
			}
		}
		if !found {
			return nil, &apiError{"ParameterVersionNotFound", fmt.Sprintf("Systems Manager could not find version %d of %s. Verify the version and try again.", want, name)}
		}
	}
	w := s.wire(name, v, req.WithDecryption)
	w.ARN = s.arn(name)
	if hasSel {
		w.Name = req.Name
	}
	// GetParameter's Parameter carries no KeyId or Description.
	w.KeyID, w.Description = "", ""
	return map[string]any{"Parameter": w}, nil
}

func (s *Service) history(req *request) (any, error) {
	if err := checkName(req.Name); err != nil {
		return nil, err
	}
	limit := 50
	if req.MaxResults != nil {
		if *req.MaxResults < 1 || *req.MaxResults > 50 {
			return nil, validation("1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 50", *req.MaxResults)
		}
		limit = *req.MaxResults
	}
	start := 0
	if req.NextToken != "" {
		n, err := strconv.Atoi(req.NextToken)
		if err != nil || n < 0 {
			return nil, &apiError{"InvalidNextToken", "The specified token isn't valid."}
		}
		start = n
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.params[req.Name]
	if p == nil {
		return nil, notFound()
	}
	if start > len(p.versions) {
		return nil, &apiError{"InvalidNextToken", "The specified token isn't valid."}
	}
	end := min(start+limit, len(p.versions))
	out := make([]wireParameter, 0, end-start)
	for _, v := range p.versions[start:end] {
		w := s.wire(req.Name, v, req.WithDecryption)
		w.LastModifiedUser = fmt.Sprintf("arn:aws:iam::%s:user/vpcsim", s.opts.AccountID)
		w.Tier = "Standard"
		out = append(out, w)
	}
	resp := map[string]any{"Parameters": out}
	if end < len(p.versions) {
		resp["NextToken"] = strconv.Itoa(end)
	}
	return resp, nil
}

func (s *Service) delete(req *request) (any, error) {
	if err := checkName(req.Name); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.params[req.Name] == nil {
		return nil, notFound()
	}
	delete(s.params, req.Name)
	return map[string]any{}, nil
}

// Call is one request as the service saw it.
type Call struct {
	Time time.Time
	// Op is the operation ("PutParameter").
	Op string
	// Name is the parameter name of the request.
	Name string
	// Code is the error code, "" on success.
	Code string
	// Token is the fencing token from the caller's User-Agent
	// (vipd-token/N); 0 when absent.
	Token uint64
}

var tokenRE = regexp.MustCompile(`vipd-token/(\d+)`)

func tokenOf(ua string) uint64 {
	m := tokenRE.FindStringSubmatch(ua)
	if m == nil {
		return 0
	}
	n, _ := strconv.ParseUint(m[1], 10, 64)
	return n
}

// calls is the bounded call log, with its own lock.
type calls struct {
	mu  sync.Mutex
	all []Call
}

// callLimit bounds the call log; oldest calls are dropped first.
const callLimit = 10000

func (c *calls) add(x Call) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.all) >= callLimit {
		c.all = append(c.all[:0], c.all[1:]...)
	}
	c.all = append(c.all, x)
}

// Calls returns a copy of the recorded calls, oldest first.
func (s *Service) Calls() []Call {
	s.calls.mu.Lock()
	defer s.calls.mu.Unlock()
	return append([]Call(nil), s.calls.all...)
}
