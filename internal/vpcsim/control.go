package vpcsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
)

// State is a snapshot of the simulated account, as GET /_sim/state
// returns it.
type State struct {
	Region            string                  `json:"region"`
	AccountID         string                  `json:"account_id"`
	VPCs              []VPCState              `json:"vpcs"`
	Subnets           []SubnetState           `json:"subnets"`
	RouteTables       []RouteTableState       `json:"route_tables"`
	Instances         []InstanceState         `json:"instances"`
	NetworkInterfaces []NetworkInterfaceState `json:"network_interfaces"`
	ElasticIPs        []ElasticIPState        `json:"elastic_ips"`
	Volumes           []VolumeState           `json:"volumes"`
}

// ElasticIPState is one Elastic IP and its association, if any.
type ElasticIPState struct {
	ID               string `json:"id"`
	PublicIP         string `json:"public_ip"`
	AssociationID    string `json:"association_id,omitempty"`
	NetworkInterface string `json:"network_interface,omitempty"`
	PrivateIP        string `json:"private_ip,omitempty"`
	Instance         string `json:"instance,omitempty"`
}

// VolumeState is one EBS volume and its attachment, if any.
type VolumeState struct {
	ID               string `json:"id"`
	AZ               string `json:"az"`
	Size             int    `json:"size"`
	State            string `json:"state"`
	Instance         string `json:"instance,omitempty"`
	Device           string `json:"device,omitempty"`
	AttachmentStatus string `json:"attachment_status,omitempty"`
}

// VPCState is one VPC.
type VPCState struct {
	ID   string            `json:"id"`
	CIDR string            `json:"cidr"`
	Tags map[string]string `json:"tags,omitempty"`
}

// SubnetState is one subnet.
type SubnetState struct {
	ID   string            `json:"id"`
	VPC  string            `json:"vpc"`
	CIDR string            `json:"cidr"`
	AZ   string            `json:"az"`
	Tags map[string]string `json:"tags,omitempty"`
}

// RouteTableState is one route table with its routes, local route first.
type RouteTableState struct {
	ID      string            `json:"id"`
	VPC     string            `json:"vpc"`
	Main    bool              `json:"main"`
	Subnets []string          `json:"subnets,omitempty"`
	Routes  []RouteState      `json:"routes"`
	Tags    map[string]string `json:"tags,omitempty"`
}

// RouteState is one route. Target is "local", a gateway ID or the
// network interface ID; InstanceID is the instance that interface is
// attached to.
type RouteState struct {
	Destination        string `json:"destination"`
	Target             string `json:"target"`
	NetworkInterfaceID string `json:"network_interface_id,omitempty"`
	InstanceID         string `json:"instance_id,omitempty"`
	State              string `json:"state"`
	Origin             string `json:"origin"`
}

// InstanceState is one instance.
type InstanceState struct {
	ID              string            `json:"id"`
	Name            string            `json:"name,omitempty"`
	State           string            `json:"state"`
	Subnet          string            `json:"subnet"`
	AZ              string            `json:"az"`
	PrivateIP       string            `json:"private_ip"`
	SourceDestCheck bool              `json:"source_dest_check"`
	Role            string            `json:"role,omitempty"`
	ENIs            []string          `json:"enis"`
	IMDSURL         string            `json:"imds_url,omitempty"`
	IMDSDown        bool              `json:"imds_down,omitempty"`
	Tags            map[string]string `json:"tags,omitempty"`
}

// NetworkInterfaceState is one ENI.
type NetworkInterfaceState struct {
	ID               string   `json:"id"`
	Subnet           string   `json:"subnet"`
	VPC              string   `json:"vpc"`
	AZ               string   `json:"az"`
	MAC              string   `json:"mac"`
	PrivateIP        string   `json:"private_ip"`
	SecondaryIPs     []string `json:"secondary_ips,omitempty"`
	SourceDestCheck  bool     `json:"source_dest_check"`
	Status           string   `json:"status"`
	Instance         string   `json:"instance,omitempty"`
	DeviceIndex      int      `json:"device_index"`
	AttachmentStatus string   `json:"attachment_status,omitempty"`
}

