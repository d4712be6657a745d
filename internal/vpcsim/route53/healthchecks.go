package route53

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/netip"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Health checks (CreateHealthCheck, GetHealthCheck, ListHealthChecks,
// UpdateHealthCheck, DeleteHealthCheck, GetHealthCheckCount), tags
// (ChangeTagsForResource, ListTagsForResource(s)) and GetDNSSEC. Health
// checks are kept and validated as the API reference's HealthCheckConfig
// states; vpcsim does not probe their endpoints (no checker reaches the
// simulated network), so they never change a DNS answer.

// operationMore names the operations of this file; "" for none.
func operationMore(method string, parts []string) string {
	get, post, del := method == http.MethodGet, method == http.MethodPost, method == http.MethodDelete
	n := len(parts)
	switch {
	case n == 1 && parts[0] == "healthcheck" && post:
		return "CreateHealthCheck"
	case n == 1 && parts[0] == "healthcheck" && get:
		return "ListHealthChecks"
	case n == 1 && parts[0] == "healthcheckcount" && get:
		return "GetHealthCheckCount"
	case n == 2 && parts[0] == "healthcheck" && get:
		return "GetHealthCheck"
	case n == 2 && parts[0] == "healthcheck" && post:
		return "UpdateHealthCheck"
	case n == 2 && parts[0] == "healthcheck" && del:
		return "DeleteHealthCheck"
	case n == 3 && parts[0] == "hostedzone" && parts[2] == "dnssec" && get:
		return "GetDNSSEC"
	case n == 2 && parts[0] == "tags" && post:
		return "ListTagsForResources"
	case n >= 3 && parts[0] == "tags" && post:
		return "ChangeTagsForResource"
	case n >= 3 && parts[0] == "tags" && get:
		return "ListTagsForResource"
	}
	return ""
}

// routeMore serves the operations of this file.
func (s *Service) routeMore(w http.ResponseWriter, r *http.Request, op string, parts []string) (any, error) {
	switch op {
	case "CreateHealthCheck":
		var req createHealthCheckRequest
		if err := decode(r, &req); err != nil {
			return nil, err
		}
		resp, created, err := s.createHealthCheck(&req)
		if err != nil {
			return nil, err
		}
		w.Header().Set("Location", "https://route53.amazonaws.com/2013-04-01/healthcheck/"+resp.HealthCheck.ID)
		status := http.StatusOK
		if created {
			status = http.StatusCreated
		}
		writeXML(w, status, resp)
		return nil, nil
	case "ListHealthChecks":
		return s.listHealthChecks(r)
	case "GetHealthCheckCount":
		s.mu.Lock()
		defer s.mu.Unlock()
		return &getHealthCheckCountResponse{Xmlns: xmlns, Count: len(s.checkOrder)}, nil
	case "GetHealthCheck":
		s.mu.Lock()
		defer s.mu.Unlock()
		hc, err := s.healthCheckLocked(parts[1])
		if err != nil {
			return nil, err
		}
		return &getHealthCheckResponse{Xmlns: xmlns, HealthCheck: hc.wire()}, nil
	case "UpdateHealthCheck":
		var req updateHealthCheckRequest
		if err := decode(r, &req); err != nil {
			return nil, err
		}
		return s.updateHealthCheck(parts[1], &req)
	case "DeleteHealthCheck":
		s.mu.Lock()
		defer s.mu.Unlock()
		hc, err := s.healthCheckLocked(parts[1])
		if err != nil {
			return nil, err
		}
		s.checkOrder = slices.DeleteFunc(s.checkOrder, func(x *healthCheck) bool { return x == hc })
		delete(s.checks, hc.id)
		delete(s.tags, "healthcheck/"+hc.id)
		return &deleteHealthCheckResponse{Xmlns: xmlns}, nil
	case "GetDNSSEC":
		s.mu.Lock()
		defer s.mu.Unlock()
		if _, err := s.zoneLocked(zoneID(parts[1])); err != nil {
			return nil, err
		}
		// A zone is not signed until EnableHostedZoneDNSSEC, which vpcsim
		// does not model (API reference DNSSECStatus, ServeSignature:
		// "NOT_SIGNING: DNSSEC signing is not enabled for the hosted zone").
		return &getDNSSECResponse{Xmlns: xmlns, Status: wireDNSSECStatus{ServeSignature: "NOT_SIGNING"}}, nil
	case "ListTagsForResources":
		var req listTagsForResourcesRequest
		if err := decode(r, &req); err != nil {
			return nil, err
		}
		return s.listTagsForResources(parts[1], req.ResourceIDs)
	case "ChangeTagsForResource":
		var req changeTagsRequest
		if err := decode(r, &req); err != nil {
			return nil, err
		}
		return s.changeTags(parts[1], strings.Join(parts[2:], "/"), &req)
	case "ListTagsForResource":
		return s.listTagsForResource(parts[1], strings.Join(parts[2:], "/"))
	}
	return nil, errorf(http.StatusNotFound, "UnknownOperationException", "Unknown operation %s %s", r.Method, r.URL.Path)
}

