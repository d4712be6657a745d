package faults

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"time"
)

// APIError is an answer the middleware gives instead of the service's: an
// AWS error code with its HTTP status and message.
type APIError struct {
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }

// Unavailable is the answer to a call held and released, or interrupted
// while it waited.
func Unavailable() *APIError {
	return &APIError{Status: http.StatusServiceUnavailable, Code: "Unavailable", Message: "The service is unavailable. Please try again shortly."}
}

// Service is what the middleware must know of one service's protocol.
// Identify, Action and WriteError are required.
type Service struct {
	// Name is recorded in each Call ("ec2").
	Name string
	// Identify names the caller ("admin", an instance ID, "unknown") and
	// returns the request to pass on, carrying what it learned in its
	// context. A non-nil error is answered at once, before any fault.
	Identify func(r *http.Request) (*http.Request, string, *APIError)
	// Principal, if set, names the signer's ARN for the call log, from
	// the request Identify returned.
	Principal func(r *http.Request) string
	// Action names the call's action ("ReplaceRoute"); an action whose
	// name says it reads (Describe*, Get*, List*, Query, Scan) is never
	// held by a late-write fault.
	Action func(r *http.Request) string
	// WriteError answers an error in the service's protocol.
	WriteError func(w http.ResponseWriter, r *http.Request, e *APIError)
	// Params returns the parameters to record; nil records none.
	Params func(r *http.Request) map[string]string
	// Check answers whether the service would accept the call (IAM,
	// DryRun, a known action), so that a late-write fault holds only calls
	// AWS would accept; a refused call runs at once and answers its own
	// error. Nil accepts every call.
	Check func(r *http.Request) error
	// Latency samples how long the service takes to answer the action;
	// nil answers at once.
	Latency func(action string) time.Duration
	// Bucket names the token bucket the call draws from; ok false (or a
	// nil Bucket) does not throttle it. An empty bucket answers 503
	// RequestLimitExceeded, as EC2 does.
	Bucket func(r *http.Request, action string) (key string, size Bucket, ok bool)
}

// Wrap returns next wrapped in the faults, throttling, latency and
// history of svc's calls.
func (in *Injector) Wrap(svc Service, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		r, caller, ierr := svc.Identify(r)
		call := Call{Time: start.UTC(), Service: svc.Name, Caller: caller, Action: svc.Action(r), Token: Token(r.UserAgent())}
		if svc.Params != nil {
			call.Params = svc.Params(r)
		}
		if svc.Principal != nil {
			call.Principal = svc.Principal(r)
		}
		rec := &recorder{ResponseWriter: w}
		late := in.serve(svc, next, rec, r, ierr, call.Action, caller)
		rec.outcome(&call)
		call.Latency = Duration(time.Since(start))
		in.log.Debug("aws call", "service", call.Service, "op", call.Action, "caller", call.Caller, "aws_code", call.Code, "duration", time.Duration(call.Latency), "token", call.Token)
		in.hist.add(call)
		if late != nil {
			in.applyLate(late, call)
		}
	})
}

// serve answers one call; under a late-write fault it returns the write to
// apply after the client gave up.
func (in *Injector) serve(svc Service, next http.Handler, w *recorder, r *http.Request, ierr *APIError, action, caller string) *lateWrite {
	if ierr != nil {
		svc.WriteError(w, r, ierr)
		return nil
	}
	f := in.take(action, caller)
	if f != nil {
		switch f.Kind {
		case Error:
			svc.WriteError(w, r, &APIError{Status: f.Status, Code: f.Code, Message: f.Message})
			return nil
		case Latency:
			if err := in.wait(r.Context(), time.Duration(f.Latency)); err != nil {
				svc.WriteError(w, r, interrupted())
				return nil
			}
		case Cutoff:
			w.cutConnection()
			return nil
		case Hang:
			in.hold(r.Context(), f)
			svc.WriteError(w, r, Unavailable())
			return nil
		}
	}
	if svc.Bucket != nil {
		if key, size, ok := svc.Bucket(r, action); ok && !in.buckets.take(key, size, time.Now()) {
			svc.WriteError(w, r, &APIError{Status: http.StatusServiceUnavailable, Code: "RequestLimitExceeded", Message: "Request limit exceeded."})
			return nil
		}
	}
	if f != nil && f.Kind == LateWrite {
		if svc.Check != nil && svc.Check(r) != nil {
			// AWS refuses it at once; only an accepted call can take
			// effect after its client gave up.
			next.ServeHTTP(w, r)
			return nil
		}
		// Keep the body to replay the call; a service that read it
		// already (EC2's form) keeps what it parsed in the request.
		body, _ := io.ReadAll(io.LimitReader(r.Body, 16<<20))
		in.hold(r.Context(), f)
		svc.WriteError(w, r, Unavailable())
		return &lateWrite{f: f, next: next, r: r, body: body}
	}
	if svc.Latency != nil {
		if err := in.wait(r.Context(), svc.Latency(action)); err != nil {
			svc.WriteError(w, r, interrupted())
			return nil
		}
	}
	next.ServeHTTP(w, r)
	return nil
}