// Snapshot returns a copy of the current state.
func (s *Server) Snapshot() State {
	st := s.lockState()
	defer s.unlockState()
	out := State{Region: st.region, AccountID: st.account,
		VPCs: []VPCState{}, Subnets: []SubnetState{}, RouteTables: []RouteTableState{}, Instances: []InstanceState{}, NetworkInterfaces: []NetworkInterfaceState{}}
	for _, v := range st.vpcs {
		out.VPCs = append(out.VPCs, VPCState{ID: v.id, CIDR: v.cidr.String(), Tags: cloneTags(v.tags)})
	}
	for _, sn := range st.subnets {
		out.Subnets = append(out.Subnets, SubnetState{ID: sn.id, VPC: sn.vpc, CIDR: sn.cidr.String(), AZ: sn.az, Tags: cloneTags(sn.tags)})
	}
	for _, t := range st.tables {
		x := RouteTableState{ID: t.id, VPC: t.vpc, Main: t.main, Tags: cloneTags(t.tags), Routes: []RouteState{}}
		for _, a := range t.assocs {
			x.Subnets = append(x.Subnets, a.subnet)
		}
		for _, r := range t.routes {
			xr := st.xRoute(r)
			target := xr.GatewayID
			if target == "" {
				target = xr.NetworkInterfaceID
			}
			x.Routes = append(x.Routes, RouteState{Destination: xr.DestinationCidrBlock, Target: target,
				NetworkInterfaceID: xr.NetworkInterfaceID, InstanceID: xr.InstanceID, State: xr.State, Origin: xr.Origin})
		}
		out.RouteTables = append(out.RouteTables, x)
	}
	for _, in := range st.insts {
		x := InstanceState{ID: in.id, Name: in.tags["Name"], State: in.state, Subnet: in.subnet, Role: in.role,
			ENIs: slices.Clone(in.enis), IMDSDown: in.imdsDown, Tags: cloneTags(in.tags), SourceDestCheck: true}
		if p := st.primaryENI(in); p != nil {
			x.AZ, x.PrivateIP, x.SourceDestCheck = p.az, p.ip.String(), p.sdc
		}
		x.IMDSURL = s.imds.URL(in.id)
		out.Instances = append(out.Instances, x)
	}
	for _, e := range st.enis {
		x := NetworkInterfaceState{ID: e.id, Subnet: e.subnet, VPC: e.vpc, AZ: e.az, MAC: e.mac, PrivateIP: e.ip.String(),
			SourceDestCheck: e.sdc, Status: eniStatus(e)}
		for _, a := range e.secondary {
			x.SecondaryIPs = append(x.SecondaryIPs, a.String())
		}
		if e.attach != nil {
			x.Instance, x.DeviceIndex, x.AttachmentStatus = e.attach.instance, e.attach.index, e.attach.status
		}
		out.NetworkInterfaces = append(out.NetworkInterfaces, x)
	}
	out.ElasticIPs, out.Volumes = []ElasticIPState{}, []VolumeState{}
	for _, e := range st.eips {
		a := st.xAddress(e)
		out.ElasticIPs = append(out.ElasticIPs, ElasticIPState{ID: e.id, PublicIP: a.PublicIP, AssociationID: a.AssociationID,
			NetworkInterface: a.NetworkInterfaceID, PrivateIP: a.PrivateIPAddress, Instance: a.InstanceID})
	}
	for _, v := range st.vols {
		x := VolumeState{ID: v.id, AZ: v.az, Size: v.size, State: v.state}
		if v.attach != nil {
			x.Instance, x.Device, x.AttachmentStatus = v.attach.instance, v.attach.device, v.attach.status
		}
		out.Volumes = append(out.Volumes, x)
	}
	return out
}