// wireHealthCheckConfig is HealthCheckConfig; optional members are
// pointers so that defaults can be told from values.
type wireHealthCheckConfig struct {
	IPAddress                    string        `xml:"IPAddress,omitempty"`
	Port                         *int          `xml:"Port,omitempty"`
	Type                         string        `xml:"Type"`
	ResourcePath                 string        `xml:"ResourcePath,omitempty"`
	FullyQualifiedDomainName     string        `xml:"FullyQualifiedDomainName,omitempty"`
	SearchString                 string        `xml:"SearchString,omitempty"`
	RequestInterval              *int          `xml:"RequestInterval,omitempty"`
	FailureThreshold             *int          `xml:"FailureThreshold,omitempty"`
	MeasureLatency               *bool         `xml:"MeasureLatency,omitempty"`
	Inverted                     *bool         `xml:"Inverted,omitempty"`
	Disabled                     *bool         `xml:"Disabled,omitempty"`
	HealthThreshold              *int          `xml:"HealthThreshold,omitempty"`
	ChildHealthChecks            *[]string     `xml:"ChildHealthChecks>ChildHealthCheck,omitempty"`
	EnableSNI                    *bool         `xml:"EnableSNI,omitempty"`
	Regions                      *[]string     `xml:"Regions>Region,omitempty"`
	AlarmIdentifier              *wireAlarmRef `xml:"AlarmIdentifier,omitempty"`
	InsufficientDataHealthStatus string        `xml:"InsufficientDataHealthStatus,omitempty"`
	RoutingControlArn            string        `xml:"RoutingControlArn,omitempty"`
}

type wireAlarmRef struct {
	Region string `xml:"Region"`
	Name   string `xml:"Name"`
}

type createHealthCheckRequest struct {
	XMLName         xml.Name              `xml:"CreateHealthCheckRequest"`
	CallerReference string                `xml:"CallerReference"`
	Config          wireHealthCheckConfig `xml:"HealthCheckConfig"`
}

type updateHealthCheckRequest struct {
	XMLName xml.Name `xml:"UpdateHealthCheckRequest"`
	Version *int64   `xml:"HealthCheckVersion"`
	wireHealthCheckConfig
	ResetElements []string `xml:"ResetElements>ResettableElementName"`
}

type wireHealthCheck struct {
	ID              string                `xml:"Id"`
	CallerReference string                `xml:"CallerReference"`
	Config          wireHealthCheckConfig `xml:"HealthCheckConfig"`
	Version         int64                 `xml:"HealthCheckVersion"`
}

type createHealthCheckResponse struct {
	XMLName     xml.Name        `xml:"CreateHealthCheckResponse"`
	Xmlns       string          `xml:"xmlns,attr"`
	HealthCheck wireHealthCheck `xml:"HealthCheck"`
}

type getHealthCheckResponse struct {
	XMLName     xml.Name        `xml:"GetHealthCheckResponse"`
	Xmlns       string          `xml:"xmlns,attr"`
	HealthCheck wireHealthCheck `xml:"HealthCheck"`
}

type updateHealthCheckResponse struct {
	XMLName     xml.Name        `xml:"UpdateHealthCheckResponse"`
	Xmlns       string          `xml:"xmlns,attr"`
	HealthCheck wireHealthCheck `xml:"HealthCheck"`
}

type deleteHealthCheckResponse struct {
	XMLName xml.Name `xml:"DeleteHealthCheckResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
}

type getHealthCheckCountResponse struct {
	XMLName xml.Name `xml:"GetHealthCheckCountResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Count   int      `xml:"HealthCheckCount"`
}

