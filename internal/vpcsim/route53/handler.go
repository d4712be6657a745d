package route53

import (
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// maxBody bounds a request document; Route 53's largest, a change batch of
// 1,000 records of 32,000 characters, stays below it.
const maxBody = 32 << 20

// Handler returns the REST-XML API, routed on paths under /2013-04-01/. It
// may be mounted on a mux that also serves other services.
func (s *Service) Handler() http.Handler {
	return http.HandlerFunc(s.serveHTTP)
}

func (s *Service) serveHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := newID("")
	w.Header().Set("X-Amzn-Requestid", reqID)
	body, err := s.route(w, r)
	if err == nil {
		if body != nil {
			writeXML(w, http.StatusOK, body)
		}
		return
	}
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = errorf(http.StatusInternalServerError, "InternalFailure", "%v", err)
	}
	s.log.Debug("route53 error", "op", r.Method+" "+r.URL.Path, "aws_code", ae.code)
	writeError(w, reqID, ae.status, ae.code, ae.message)
}

func writeError(w http.ResponseWriter, reqID string, status int, code, message string) {
	er := errorResponse{Xmlns: xmlns, RequestID: reqID}
	er.Error.Type = "Sender"
	if status >= 500 {
		er.Error.Type = "Receiver"
	}
	er.Error.Code, er.Error.Message = code, message
	writeXML(w, status, er)
}

func writeXML(w http.ResponseWriter, status int, v any) {
	b, err := xml.Marshal(v)
	if err != nil {
		// Only our own response types get here; failing to marshal one is a
		// programming error.
		panic(err)
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, xml.Header)
	_, _ = w.Write(b)
}

// route dispatches a request. A nil body with a nil error means the handler
// wrote the response itself.
func (s *Service) route(w http.ResponseWriter, r *http.Request) (any, error) {
	p, ok := strings.CutPrefix(r.URL.Path, "/2013-04-01/")
	if !ok {
		return nil, errorf(http.StatusNotFound, "UnknownOperationException", "Unknown operation %s %s", r.Method, r.URL.Path)
	}
	s.mu.Lock()
	allowed := s.bucket.take(s.opts.Now())
	s.mu.Unlock()
	if !allowed {
		// Route 53 answers its account-wide limit with HTTP 400, not 503.
		return nil, errorf(http.StatusBadRequest, "Throttling", "Rate exceeded")
	}
	parts := strings.Split(strings.TrimSuffix(p, "/"), "/")
	switch operation(r.Method, parts) {
	case "CreateHostedZone":
		var req createHostedZoneRequest
		if err := decode(r, &req); err != nil {
			return nil, err
		}
		resp, err := s.createHostedZone(&req)
		if err != nil {
			return nil, err
		}
		w.Header().Set("Location", "https://route53.amazonaws.com/2013-04-01"+resp.HostedZone.ID)
		writeXML(w, http.StatusCreated, resp)
		return nil, nil
	case "ListHostedZones":
		return s.listHostedZones(r)
	case "ListHostedZonesByName":
		return s.listHostedZonesByName(r)
	case "ListHostedZonesByVPC":
		return s.listHostedZonesByVPC(r)
	case "GetHostedZoneCount":
		s.mu.Lock()
		defer s.mu.Unlock()
		return &getHostedZoneCountResponse{Xmlns: xmlns, HostedZoneCount: len(s.zones)}, nil
	case "GetHostedZone":
		return s.getHostedZone(zoneID(parts[1]))
	case "UpdateHostedZoneComment":
		var req updateHostedZoneCommentRequest
		if err := decode(r, &req); err != nil {
			return nil, err
		}
		return s.updateHostedZoneComment(zoneID(parts[1]), req.Comment)
	case "DeleteHostedZone":
		return s.deleteHostedZone(zoneID(parts[1]))
	case "AssociateVPCWithHostedZone", "DisassociateVPCFromHostedZone":
		var req vpcAssociationRequest
		if err := decode(r, &req); err != nil {
			return nil, err
		}
		return s.changeVPCAssociation(zoneID(parts[1]), parts[2] == "associatevpc", &req)
	case "ChangeResourceRecordSets":
		var req changeResourceRecordSetsRequest
		if err := decode(r, &req); err != nil {
			return nil, err
		}
		return s.changeResourceRecordSets(zoneID(parts[1]), &req)
	case "ListResourceRecordSets":
		return s.listResourceRecordSets(zoneID(parts[1]), r)
	case "GetChange":
		return s.getChange(parts[1])
	case "":
	default:
		return s.routeMore(w, r, operation(r.Method, parts), parts)
	}
	return nil, errorf(http.StatusNotFound, "UnknownOperationException", "Unknown operation %s %s", r.Method, r.URL.Path)
}

