// Package simclient is a Go client for vpcsim's control endpoint (/_sim/),
// so that tests and the demo can reset the simulator, load worlds, inject
// faults and read the call history of a vpcsim running in another process.
//
// It shares its types with package vpcsim. Only tests, the demo and tools
// import simclient.
package simclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/vipd/vipd/internal/vpcsim"
)

// Client talks to one vpcsim server. Its methods are safe for concurrent
// use; each call is bounded by its ctx.
type Client struct {
	base string
	hc   *http.Client
}

// New returns a client for the server at baseURL (vpcsim's URL, e.g.
// http://127.0.0.1:4566). A nil hc uses http.DefaultClient.
func New(baseURL string, hc *http.Client) *Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), hc: hc}
}

// State returns the server's current state.
func (c *Client) State(ctx context.Context) (vpcsim.State, error) {
	var st vpcsim.State
	err := c.do(ctx, http.MethodGet, "/_sim/state", nil, "", &st)
	return st, err
}

// Reset returns the server to its last loaded world and clears faults.
func (c *Client) Reset(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/_sim/reset", nil, "", nil)
}

// LoadWorld replaces the server's world with a world file's content and
// returns the resulting state. name appears in error positions.
func (c *Client) LoadWorld(ctx context.Context, yaml []byte, name string) (vpcsim.State, error) {
	var st vpcsim.State
	err := c.do(ctx, http.MethodPost, "/_sim/world?name="+url.QueryEscape(name), bytes.NewReader(yaml), "application/yaml", &st)
	return st, err
}

// World returns the server's current state as a world file (YAML) that
// LoadWorld or vpcsim --world accept.
func (c *Client) World(ctx context.Context) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/_sim/world", nil)
	if err != nil {
		return nil, fmt.Errorf("get world: %w", err)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("get world: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("get world: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("get world: %s: %s", resp.Status, b)
	}
	return b, nil
}

// Calls returns the calls recorded after sequence number since.
func (c *Client) Calls(ctx context.Context, since uint64) ([]vpcsim.Call, error) {
	var calls []vpcsim.Call
	err := c.do(ctx, http.MethodGet, "/_sim/calls?since="+strconv.FormatUint(since, 10), nil, "", &calls)
	return calls, err
}

// InjectFault adds a fault and returns its ID.
func (c *Client) InjectFault(ctx context.Context, f vpcsim.Fault) (int64, error) {
	body, err := json.Marshal(f)
	if err != nil {
		return 0, fmt.Errorf("inject fault: %w", err)
	}
	var out struct {
		ID int64 `json:"id"`
	}
	err = c.do(ctx, http.MethodPost, "/_sim/faults", bytes.NewReader(body), "application/json", &out)
	return out.ID, err
}

// Faults lists the active faults.
func (c *Client) Faults(ctx context.Context) ([]vpcsim.Fault, error) {
	var fs []vpcsim.Fault
	err := c.do(ctx, http.MethodGet, "/_sim/faults", nil, "", &fs)
	return fs, err
}

// ClearFaults removes the fault with id, or every fault when id is 0.
func (c *Client) ClearFaults(ctx context.Context, id int64) error {
	return c.do(ctx, http.MethodDelete, "/_sim/faults?id="+strconv.FormatInt(id, 10), nil, "", nil)
}

// SetIMDS brings an instance's metadata service up or down.
func (c *Client) SetIMDS(ctx context.Context, instanceID string, up bool) error {
	state := "down"
	if up {
		state = "up"
	}
	return c.postJSON(ctx, "/_sim/instances/"+url.PathEscape(instanceID)+"/imds", map[string]string{"state": state})
}

// SetInstanceState sets an instance "running" or "stopped" at once.
func (c *Client) SetInstanceState(ctx context.Context, instanceID, state string) error {
	return c.postJSON(ctx, "/_sim/instances/"+url.PathEscape(instanceID)+"/state", map[string]string{"state": state})
}

// AnnounceEvent makes an instance's metadata announce ev (a Spot
// interruption, rebalance recommendation, scheduled maintenance or Auto
// Scaling lifecycle state).
func (c *Client) AnnounceEvent(ctx context.Context, instanceID string, ev vpcsim.InstanceEvent) error {
	return c.postJSON(ctx, "/_sim/instances/"+url.PathEscape(instanceID)+"/events", ev)
}

// ClearEvents withdraws an instance's events of kind ("" = all).
func (c *Client) ClearEvents(ctx context.Context, instanceID, kind string) error {
	return c.do(ctx, http.MethodDelete, "/_sim/instances/"+url.PathEscape(instanceID)+"/events?kind="+url.QueryEscape(kind), nil, "", nil)
}

func (c *Client) postJSON(ctx context.Context, path string, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("post %s: %w", path, err)
	}
	return c.do(ctx, http.MethodPost, path, bytes.NewReader(body), "application/json", nil)
}

// do sends one request; a non-2xx answer becomes an error carrying the
// server's message.
func (c *Client) do(ctx context.Context, method, path string, body io.Reader, ctype string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, e.Error)
		}
		return fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}