func cloneTags(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Reset returns the account to the world last loaded (or given to New),
// removes every fault and drops the late writes still waiting. The call history and IMDS listeners of instances
// that still exist are kept; instance credentials stay valid.
func (s *Server) Reset(ctx context.Context) error {
	s.mu.Lock()
	w := s.world
	s.mu.Unlock()
	return s.LoadWorld(ctx, w)
}

// LoadWorld replaces the account with w (which becomes what Reset returns
// to), removes every fault, drops the late writes still waiting, and opens or closes IMDS listeners so that
// each instance has one.
func (s *Server) LoadWorld(ctx context.Context, w *World) error {
	st, err := buildState(w, s.ids)
	if err != nil {
		return fmt.Errorf("load world: %w", err)
	}
	s.inj.Reset()
	s.imds.Reset()
	s.mu.Lock()
	s.world = w
	s.st = st
	started := s.started
	s.mu.Unlock()
	s.signal()
	if started {
		if err := s.syncIMDS(ctx); err != nil {
			return fmt.Errorf("load world: %w", err)
		}
	}
	return nil
}

// SetIMDS takes an instance's metadata service down (connections drop) or
// brings it back up.
func (s *Server) SetIMDS(instanceID string, up bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.st.instance(instanceID)
	if in == nil {
		return fmt.Errorf("set imds of %s: instance: %w", instanceID, ErrNotFound)
	}
	in.imdsDown = !up
	return nil
}

// SetInstanceState stops ("stopped") or starts ("running") an instance at
// once, as a crash or an operator outside the API would. A stopped
// instance keeps its interfaces; routes to it turn blackhole and its IMDS
// stops answering.
func (s *Server) SetInstanceState(instanceID, to string) error {
	if to != "running" && to != "stopped" {
		return fmt.Errorf("set state of %s: state %q is not running or stopped", instanceID, to)
	}
	err := s.mutate(func(st *state) error {
		in := st.instance(instanceID)
		if in == nil {
			return fmt.Errorf("set state of %s: instance: %w", instanceID, ErrNotFound)
		}
		in.state = to
		return nil
	})
	return err
}

// routeControl registers the /_sim/ endpoints (JSON in and out).
func (s *Server) routeControl(mux *http.ServeMux) {
	mux.HandleFunc("GET /_sim/state", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Snapshot())
	})
	mux.HandleFunc("POST /_sim/reset", func(w http.ResponseWriter, r *http.Request) {
		if err := s.Reset(r.Context()); err != nil {
			writeJSONError(w, http.StatusInternalServerError, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
	// moto's reset endpoint, so suites written for moto_server can run
	// against vpcsim unchanged: a fresh account with its default VPC.
	mux.HandleFunc("POST /moto-api/reset", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		fresh := &World{Region: s.st.region, AccountID: s.st.account, DefaultVPC: true, Source: "moto-api reset"}
		s.mu.Unlock()
		if err := s.LoadWorld(r.Context(), fresh); err != nil {
			writeJSONError(w, http.StatusInternalServerError, err)
			return
		}
		s.mu.Lock()
		s.newServices(s.st)
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("POST /_sim/world", func(w http.ResponseWriter, r *http.Request) {
		data, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
		if err != nil {
			writeJSONError(w, http.StatusBadRequest, err)
			return
		}
		name := r.URL.Query().Get("name")
		if name == "" {
			name = "posted world"
		}
		world, err := ParseWorld(data, name)
		if err != nil {
			writeJSONError(w, http.StatusBadRequest, err)
			return
		}
		if err := s.LoadWorld(r.Context(), world); err != nil {
			writeJSONError(w, http.StatusInternalServerError, err)
			return
		}
		writeJSON(w, http.StatusOK, s.Snapshot())
	})
	mux.HandleFunc("GET /_sim/world", func(w http.ResponseWriter, r *http.Request) {
		b, err := MarshalWorld(s.World())
		if err != nil {
			writeJSONError(w, http.StatusInternalServerError, err)
			return
		}
		w.Header().Set("Content-Type", "application/yaml")
		w.Write(b)
	})
	mux.HandleFunc("GET /_sim/calls", func(w http.ResponseWriter, r *http.Request) {
		since, err := parseUintParam(r, "since")
		if err != nil {
			writeJSONError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, http.StatusOK, s.Calls(since))
	})
	mux.HandleFunc("GET /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Faults())
	})
	mux.HandleFunc("POST /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		var f Fault
		if err := decodeJSON(r, &f); err != nil {
			writeJSONError(w, http.StatusBadRequest, err)
			return
		}
		id, err := s.InjectFault(f)
		if err != nil {
			writeJSONError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]int64{"id": id})
	})
	mux.HandleFunc("DELETE /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		id, err := parseUintParam(r, "id")
		if err != nil {
			writeJSONError(w, http.StatusBadRequest, err)
			return
		}
		s.ClearFaults(int64(id))
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
	mux.HandleFunc("POST /_sim/instances/{id}/imds", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			State string `json:"state"`
		}
		if err := decodeJSON(r, &body); err != nil {
			writeJSONError(w, http.StatusBadRequest, err)
			return
		}
		if body.State != "up" && body.State != "down" {
			writeJSONError(w, http.StatusBadRequest, fmt.Errorf("imds state %q is not up or down", body.State))
			return
		}
		if err := s.SetIMDS(r.PathValue("id"), body.State == "up"); err != nil {
			writeJSONError(w, statusOf(err), err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
	mux.HandleFunc("POST /_sim/instances/{id}/state", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			State string `json:"state"`
		}
		if err := decodeJSON(r, &body); err != nil {
			writeJSONError(w, http.StatusBadRequest, err)
			return
		}
		if err := s.SetInstanceState(r.PathValue("id"), body.State); err != nil {
			writeJSONError(w, statusOf(err), err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
}

func statusOf(err error) int {
	if errors.Is(err, ErrNotFound) {
		return http.StatusNotFound
	}
	return http.StatusBadRequest
}

func parseUintParam(r *http.Request, name string) (uint64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parameter %s: %w", name, err)
	}
	return n, nil
}

func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode request body: %w", err)
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func writeJSONError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}