// operation names the API operation of a method and the path's segments
// after /2013-04-01/, or "" when there is none.
func operation(method string, parts []string) string {
	get, post, del := method == http.MethodGet, method == http.MethodPost, method == http.MethodDelete
	n := len(parts)
	switch {
	case n == 1 && parts[0] == "hostedzone" && post:
		return "CreateHostedZone"
	case n == 1 && parts[0] == "hostedzone" && get:
		return "ListHostedZones"
	case n == 1 && parts[0] == "hostedzonesbyname" && get:
		return "ListHostedZonesByName"
	case n == 1 && parts[0] == "hostedzonesbyvpc" && get:
		return "ListHostedZonesByVPC"
	case n == 1 && parts[0] == "hostedzonecount" && get:
		return "GetHostedZoneCount"
	case n == 2 && parts[0] == "hostedzone" && get:
		return "GetHostedZone"
	case n == 2 && parts[0] == "hostedzone" && post:
		return "UpdateHostedZoneComment"
	case n == 2 && parts[0] == "hostedzone" && del:
		return "DeleteHostedZone"
	case n == 3 && parts[0] == "hostedzone" && parts[2] == "associatevpc" && post:
		return "AssociateVPCWithHostedZone"
	case n == 3 && parts[0] == "hostedzone" && parts[2] == "disassociatevpc" && post:
		return "DisassociateVPCFromHostedZone"
	case n == 3 && parts[0] == "hostedzone" && parts[2] == "rrset" && post:
		return "ChangeResourceRecordSets"
	case n == 3 && parts[0] == "hostedzone" && parts[2] == "rrset" && get:
		return "ListResourceRecordSets"
	case n == 2 && parts[0] == "change" && get:
		return "GetChange"
	}
	return operationMore(method, parts)
}

// zoneID accepts the bare ID; the SDK and the CLI strip "/hostedzone/"
// before building the path, but a hand-written URL may not.
func zoneID(s string) string { return strings.TrimPrefix(s, "hostedzone/") }

func decode(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return invalidInput("Invalid request: %v", err)
	}
	if err := xml.Unmarshal(b, v); err != nil {
		return invalidInput("Invalid XML ; %v", err)
	}
	return nil
}

// canonicalName lowercases a DNS name and makes it fully qualified, as Route
// 53 stores names.
func canonicalName(n string) string {
	return dns.Fqdn(strings.ToLower(n))
}

// reversedKey orders names as Route 53 lists them: labels reversed
// (www.example.com. sorts as com.example.www).
func reversedKey(name string) string {
	labels := dns.SplitDomainName(name)
	slices.Reverse(labels)
	return strings.Join(labels, ".")
}