type listHealthChecksResponse struct {
	XMLName      xml.Name          `xml:"ListHealthChecksResponse"`
	Xmlns        string            `xml:"xmlns,attr"`
	HealthChecks []wireHealthCheck `xml:"HealthChecks>HealthCheck"`
	Marker       string            `xml:"Marker"`
	IsTruncated  bool              `xml:"IsTruncated"`
	NextMarker   string            `xml:"NextMarker,omitempty"`
	MaxItems     int               `xml:"MaxItems"`
}

type wireDNSSECStatus struct {
	ServeSignature string `xml:"ServeSignature"`
}

type getDNSSECResponse struct {
	XMLName        xml.Name         `xml:"GetDNSSECResponse"`
	Xmlns          string           `xml:"xmlns,attr"`
	Status         wireDNSSECStatus `xml:"Status"`
	KeySigningKeys []struct{}       `xml:"KeySigningKeys>KeySigningKey"`
}

type healthCheck struct {
	id, callerRef string
	config        wireHealthCheckConfig
	version       int64
}

func (h *healthCheck) wire() wireHealthCheck {
	return wireHealthCheck{ID: h.id, CallerReference: h.callerRef, Config: h.config, Version: h.version}
}

func noSuchHealthCheck(id string) *apiError {
	return errorf(http.StatusNotFound, "NoSuchHealthCheck", "A health check with id %s does not exist.", id)
}

func (s *Service) healthCheckLocked(id string) (*healthCheck, error) {
	if hc := s.checks[id]; hc != nil {
		return hc, nil
	}
	return nil, noSuchHealthCheck(id)
}

// constraint is Route 53's answer to a member outside its schema's
// range, as for the TTL.
func constraint(v, at, rule string) error {
	return invalidInput("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must %s", v, at, rule)
}

func checkRange(p *int, at string, lo, hi int) error {
	if p == nil {
		return nil
	}
	if *p < lo {
		return constraint(strconv.Itoa(*p), at, fmt.Sprintf("have value greater than or equal to %d", lo))
	}
	if *p > hi {
		return constraint(strconv.Itoa(*p), at, fmt.Sprintf("have value less than or equal to %d", hi))
	}
	return nil
}

// unhealthCheckable are the IPv4 ranges Route 53 does not check: "local,
// private, non-routable, or multicast ranges" (API reference
// HealthCheckConfig, IPAddress: "see RFC 5735, Special Use IPv4
// Addresses and RFC 6598, IANA-Reserved IPv4 Prefix for Shared Address
// Space"), and for IPv6 RFC 5156's special-use addresses.
var unhealthCheckable = func() []netip.Prefix {
	var out []netip.Prefix
	for _, p := range []string{
		"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
		"192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
		"198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
		"::/128", "::1/128", "fc00::/7", "fe80::/10", "ff00::/8", "2001:db8::/32",
	} {
		out = append(out, netip.MustParsePrefix(p))
	}
	return out
}()

