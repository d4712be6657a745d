package vpcsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// imdsAddrKey carries an IMDS connection's local address, which tells the
// handler whose metadata service was called.
type imdsAddrKey struct{}

type imdsToken struct {
	instance string
	expires  time.Time
}

// credentialLifetime is how long role credentials served by IMDS claim to
// be valid; AWS rotates them hours before they expire.
const credentialLifetime = 6 * time.Hour

// serveIMDS is an instance's metadata service, IMDSv2 as documented in
// "Use the Instance Metadata Service to access instance metadata": a PUT to
// /latest/api/token with X-aws-ec2-metadata-token-ttl-seconds (1..21600)
// returns a session token that GETs present in X-aws-ec2-metadata-token.
func (s *Server) serveIMDS(w http.ResponseWriter, hr *http.Request) {
	addr, _ := hr.Context().Value(imdsAddrKey{}).(string)
	now := time.Now()

	st := s.lockState()
	id := s.imdsAddr[addr]
	in := st.instance(id)
	down := in == nil || in.imdsDown || in.state != "running"
	s.unlockState()
	if down {
		// An unreachable metadata service: the client sees the connection
		// drop, as when the instance is stopped or IMDS is disabled.
		hijackClose(w)
		return
	}

	if hr.URL.Path == "/latest/api/token" {
		s.imdsToken(w, hr, id, now)
		return
	}
	if hr.Method != http.MethodGet && hr.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD, PUT")
		http.Error(w, "", http.StatusMethodNotAllowed)
		return
	}
	tok := hr.Header.Get("X-aws-ec2-metadata-token")
	s.mu.Lock()
	t, ok := s.tokens[tok]
	v1 := s.st.imdsV1
	s.mu.Unlock()
	switch {
	case tok == "" && v1:
	case tok == "" || !ok || t.instance != id || now.After(t.expires):
		http.Error(w, "", http.StatusUnauthorized)
		return
	}

	body, ctype, found := s.metadata(id, hr.URL.Path, now)
	if !found {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, "<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>\n<html><head><title>404 - Not Found</title></head><body><h1>404 - Not Found</h1></body></html>\n")
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Write([]byte(body))
}

func (s *Server) imdsToken(w http.ResponseWriter, hr *http.Request, id string, now time.Time) {
	if hr.Method != http.MethodPut {
		w.Header().Set("Allow", "PUT")
		http.Error(w, "", http.StatusMethodNotAllowed)
		return
	}
	// IMDS refuses token requests that went through a proxy.
	if hr.Header.Get("X-Forwarded-For") != "" {
		http.Error(w, "", http.StatusForbidden)
		return
	}
	ttl, err := strconv.Atoi(hr.Header.Get("X-aws-ec2-metadata-token-ttl-seconds"))
	if err != nil || ttl < 1 || ttl > 21600 {
		http.Error(w, "", http.StatusBadRequest)
		return
	}
	tok := "AQAEA" + randomHex(51)
	s.mu.Lock()
	for k, t := range s.tokens {
		if now.After(t.expires) {
			delete(s.tokens, k)
		}
	}
	s.tokens[tok] = imdsToken{instance: id, expires: now.Add(time.Duration(ttl) * time.Second)}
	s.mu.Unlock()
	w.Header().Set("X-aws-ec2-metadata-token-ttl-seconds", strconv.Itoa(ttl))
	w.Header().Set("Content-Type", "text/plain")
	fmt.Fprint(w, tok)
}