func (s *Service) createHostedZone(req *createHostedZoneRequest) (*createHostedZoneResponse, error) {
	if req.CallerReference == "" {
		return nil, invalidInput("1 validation error detected: Value null at 'callerReference' failed to satisfy constraint: Member must not be null")
	}
	if _, ok := dns.IsDomainName(req.Name); !ok || req.Name == "" || req.Name == "." {
		return nil, errorf(http.StatusBadRequest, "InvalidDomainName", "%s is not a valid domain name", req.Name)
	}
	private := req.HostedZoneConfig != nil && req.HostedZoneConfig.PrivateZone
	var vpc wireVPC
	if req.VPC != nil {
		vpc = *req.VPC
		private = true
	}
	if private {
		if vpc.VPCID == "" || vpc.VPCRegion == "" {
			return nil, errorf(http.StatusBadRequest, "InvalidVPCId", "A private hosted zone requires a VPC: specify VPCId and VPCRegion")
		}
		if s.opts.VPCExists != nil && !s.opts.VPCExists(vpc.VPCRegion, vpc.VPCID) {
			return nil, errorf(http.StatusBadRequest, "InvalidVPCId", "The VPC: %s you provided is not authorized to make the association.", vpc.VPCID)
		}
	}
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.callers[req.CallerReference]; dup {
		return nil, errorf(http.StatusConflict, "HostedZoneAlreadyExists", "A hosted zone has already been created with the specified caller reference.")
	}
	z := &zone{
		id:        newID("Z"),
		name:      canonicalName(req.Name),
		callerRef: req.CallerReference,
		private:   private,
		records:   map[rrKey]*rrset{},
		served:    map[rrKey]*rrset{},
	}
	if private {
		z.vpcs = []wireVPC{vpc}
	}
	if req.HostedZoneConfig != nil {
		z.comment = req.HostedZoneConfig.Comment
	}
	// Route 53 creates the apex NS and SOA records with every zone. Private
	// zones get the fixed awsdns-00 set; public zones a delegation set.
	z.nameServers = []string{"ns-0.awsdns-00.com.", "ns-512.awsdns-00.net.", "ns-1024.awsdns-00.org.", "ns-1536.awsdns-00.co.uk."}
	if !private {
		n := int(z.id[1]) % 64
		z.nameServers = []string{
			"ns-" + strconv.Itoa(n) + ".awsdns-" + twoDigits(n) + ".com.",
			"ns-" + strconv.Itoa(512+n) + ".awsdns-" + twoDigits(n) + ".net.",
			"ns-" + strconv.Itoa(1024+n) + ".awsdns-" + twoDigits(n) + ".org.",
			"ns-" + strconv.Itoa(1536+n) + ".awsdns-" + twoDigits(n) + ".co.uk.",
		}
	}
	mname := z.nameServers[0]
	if private {
		mname = z.nameServers[3] // private zones name the co.uk server
	}
	soa := &rrset{name: z.name, typ: "SOA", ttl: 900, values: []string{mname + " awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400"}}
	ns := &rrset{name: z.name, typ: "NS", ttl: 172800, values: slices.Clone(z.nameServers)}
	for _, r := range []*rrset{soa, ns} {
		z.records[r.key()] = r
		z.served[r.key()] = r.clone()
	}
	c := s.submitLocked(z, "", nil, now)
	s.zones = append(s.zones, z)
	s.byID[z.id] = z
	s.callers[z.callerRef] = z.id
	resp := &createHostedZoneResponse{Xmlns: xmlns, HostedZone: z.wire(), ChangeInfo: c.wire()}
	if private {
		resp.VPC = &vpc
	} else {
		resp.DelegationSet = &wireDelegationSet{NameServers: trimDots(z.nameServers)}
	}
	return resp, nil
}

func twoDigits(n int) string {
	return string([]byte{byte('0' + n/10%10), byte('0' + n%10)})
}

func trimDots(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = strings.TrimSuffix(n, ".")
	}
	return out
}

func (z *zone) wire() wireZone {
	return wireZone{
		ID:                     "/hostedzone/" + z.id,
		Name:                   z.name,
		CallerReference:        z.callerRef,
		Config:                 wireZoneConfig{Comment: z.comment, PrivateZone: z.private},
		ResourceRecordSetCount: len(z.records),
	}
}

func (c *change) wire() wireChangeInfo {
	st := "PENDING"
	if c.insync {
		st = "INSYNC"
	}
	return wireChangeInfo{ID: "/change/" + c.id, Status: st, SubmittedAt: timeFormat(c.submitted), Comment: c.comment}
}

func (s *Service) getHostedZone(id string) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	z, err := s.zoneLocked(id)
	if err != nil {
		return nil, err
	}
	resp := &getHostedZoneResponse{Xmlns: xmlns, HostedZone: z.wire()}
	if z.private {
		vpcs := slices.Clone(z.vpcs) // marshalled after s.mu is released
		resp.VPCs = &vpcs
	} else {
		resp.DelegationSet = &wireDelegationSet{NameServers: trimDots(z.nameServers)}
	}
	return resp, nil
}

// maxItems parses the maxitems parameter: default and ceiling def, as
// Route 53 caps pages rather than rejecting large values.
func maxItems(r *http.Request, def int) (int, error) {
	v := r.URL.Query().Get("maxitems")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, invalidInput("Invalid value for maxitems: %s", v)
	}
	return min(n, def), nil
}