// validate checks a configuration as HealthCheckConfig states it and
// fills in the documented defaults: RequestInterval 30, FailureThreshold
// 3, Port 80 for HTTP and 443 for HTTPS checks, EnableSNI for HTTPS.
func (c *wireHealthCheckConfig) validate() error {
	switch c.Type {
	case "HTTP", "HTTPS", "HTTP_STR_MATCH", "HTTPS_STR_MATCH", "TCP", "CALCULATED", "CLOUDWATCH_METRIC", "RECOVERY_CONTROL":
	case "":
		return invalidInput("Invalid request: Missing field 'Type'")
	default:
		return enumError(c.Type, "HTTP, HTTPS, HTTP_STR_MATCH, HTTPS_STR_MATCH, TCP, CALCULATED, CLOUDWATCH_METRIC, RECOVERY_CONTROL")
	}
	if err := checkRange(c.Port, "healthCheckConfig.port", 1, 65535); err != nil {
		return err
	}
	if err := checkRange(c.RequestInterval, "healthCheckConfig.requestInterval", 10, 30); err != nil {
		return err
	}
	if c.RequestInterval != nil && *c.RequestInterval != 10 && *c.RequestInterval != 30 {
		return invalidInput("Invalid request: RequestInterval must be 10 or 30 seconds")
	}
	if err := checkRange(c.FailureThreshold, "healthCheckConfig.failureThreshold", 1, 10); err != nil {
		return err
	}
	if err := checkRange(c.HealthThreshold, "healthCheckConfig.healthThreshold", 0, 256); err != nil {
		return err
	}
	endpoint := c.Type != "CALCULATED" && c.Type != "CLOUDWATCH_METRIC" && c.Type != "RECOVERY_CONTROL"
	if c.IPAddress != "" {
		a, err := netip.ParseAddr(c.IPAddress)
		if err != nil {
			return constraint(c.IPAddress, "healthCheckConfig.iPAddress", "satisfy regular expression pattern: an IPv4 or IPv6 address")
		}
		for _, p := range unhealthCheckable {
			if p.Contains(a.Unmap()) {
				return invalidInput("Invalid request: IP address '%s' is in a local, private, non-routable, or multicast range, which Route 53 cannot check", c.IPAddress)
			}
		}
	}
	switch {
	case endpoint && c.IPAddress == "" && c.FullyQualifiedDomainName == "":
		return invalidInput("Invalid request: a health check of type %s needs an IPAddress or a FullyQualifiedDomainName", c.Type)
	case c.Type == "TCP" && c.Port == nil:
		return invalidInput("Invalid request: a TCP health check needs a Port")
	case strings.HasSuffix(c.Type, "_STR_MATCH") && c.SearchString == "":
		return invalidInput("Invalid request: a health check of type %s needs a SearchString", c.Type)
	case c.Type == "CALCULATED" && c.ChildHealthChecks == nil:
		return invalidInput("Invalid request: a CALCULATED health check needs ChildHealthChecks")
	}
	if endpoint {
		if c.RequestInterval == nil {
			c.RequestInterval = ptr(30)
		}
		if c.FailureThreshold == nil {
			c.FailureThreshold = ptr(3)
		}
		if c.Port == nil && strings.HasPrefix(c.Type, "HTTP") {
			c.Port = ptr(80)
			if strings.HasPrefix(c.Type, "HTTPS") {
				c.Port = ptr(443)
			}
		}
		if c.EnableSNI == nil && strings.HasPrefix(c.Type, "HTTPS") {
			c.EnableSNI = ptr(true)
		}
		for _, b := range []**bool{&c.MeasureLatency, &c.Inverted, &c.Disabled} {
			if *b == nil {
				*b = ptr(false)
			}
		}
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

// createHealthCheck makes a health check, or answers the one made before
// with the same CallerReference and settings; the same reference with
// other settings, or of a deleted health check, is HealthCheckAlreadyExists
// (API reference CreateHealthCheck: "If you send a CreateHealthCheck
// request with the same CallerReference and settings as a previous
// request, and if the health check doesn't exist, Amazon Route 53 creates
// the health check. If the health check does exist, Route 53 returns the
// health check configuration"; "with the same CallerReference as a
// deleted health check, regardless of the settings, Route 53 returns a
// HealthCheckAlreadyExists error"). created reports a new one.
func (s *Service) createHealthCheck(req *createHealthCheckRequest) (resp *createHealthCheckResponse, created bool, err error) {
	if req.CallerReference == "" {
		return nil, false, invalidInput("Invalid request: Missing field 'CallerReference'")
	}
	if err := req.Config.validate(); err != nil {
		return nil, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.checks == nil {
		s.checks, s.checkRefs = map[string]*healthCheck{}, map[string]*healthCheck{}
	}
	if prev, ok := s.checkRefs[req.CallerReference]; ok {
		if s.checks[prev.id] == prev && reflect.DeepEqual(prev.config, req.Config) {
			return &createHealthCheckResponse{Xmlns: xmlns, HealthCheck: prev.wire()}, false, nil
		}
		return nil, false, errorf(http.StatusConflict, "HealthCheckAlreadyExists", "A health check with the specified caller reference already exists, or was deleted, with other settings.")
	}
	hc := &healthCheck{id: newUUID(), callerRef: req.CallerReference, config: req.Config, version: 1}
	s.checks[hc.id], s.checkRefs[hc.callerRef] = hc, hc
	s.checkOrder = append(s.checkOrder, hc)
	return &createHealthCheckResponse{Xmlns: xmlns, HealthCheck: hc.wire()}, true, nil
}

// newUUID makes a health check ID, which Route 53 gives in UUID form.
func newUUID() string {
	var r [16]byte
	_, _ = rand.Read(r[:]) // crypto/rand.Read never fails
	b := hex.EncodeToString(r[:])
	return fmt.Sprintf("%s-%s-%s-%s-%s", b[0:8], b[8:12], b[12:16], b[16:20], b[20:32])
}

// listHealthChecks pages health checks in creation order by marker (the
// next health check's ID), 100 at a time by default.
func (s *Service) listHealthChecks(r *http.Request) (any, error) {
	limit, err := maxItems(r, 100)
	if err != nil {
		return nil, err
	}
	marker := r.URL.Query().Get("marker")
	s.mu.Lock()
	defer s.mu.Unlock()
	start := 0
	if marker != "" {
		start = slices.IndexFunc(s.checkOrder, func(h *healthCheck) bool { return h.id == marker })
		if start < 0 {
			return nil, invalidInput("Invalid request: the marker %s names no health check", marker)
		}
	}
	out := &listHealthChecksResponse{Xmlns: xmlns, Marker: marker, MaxItems: limit, HealthChecks: []wireHealthCheck{}}
	for i := start; i < len(s.checkOrder); i++ {
		if len(out.HealthChecks) == limit {
			out.IsTruncated, out.NextMarker = true, s.checkOrder[i].id
			break
		}
		out.HealthChecks = append(out.HealthChecks, s.checkOrder[i].wire())
	}
	return out, nil
}

// updateHealthCheck changes the members it gives (the type cannot
// change) and resets those of ResetElements to their defaults; a
// HealthCheckVersion that is not the current one is
// HealthCheckVersionMismatch (API reference UpdateHealthCheck). Each
// update adds one to the version.
func (s *Service) updateHealthCheck(id string, req *updateHealthCheckRequest) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	hc, err := s.healthCheckLocked(id)
	if err != nil {
		return nil, err
	}
	if req.Version != nil && *req.Version != hc.version {
		return nil, errorf(http.StatusConflict, "HealthCheckVersionMismatch", "The value of HealthCheckVersion in the request doesn't match the value of HealthCheckVersion in the health check.")
	}
	c := hc.config
	u := req.wireHealthCheckConfig
	if u.Type != "" && u.Type != c.Type {
		return nil, invalidInput("Invalid request: the type of a health check cannot be changed")
	}
	for _, e := range req.ResetElements {
		switch e {
		case "FullyQualifiedDomainName":
			c.FullyQualifiedDomainName = ""
		case "Regions":
			c.Regions = nil
		case "ResourcePath":
			c.ResourcePath = ""
		case "ChildHealthChecks":
			c.ChildHealthChecks = nil
		default:
			return nil, enumError(e, "FullyQualifiedDomainName, Regions, ResourcePath, ChildHealthChecks")
		}
	}
	for _, f := range []struct{ dst, src *string }{{&c.IPAddress, &u.IPAddress}, {&c.ResourcePath, &u.ResourcePath},
		{&c.FullyQualifiedDomainName, &u.FullyQualifiedDomainName}, {&c.SearchString, &u.SearchString},
		{&c.InsufficientDataHealthStatus, &u.InsufficientDataHealthStatus}} {
		if *f.src != "" {
			*f.dst = *f.src
		}
	}
	for _, f := range []struct{ dst, src **int }{{&c.Port, &u.Port}, {&c.FailureThreshold, &u.FailureThreshold}, {&c.HealthThreshold, &u.HealthThreshold}} {
		if *f.src != nil {
			*f.dst = *f.src
		}
	}
	for _, f := range []struct{ dst, src **bool }{{&c.Inverted, &u.Inverted}, {&c.Disabled, &u.Disabled}, {&c.EnableSNI, &u.EnableSNI}} {
		if *f.src != nil {
			*f.dst = *f.src
		}
	}
	if u.ChildHealthChecks != nil {
		c.ChildHealthChecks = u.ChildHealthChecks
	}
	if u.Regions != nil {
		c.Regions = u.Regions
	}
	if u.AlarmIdentifier != nil {
		c.AlarmIdentifier = u.AlarmIdentifier
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	hc.config = c
	hc.version++
	return &updateHealthCheckResponse{Xmlns: xmlns, HealthCheck: hc.wire()}, nil
}