func interrupted() *APIError {
	return &APIError{Status: http.StatusServiceUnavailable, Code: "Unavailable", Message: "The request was interrupted."}
}

// lateWrite is a mutation accepted under a late-write fault, to be applied
// after its caller's request ended.
type lateWrite struct {
	f    *fault
	next http.Handler
	r    *http.Request
	body []byte
}

// applyLate replays the call w.f.Delay after now, unless the injector
// closes or is reset first, and records its effect as a Late call. call is
// the record of the request the client saw end. It runs on its own
// goroutine, which Close waits for; none starts once Close began.
func (in *Injector) applyLate(w *lateWrite, call Call) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed {
		return
	}
	drop := in.dropLate
	in.wg.Go(func() {
		t := time.NewTimer(time.Duration(w.f.Delay))
		defer t.Stop()
		select {
		case <-t.C:
		case <-in.done:
			return
		case <-drop:
			in.log.Debug("late write dropped by a reset", "service", call.Service, "op", call.Action, "caller", call.Caller, "token", call.Token)
			return
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(w.r.Context()), 10*time.Second)
		defer cancel()
		r := w.r.Clone(ctx)
		r.Body = io.NopCloser(bytes.NewReader(w.body))
		rec := &recorder{ResponseWriter: discard{}}
		w.next.ServeHTTP(rec, r)
		call.Seq, call.Late = 0, true
		rec.outcome(&call)
		call.Latency = Duration(time.Since(call.Time))
		if !call.Applied.IsZero() {
			call.Latency = Duration(call.Applied.Sub(call.Time))
		}
		in.log.Debug("aws late write", "service", call.Service, "op", call.Action, "caller", call.Caller, "aws_code", call.Code, "token", call.Token)
		in.hist.add(call)
	})
}

// recorder passes an answer through and keeps what the history needs:
// the status, the start of an error answer (for its code), and when the
// answer began, which for a mutation is when it took effect.
type recorder struct {
	http.ResponseWriter
	status int
	at     time.Time
	errBuf []byte
	cut    bool
}

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status, r.at = status, time.Now()
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.WriteHeader(http.StatusOK)
	}
	if r.status >= 400 && len(r.errBuf) < 4096 {
		r.errBuf = append(r.errBuf, b[:min(len(b), 4096-len(r.errBuf))]...)
	}
	return r.ResponseWriter.Write(b)
}

// cutConnection drops the connection without an answer, as a client cut
// off from the endpoint sees it.
func (r *recorder) cutConnection() {
	r.cut = true
	hj, ok := r.ResponseWriter.(http.Hijacker)
	if !ok {
		http.Error(r.ResponseWriter, "", http.StatusServiceUnavailable)
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	conn.Close()
}

// outcome fills the call's status, code and, for a mutation answered
// with success, Applied.
func (r *recorder) outcome(c *Call) {
	if r.cut {
		c.Status, c.Code = 0, "ConnectionCut"
		return
	}
	c.Status, c.Code = r.status, ""
	if c.Status == 0 {
		c.Status = http.StatusOK
	}
	if c.Status >= 400 {
		c.Code = errorCode(r.errBuf)
	}
	if c.Status/100 == 2 && !isRead(c.Action) {
		c.Applied = r.at.UTC()
	}
}

// errorCode reads the code of an error answer: <Code> in EC2's and Route
// 53's XML, __type in the JSON protocols (after '#', where DynamoDB puts
// its namespace).
func errorCode(b []byte) string {
	s := string(b)
	if _, rest, ok := strings.Cut(s, "<Code>"); ok {
		code, _, _ := strings.Cut(rest, "</Code>")
		return code
	}
	if _, rest, ok := strings.Cut(s, `"__type":`); ok {
		rest = strings.TrimLeft(rest, " ")
		if rest, ok = strings.CutPrefix(rest, `"`); ok {
			code, _, _ := strings.Cut(rest, `"`)
			if i := strings.LastIndexByte(code, '#'); i >= 0 {
				code = code[i+1:]
			}
			return code
		}
	}
	return "Unknown"
}

// discard is the ResponseWriter of a late write's replay: its client is
// gone.
type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}