// metadata answers one metadata path for an instance from current state,
// so after an ENI moves the interface listing follows.
func (s *Server) metadata(id, path string, now time.Time) (body, ctype string, ok bool) {
	st := s.lockState()
	defer s.unlockState()
	in := st.instance(id)
	if in == nil {
		return "", "", false
	}
	p := st.primaryENI(in)
	const text = "text/plain"
	lines := func(l ...string) (string, string, bool) { return strings.Join(l, "\n"), text, true }

	if path == "/latest/dynamic/instance-identity/document" {
		doc := map[string]any{
			"accountId":        st.account,
			"architecture":     "x86_64",
			"availabilityZone": "",
			"imageId":          "ami-0a1b2c3d4e5f60718",
			"instanceId":       in.id,
			"instanceType":     in.instanceType,
			"pendingTime":      in.launch.Format(time.RFC3339),
			"privateIp":        "",
			"region":           st.region,
			"version":          "2017-09-30",
		}
		if p != nil {
			doc["availabilityZone"] = p.az
			doc["privateIp"] = p.ip.String()
		}
		b, _ := json.MarshalIndent(doc, "", "  ")
		return string(b), text, true
	}
	if path == "/latest/dynamic/" || path == "/latest/dynamic" {
		return lines("instance-identity/")
	}
	md, okPrefix := strings.CutPrefix(path, "/latest/meta-data")
	if !okPrefix {
		if path == "/latest/" || path == "/latest" {
			return lines("dynamic", "meta-data")
		}
		return "", "", false
	}
	md = strings.TrimPrefix(md, "/")
	switch md {
	case "":
		return lines("ami-id", "hostname", "iam/", "instance-id", "instance-type", "local-hostname", "local-ipv4", "mac", "network/", "placement/")
	case "ami-id":
		return lines("ami-0a1b2c3d4e5f60718")
	case "instance-id":
		return lines(in.id)
	case "instance-type":
		return lines(in.instanceType)
	case "placement", "placement/":
		return lines("availability-zone", "availability-zone-id", "region")
	case "placement/region":
		return lines(st.region)
	}
	if p == nil {
		return "", "", false
	}
	switch md {
	case "placement/availability-zone":
		return lines(p.az)
	case "placement/availability-zone-id":
		return lines(azID(p.az))
	case "mac":
		return lines(p.mac)
	case "local-ipv4":
		return lines(p.ip.String())
	case "hostname", "local-hostname":
		return lines(st.privateDNS(p.ip))
	case "network", "network/":
		return lines("interfaces/")
	case "network/interfaces", "network/interfaces/":
		return lines("macs/")
	case "iam", "iam/":
		if in.role == "" {
			return "", "", false
		}
		return lines("info", "security-credentials/")
	case "iam/info":
		if in.role == "" {
			return "", "", false
		}
		b, _ := json.MarshalIndent(map[string]string{
			"Code":               "Success",
			"LastUpdated":        st.launched.Format(time.RFC3339),
			"InstanceProfileArn": st.profileARN(in.role),
			"InstanceProfileId":  "AIPA" + strings.ToUpper(fmt.Sprintf("%016x", fnv64(in.role))),
		}, "", "  ")
		return string(b), text, true
	case "iam/security-credentials", "iam/security-credentials/":
		if in.role == "" {
			return "", "", false
		}
		return lines(in.role)
	}
	if role, isCreds := strings.CutPrefix(md, "iam/security-credentials/"); isCreds {
		if in.role == "" || role != in.role {
			return "", "", false
		}
		ak, secret, token := s.credentialsFor(in.id)
		b, _ := json.MarshalIndent(map[string]string{
			"Code":            "Success",
			"LastUpdated":     now.UTC().Format(time.RFC3339),
			"Type":            "AWS-HMAC",
			"AccessKeyId":     ak,
			"SecretAccessKey": secret,
			"Token":           token,
			"Expiration":      now.Add(credentialLifetime).UTC().Format(time.RFC3339),
		}, "", "  ")
		return string(b), text, true
	}
	macs, isMacs := strings.CutPrefix(md, "network/interfaces/macs")
	if !isMacs {
		return "", "", false
	}
	macs = strings.Trim(macs, "/")
	if macs == "" {
		var l []string
		for _, eid := range in.enis {
			if e := st.eni(eid); e != nil && e.attach != nil && e.attach.status == "attached" {
				l = append(l, e.mac+"/")
			}
		}
		return lines(l...)
	}
	mac, leaf, _ := strings.Cut(macs, "/")
	var e *eni
	for _, eid := range in.enis {
		if x := st.eni(eid); x != nil && x.mac == mac {
			e = x
		}
	}
	if e == nil {
		return "", "", false
	}
	sn := st.subnet(e.subnet)
	v := st.vpc(e.vpc)
	switch leaf {
	case "":
		return lines("device-number", "interface-id", "local-hostname", "local-ipv4s", "mac", "owner-id",
			"subnet-id", "subnet-ipv4-cidr-block", "vpc-id", "vpc-ipv4-cidr-block", "vpc-ipv4-cidr-blocks")
	case "device-number":
		return lines(strconv.Itoa(e.attach.index))
	case "interface-id":
		return lines(e.id)
	case "local-hostname":
		return lines(st.privateDNS(e.ip))
	case "local-ipv4s":
		l := []string{e.ip.String()}
		for _, a := range e.secondary {
			l = append(l, a.String())
		}
		return lines(l...)
	case "mac":
		return lines(e.mac)
	case "owner-id":
		return lines(st.account)
	case "subnet-id":
		return lines(e.subnet)
	case "subnet-ipv4-cidr-block":
		return lines(sn.cidr.String())
	case "vpc-id":
		return lines(e.vpc)
	case "vpc-ipv4-cidr-block", "vpc-ipv4-cidr-blocks":
		return lines(v.cidr.String())
	}
	return "", "", false
}

// hijackClose drops the connection without an answer, as a client of an
// unreachable metadata service sees it.
func hijackClose(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "", http.StatusServiceUnavailable)
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	conn.Close()
}
