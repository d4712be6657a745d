package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
)

// Client talks to a daemon's admin socket.
type Client struct {
	socket string
	hc     *http.Client
}

// NewClient returns a client for the socket at path.
func NewClient(path string) *Client {
	return &Client{socket: path, hc: &http.Client{Transport: &http.Transport{
		// A connection per request: callers make a client per call, and
		// idle connections they drop would hold server slots (MaxConns).
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}}}
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body bytes.Buffer
	if in != nil {
		if err := json.NewEncoder(&body).Encode(in); err != nil {
			return err
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://vipd"+path, &body)
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("reach vipd at %s (is it running?): %w", c.socket, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var eb errorBody
		if err := json.NewDecoder(resp.Body).Decode(&eb); err != nil || eb.Error == "" {
			return fmt.Errorf("vipd answered %s", resp.Status)
		}
		return errors.New(eb.Error)
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// Status returns the daemon's status.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var st Status
	err := c.do(ctx, http.MethodGet, "/v1/status", nil, &st)
	return st, err
}

// Switchover asks for a planned move to node to ("" = any other eligible node).
func (c *Client) Switchover(ctx context.Context, to string) error {
	return c.do(ctx, http.MethodPost, "/v1/switchover", SwitchoverRequest{To: to}, nil)
}

// Maintenance holds (on) or frees the node.
func (c *Client) Maintenance(ctx context.Context, on bool) error {
	return c.do(ctx, http.MethodPost, "/v1/maintenance", MaintenanceRequest{On: on}, nil)
}

// Standby puts node ("" = the daemon's own) in standby (on) or takes it
// out, and returns once the cluster recorded it.
func (c *Client) Standby(ctx context.Context, node string, on bool) error {
	return c.do(ctx, http.MethodPost, "/v1/standby", StandbyRequest{Node: node, On: on}, nil)
}