func (s *Service) listHostedZones(r *http.Request) (any, error) {
	limit, err := maxItems(r, 100)
	if err != nil {
		return nil, err
	}
	marker := zoneID(strings.TrimPrefix(r.URL.Query().Get("marker"), "/"))
	typ := r.URL.Query().Get("hostedzonetype")
	if typ != "" && typ != "PrivateHostedZone" {
		return nil, invalidInput("Invalid value for hostedzonetype: %s", typ)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	resp := &listHostedZonesResponse{Xmlns: xmlns, Marker: r.URL.Query().Get("marker"), MaxItems: limit, HostedZones: []wireZone{}}
	started := marker == ""
	if !started {
		if _, ok := s.byID[marker]; !ok {
			return nil, invalidInput("Invalid value for marker: %s", marker)
		}
	}
	for _, z := range s.zones {
		if !started {
			started = z.id == marker
			if !started {
				continue
			}
		}
		if typ != "" && !z.private {
			continue
		}
		if len(resp.HostedZones) == limit {
			resp.IsTruncated = true
			resp.NextMarker = z.id
			break
		}
		resp.HostedZones = append(resp.HostedZones, z.wire())
	}
	return resp, nil
}

// zoneLocked finds hosted zone id, or answers NoSuchHostedZone; s.mu held.
func (s *Service) zoneLocked(id string) (*zone, error) {
	z, ok := s.byID[id]
	if !ok {
		return nil, noSuchHostedZone(id)
	}
	return z, nil
}

// sortedZonesLocked returns the zones in ListHostedZonesByName order.
func (s *Service) sortedZonesLocked() []*zone {
	zs := slices.Clone(s.zones)
	slices.SortStableFunc(zs, func(a, b *zone) int {
		if c := strings.Compare(reversedKey(a.name), reversedKey(b.name)); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	return zs
}

func (s *Service) listHostedZonesByName(r *http.Request) (any, error) {
	limit, err := maxItems(r, 100)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	dnsName, hzID := q.Get("dnsname"), zoneID(strings.TrimPrefix(q.Get("hostedzoneid"), "/"))
	if hzID != "" && dnsName == "" {
		return nil, invalidInput("The input is not valid: if you specify HostedZoneId you must also specify DNSName")
	}
	resp := &listHostedZonesByNameResponse{Xmlns: xmlns, DNSName: dnsName, HostedZoneID: hzID, MaxItems: limit, HostedZones: []wireZone{}}
	var startKey string
	if dnsName != "" {
		if _, ok := dns.IsDomainName(dnsName); !ok {
			return nil, errorf(http.StatusBadRequest, "InvalidDomainName", "%s is not a valid domain name", dnsName)
		}
		startKey = reversedKey(canonicalName(dnsName))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, z := range s.sortedZonesLocked() {
		k := reversedKey(z.name)
		if dnsName != "" && (k < startKey || k == startKey && hzID != "" && z.id < hzID) {
			continue
		}
		if len(resp.HostedZones) == limit {
			resp.IsTruncated = true
			resp.NextDNSName = z.name
			resp.NextHostedZoneID = z.id
			break
		}
		resp.HostedZones = append(resp.HostedZones, z.wire())
	}
	return resp, nil
}

// validTypes are the record types Route 53 accepts.
var validTypes = map[string]bool{
	"SOA": true, "A": true, "TXT": true, "NS": true, "CNAME": true, "MX": true, "NAPTR": true, "PTR": true,
	"SRV": true, "SPF": true, "AAAA": true, "CAA": true, "DS": true, "TLSA": true, "SSHFP": true, "SVCB": true, "HTTPS": true,
}

func (s *Service) listResourceRecordSets(id string, r *http.Request) (any, error) {
	limit, err := maxItems(r, 300)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	startName, startType := q.Get("name"), q.Get("type")
	if startType != "" && startName == "" {
		return nil, invalidInput("The input is not valid")
	}
	if msg, bad := unsupportedChar(startName); bad {
		return nil, invalidInput("%s", msg)
	}
	if startType != "" && !validTypes[startType] {
		return nil, invalidInput("Invalid type: %s", startType)
	}
	startID := q.Get("identifier")
	if startID != "" && startType == "" {
		return nil, invalidInput("The input is not valid")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	z, err := s.zoneLocked(id)
	if err != nil {
		return nil, err
	}
	sets := z.sortedLocked()
	resp := &listResourceRecordSetsResponse{Xmlns: xmlns, MaxItems: limit, ResourceRecordSets: []wireRRSet{}}
	startKey := ""
	if startName != "" {
		startKey = reversedKey(canonicalName(startName))
	}
	for _, rs := range sets {
		k := reversedKey(rs.name)
		if startName != "" && (k < startKey || k == startKey && rs.typ < startType || k == startKey && rs.typ == startType && rs.routing.id < startID) {
			continue
		}
		if len(resp.ResourceRecordSets) == limit {
			resp.IsTruncated = true
			resp.NextRecordName = rs.name
			resp.NextRecordType = rs.typ
			resp.NextRecordID = rs.routing.id
			break
		}
		resp.ResourceRecordSets = append(resp.ResourceRecordSets, rs.wire())
	}
	return resp, nil
}

func (z *zone) sortedLocked() []*rrset {
	sets := make([]*rrset, 0, len(z.records))
	for _, r := range z.records {
		sets = append(sets, r)
	}
	slices.SortFunc(sets, func(a, b *rrset) int {
		if c := strings.Compare(reversedKey(a.name), reversedKey(b.name)); c != 0 {
			return c
		}
		if c := strings.Compare(a.typ, b.typ); c != 0 {
			return c
		}
		return strings.Compare(a.routing.id, b.routing.id)
	})
	return sets
}

func (r *rrset) wire() wireRRSet {
	ttl := r.ttl
	w := wireRRSet{Name: r.name, Type: r.typ, TTL: &ttl, ResourceRecords: &wireRRs{}, HealthCheckID: r.healthCheck}
	for _, v := range r.values {
		w.ResourceRecords.Records = append(w.ResourceRecords.Records, wireRR{Value: v})
	}
	r.wireRouting(&w)
	return w
}

func (s *Service) getChange(id string) (any, error) {
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceLocked(now)
	c, ok := s.changes[id]
	if !ok {
		return nil, errorf(http.StatusNotFound, "NoSuchChange", "A change with the specified change ID does not exist.")
	}
	return &getChangeResponse{Xmlns: xmlns, ChangeInfo: c.wire()}, nil
}

// submitLocked records an accepted change and queues it for the DNS view.
func (s *Service) submitLocked(z *zone, comment string, ops []op, now time.Time) *change {
	c := &change{id: newID("C"), comment: comment, submitted: now, insyncAt: now.Add(s.opts.PropagationDelay), zone: z, ops: ops}
	z.pending = append(z.pending, c)
	s.changes[c.id] = c
	return c
}

func (s *Service) deleteHostedZone(id string) (any, error) {
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	z, err := s.zoneLocked(id)
	if err != nil {
		return nil, err
	}
	for k := range z.records {
		if k.name != z.name || k.typ != "SOA" && k.typ != "NS" {
			return nil, errorf(http.StatusBadRequest, "HostedZoneNotEmpty", "The specified hosted zone contains non-required resource record sets and so cannot be deleted.")
		}
	}
	s.zones = slices.DeleteFunc(s.zones, func(o *zone) bool { return o == z })
	delete(s.byID, id)
	delete(s.callers, z.callerRef)
	delete(s.tags, "hostedzone/"+id)
	// The deletion is its own change; it has nothing to apply to DNS, which
	// stops answering for the zone at once.
	c := &change{id: newID("C"), submitted: now, insyncAt: now.Add(s.opts.PropagationDelay)}
	s.changes[c.id] = c
	s.deletions = append(s.deletions, c)
	return &deleteHostedZoneResponse{Xmlns: xmlns, ChangeInfo: c.wire()}, nil
}

// Operation names the API operation a request calls, as AWS names it
// ("ChangeResourceRecordSets"), or "" for a path that is none; vpcsim's
// fault injection and call history match on it.
func Operation(r *http.Request) string {
	p, ok := strings.CutPrefix(r.URL.Path, "/2013-04-01/")
	if !ok {
		return ""
	}
	return operation(r.Method, strings.Split(strings.TrimSuffix(p, "/"), "/"))
}

// WriteError answers an error as Route 53 does (REST-XML ErrorResponse);
// vpcsim's fault injection answers with it.
func WriteError(w http.ResponseWriter, status int, code, message string) {
	reqID := newID("")
	w.Header().Set("X-Amzn-Requestid", reqID)
	writeError(w, reqID, status, code, message)
}
