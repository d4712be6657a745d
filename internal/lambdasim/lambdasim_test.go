package lambdasim_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vipd/vipd/internal/lambdasim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// runtime plays the function's side of the protocol with plain HTTP.
type runtime struct {
	t    *testing.T
	base string
}

func (r runtime) next() (id string, deadline time.Time, body string) {
	r.t.Helper()
	resp, err := http.Get(r.base + "/2018-06-01/runtime/invocation/next")
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	ms, err := strconv.ParseInt(resp.Header.Get("Lambda-Runtime-Deadline-Ms"), 10, 64)
	if err != nil || resp.Header.Get("Lambda-Runtime-Invoked-Function-Arn") == "" || resp.Header.Get("Lambda-Runtime-Trace-Id") == "" {
		r.t.Fatalf("next: headers %v", resp.Header)
	}
	return resp.Header.Get("Lambda-Runtime-Aws-Request-Id"), time.UnixMilli(ms), string(b)
}

func (r runtime) post(id, kind, body string) int {
	r.t.Helper()
	resp, err := http.Post(r.base+"/2018-06-01/runtime/invocation/"+id+"/"+kind, "application/json", strings.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestInvocationLifecycle(t *testing.T) {
	s := lambdasim.New()
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	rt := runtime{t, srv.URL}
	type out struct {
		r   lambdasim.Result
		err error
	}
	invoke := func(payload string, timeout time.Duration) chan out {
		ch := make(chan out, 1)
		go func() {
			r, err := s.Invoke(context.WithoutCancel(t.Context()), []byte(payload), timeout)
			ch <- out{r, err}
		}()
		return ch
	}

	t.Run("a response ends the invocation", func(t *testing.T) {
		ch := invoke(`{"a":1}`, 5*time.Second)
		id, deadline, body := rt.next()
		if body != `{"a":1}` || time.Until(deadline) < 4*time.Second {
			t.Errorf("next: body %s deadline in %s", body, time.Until(deadline))
		}
		if code := rt.post(id, "response", `"ok"`); code != http.StatusAccepted {
			t.Errorf("response: %d", code)
		}
		if code := rt.post(id, "response", `"again"`); code == http.StatusAccepted {
			t.Error("a second answer was accepted")
		}
		o := <-ch
		if o.err != nil || string(o.r.Payload) != `"ok"` || o.r.Error != nil || o.r.RequestID != id {
			t.Errorf("result %+v, %v", o.r, o.err)
		}
	})
	t.Run("an error is Lambda's error document", func(t *testing.T) {
		ch := invoke(`{}`, 5*time.Second)
		id, _, _ := rt.next()
		rt.post(id, "error", `{"errorMessage":"bad event","errorType":"errorString"}`)
		o := <-ch
		if o.r.Error == nil || o.r.Error.ErrorMessage != "bad event" {
			t.Errorf("result %+v", o.r)
		}
	})
	t.Run("no answer by the deadline is a timeout", func(t *testing.T) {
		ch := invoke(`{}`, 100*time.Millisecond)
		id, _, _ := rt.next()
		o := <-ch
		if !o.r.TimedOut {
			t.Errorf("result %+v, want a timeout", o.r)
		}
		if code := rt.post(id, "response", `"late"`); code == http.StatusAccepted {
			t.Error("a late answer was accepted")
		}
	})
}
