// Package lambdasim emulates the AWS Lambda Runtime API (version
// 2018-06-01) that a provided.al2023 function's bootstrap talks to through
// AWS_LAMBDA_RUNTIME_API, so that tests run the real vipd-lambda binary the
// way Lambda runs it: the binary asks for the next invocation, gets the
// event with its request id and deadline headers, and posts a response or
// an error. Only tests import lambdasim.
//
// # Models
//
//   - GET /2018-06-01/runtime/invocation/next: blocks until Invoke queues
//     an event, then answers it with Lambda-Runtime-Aws-Request-Id,
//     Lambda-Runtime-Deadline-Ms (Unix milliseconds),
//     Lambda-Runtime-Invoked-Function-Arn and Lambda-Runtime-Trace-Id.
//   - POST .../invocation/{id}/response and .../invocation/{id}/error
//     (202), ending the invocation; an error body is Lambda's
//     {"errorMessage", "errorType"} JSON, and Lambda-Runtime-Function-Error-Type
//     is kept. A second answer for the same id, or one for an unknown id, is
//     400 InvalidStateTransition / 404 as on Lambda.
//   - POST /2018-06-01/runtime/init/error: recorded; later invocations fail.
//   - An invocation not answered by its deadline ends as a timeout
//     (Result.TimedOut), as Lambda's "Task timed out".
//
// # Simplifies
//
// One function instance: invocations are handed out one at a time in the
// order queued. No extensions API, no response streaming, no payload size
// limits, no process freezing between invocations.
package lambdasim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FunctionARN is the ARN the emulator reports for the function.
const FunctionARN = "arn:aws:lambda:us-east-1:123456789012:function:vipd"

// Result is how one invocation ended.
type Result struct {
	RequestID string
	// Payload is the response body, or the error body for an error.
	Payload []byte
	// Error is set when the function posted an error.
	Error *ErrorResponse
	// ErrorType is the Lambda-Runtime-Function-Error-Type header of an
	// error, if any.
	ErrorType string
	// TimedOut is set when the deadline passed without an answer.
	TimedOut bool
	// Took is from hand-out to answer.
	Took time.Duration
}

// ErrorResponse is Lambda's function error document.
type ErrorResponse struct {
	ErrorMessage string   `json:"errorMessage"`
	ErrorType    string   `json:"errorType"`
	StackTrace   []string `json:"stackTrace,omitempty"`
}

type invocation struct {
	id       string
	payload  []byte
	timeout  time.Duration
	deadline time.Time // set at hand-out
	handed   time.Time
	done     chan Result   // buffered 1
	out      chan struct{} // closed at hand-out
	answered bool
}

// Server is the emulated Runtime API of one function instance. Its
// methods are safe for concurrent use.
type Server struct {
	queue chan *invocation

	mu        sync.Mutex
	inflight  map[string]*invocation
	initError *ErrorResponse
}

// New returns an emulator with nothing queued.
func New() *Server {
	return &Server{queue: make(chan *invocation, 16), inflight: map[string]*invocation{}}
}

// ErrInitFailed is returned by Invoke after the function reported an init
// error.
var ErrInitFailed = errors.New("function init failed")

// Invoke queues payload as the next event, with the function timeout, and
// waits until the function answers, the deadline passes, or ctx is done.
func (s *Server) Invoke(ctx context.Context, payload []byte, timeout time.Duration) (Result, error) {
	s.mu.Lock()
	ie := s.initError
	s.mu.Unlock()
	if ie != nil {
		return Result{}, fmt.Errorf("%w: %s: %s", ErrInitFailed, ie.ErrorType, ie.ErrorMessage)
	}
	inv := &invocation{id: newRequestID(), payload: payload, timeout: timeout, done: make(chan Result, 1), out: make(chan struct{})}
	select {
	case s.queue <- inv:
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
	select {
	case <-inv.out:
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
	s.mu.Lock()
	deadline := inv.deadline
	s.mu.Unlock()
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case r := <-inv.done:
		return r, nil
	case <-ctx.Done():
		return Result{}, ctx.Err()
	case <-t.C:
	}
	s.mu.Lock()
	if inv.answered {
		// The answer raced the deadline and won.
		s.mu.Unlock()
		return <-inv.done, nil
	}
	inv.answered = true
	delete(s.inflight, inv.id)
	s.mu.Unlock()
	return Result{RequestID: inv.id, TimedOut: true, Took: time.Since(inv.handed)}, nil
}

func newRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

const prefix = "/2018-06-01/runtime/"

// Handler returns the Runtime API.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serve) }

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	path, ok := strings.CutPrefix(r.URL.Path, prefix)
	if !ok {
		apiError(w, http.StatusNotFound, "NotFound", "unknown path")
		return
	}
	switch {
	case path == "invocation/next" && r.Method == http.MethodGet:
		s.next(w, r)
	case path == "init/error" && r.Method == http.MethodPost:
		var e ErrorResponse
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		_ = json.Unmarshal(body, &e)
		s.mu.Lock()
		s.initError = &e
		s.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	case strings.HasPrefix(path, "invocation/") && r.Method == http.MethodPost:
		rest := strings.TrimPrefix(path, "invocation/")
		id, kind, _ := strings.Cut(rest, "/")
		if kind != "response" && kind != "error" {
			apiError(w, http.StatusNotFound, "NotFound", "unknown path")
			return
		}
		s.answer(w, r, id, kind == "error")
	default:
		apiError(w, http.StatusNotFound, "NotFound", "unknown path")
	}
}

func apiError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"errorType": typ, "errorMessage": msg})
}

func (s *Server) next(w http.ResponseWriter, r *http.Request) {
	var inv *invocation
	select {
	case inv = <-s.queue:
	case <-r.Context().Done():
		return
	}
	now := time.Now()
	s.mu.Lock()
	inv.handed, inv.deadline = now, now.Add(inv.timeout)
	s.inflight[inv.id] = inv
	s.mu.Unlock()
	close(inv.out)
	h := w.Header()
	h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
	h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.deadline.UnixMilli(), 10))
	h.Set("Lambda-Runtime-Invoked-Function-Arn", FunctionARN)
	h.Set("Lambda-Runtime-Trace-Id", "Root=1-"+strconv.FormatInt(now.Unix(), 16)+"-"+strings.ReplaceAll(inv.id, "-", "")[:24]+";Sampled=0")
	h.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(inv.payload)
}

func (s *Server) answer(w http.ResponseWriter, r *http.Request, id string, isErr bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 6<<20))
	if err != nil {
		apiError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
		return
	}
	s.mu.Lock()
	inv := s.inflight[id]
	if inv == nil || inv.answered {
		s.mu.Unlock()
		if inv == nil {
			apiError(w, http.StatusNotFound, "InvalidRequestID", "unknown or finished request id "+id)
			return
		}
		apiError(w, http.StatusBadRequest, "InvalidStateTransition", "invocation "+id+" was already answered")
		return
	}
	inv.answered = true
	delete(s.inflight, id)
	took := time.Since(inv.handed)
	s.mu.Unlock()
	res := Result{RequestID: id, Payload: body, Took: took}
	if isErr {
		var e ErrorResponse
		if err := json.Unmarshal(body, &e); err != nil {
			e = ErrorResponse{ErrorType: "Unknown", ErrorMessage: string(body)}
		}
		res.Error = &e
		res.ErrorType = r.Header.Get("Lambda-Runtime-Function-Error-Type")
	}
	inv.done <- res
	w.WriteHeader(http.StatusAccepted)
}
