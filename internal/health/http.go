package health

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/vipd/vipd/internal/config"
)

// bodyLimit is how much of a response body a probe reads before closing;
// the status decides, the body is drained only to end the request cleanly.
const bodyLimit = 64 << 10

// httpChecker passes when a GET of url answers with a status in lo..hi.
type httpChecker struct {
	url     string
	lo, hi  int
	timeout time.Duration
	client  *http.Client
}

func newHTTPChecker(h *config.HTTPCheck, timeout time.Duration) (*httpChecker, error) {
	lo, hi, err := h.StatusRange()
	if err != nil {
		return nil, fmt.Errorf("http check %s: %w", h.URL, err)
	}
	if _, err := http.NewRequest(http.MethodGet, h.URL, nil); err != nil {
		return nil, fmt.Errorf("http check: %w", err)
	}
	return &httpChecker{
		url:     h.URL,
		lo:      lo,
		hi:      hi,
		timeout: timeout,
		client: &http.Client{
			Transport: &http.Transport{
				// No proxy from the environment: a probe of a local service
				// must not go through (or depend on) an HTTP_PROXY.
				Proxy:       nil,
				DialContext: (&net.Dialer{}).DialContext,
				// Each probe opens a fresh connection: it tests that the
				// service still accepts one, and leaves no idle connection
				// (and its goroutines) behind between probes.
				DisableKeepAlives: true,
			},
			// A redirect is judged by its own status, as keepalived's
			// HTTP_GET does; following it could probe another service.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}, nil
}

func (c *httpChecker) Check(ctx context.Context) error {
	probe, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(probe, http.MethodGet, c.url, nil)
	if err != nil {
		return fmt.Errorf("get %s: %w", c.url, err)
	}
	req.Header.Set("User-Agent", "vipd-health-check")
	resp, err := c.client.Do(req)
	if err != nil {
		return fmt.Errorf("get %s: %w", c.url, timeoutErr(ctx, probe, c.timeout, err))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, bodyLimit))
	_ = resp.Body.Close()
	if resp.StatusCode < c.lo || resp.StatusCode > c.hi {
		return fmt.Errorf("get %s: status %d not in %d-%d", c.url, resp.StatusCode, c.lo, c.hi)
	}
	return nil
}
