package route53

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"

	"github.com/miekg/dns"
)

// DNSOptions selects the resolver view a DNS server answers from.
type DNSOptions struct {
	// VPCID, when set, limits the view to the public zones and the private
	// zones associated with this VPC, as the resolver inside that VPC sees
	// them. Empty serves every zone: one view for the whole account.
	VPCID string
}

// DNSServer answers DNS queries over UDP and TCP on one loopback port from
// a Service's zones. Close stops it.
type DNSServer struct {
	addr    string
	servers []*dns.Server
	wg      sync.WaitGroup
	once    sync.Once
	err     error
}

// Addr returns the host:port the server answers on, for UDP and TCP alike.
func (d *DNSServer) Addr() string { return d.addr }

// Close stops both listeners and waits for their goroutines to return. It
// is safe to call more than once.
func (d *DNSServer) Close() error {
	d.once.Do(func() {
		var errs []error
		for _, srv := range d.servers {
			if err := srv.Shutdown(); err != nil {
				errs = append(errs, err)
			}
		}
		d.wg.Wait()
		d.err = errors.Join(errs...)
	})
	return d.err
}

// ListenDNS starts a DNS server on addr (for example "127.0.0.1:0"; UDP and
// TCP share the port) and returns once both listeners accept queries. The
// server sees a change only once GetChange would report it INSYNC. The
// caller owns the server and must Close it.
func (s *Service) ListenDNS(addr string, opts DNSOptions) (*DNSServer, error) {
	pc, ln, err := listenPair(addr)
	if err != nil {
		return nil, err
	}
	d := &DNSServer{addr: pc.LocalAddr().String()}
	h := dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		_, udp := w.RemoteAddr().(*net.UDPAddr)
		resp := s.resolve(req, opts, udp)
		_ = w.WriteMsg(resp) // a client that went away is not our problem
	})
	started := make(chan struct{}, 2)
	notify := func() { started <- struct{}{} }
	d.servers = []*dns.Server{
		{PacketConn: pc, Handler: h, NotifyStartedFunc: notify},
		{Listener: ln, Handler: h, NotifyStartedFunc: notify},
	}
	errc := make(chan error, 2)
	for _, srv := range d.servers {
		d.wg.Go(func() {
			if err := srv.ActivateAndServe(); err != nil {
				errc <- err
			}
		})
	}
	for range 2 {
		select {
		case <-started:
		case err := <-errc:
			pc.Close()
			ln.Close()
			d.wg.Wait()
			return nil, fmt.Errorf("serve dns on %s: %w", d.addr, err)
		}
	}
	return d, nil
}

// listenPair opens UDP and TCP on the same port. With port 0 the system
// picks the UDP port and TCP follows; a few attempts cover the rare case
// where that TCP port is taken.
func listenPair(addr string) (net.PacketConn, net.Listener, error) {
	var lastErr error
	for range 10 {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("listen udp %s: %w", addr, err)
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, ln, nil
		}
		pc.Close()
		lastErr = err
		if _, port, _ := net.SplitHostPort(addr); port != "0" {
			break
		}
	}
	return nil, nil, fmt.Errorf("listen tcp %s: %w", addr, lastErr)
}

// maxCNAMEChain bounds CNAME following, as resolvers do, so a loop ends.
const maxCNAMEChain = 8

// resolve answers one query from the served (INSYNC) records.
func (s *Service) resolve(req *dns.Msg, opts DNSOptions, udp bool) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(req)
	m.RecursionAvailable = true
	if req.Opcode != dns.OpcodeQuery {
		m.Rcode = dns.RcodeNotImplemented
		return m
	}
	if len(req.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		return m
	}
	q := req.Question[0]
	now := s.opts.Now()
	s.mu.Lock()
	s.advanceLocked(now)
	name := strings.ToLower(q.Name)
	for hop := 0; ; hop++ {
		z := s.zoneForLocked(name, opts)
		if z == nil {
			if hop == 0 {
				m.Rcode = dns.RcodeRefused
			}
			break
		}
		if set := s.answerLocked(z, name, dns.TypeToString[q.Qtype], 0); set != nil {
			m.Answer = append(m.Answer, set.rrs()...)
			break
		}
		if cn := s.answerLocked(z, name, "CNAME", 0); cn != nil && hop < maxCNAMEChain {
			m.Answer = append(m.Answer, cn.rrs()...)
			name = canonicalName(cn.values[0])
			continue
		}
		if !z.nameExistsLocked(name) {
			m.Rcode = dns.RcodeNameError
		}
		if soa, ok := z.served[rrKey{z.name, "SOA", ""}]; ok {
			m.Ns = append(m.Ns, negativeSOA(soa)...)
		}
		break
	}
	s.mu.Unlock()
	if udp {
		size := dns.MinMsgSize
		if o := req.IsEdns0(); o != nil {
			size = int(o.UDPSize())
		}
		m.Truncate(size)
	}
	return m
}

// zoneForLocked returns the most specific zone in the view containing name;
// at equal names a private zone wins over a public one, then the older zone.
func (s *Service) zoneForLocked(name string, opts DNSOptions) *zone {
	var best *zone
	for _, z := range s.zones {
		if name != z.name && !strings.HasSuffix(name, "."+z.name) && z.name != "." {
			continue
		}
		if z.private && opts.VPCID != "" && !z.associatedLocked(opts.VPCID) {
			continue
		}
		switch {
		case best == nil, len(z.name) > len(best.name):
			best = z
		case len(z.name) == len(best.name) && z.private && !best.private:
			best = z
		}
	}
	return best
}

// nameExistsLocked reports whether name owns records or is an empty
// non-terminal (a name below it does), which makes a miss NODATA, not
// NXDOMAIN.
func (z *zone) nameExistsLocked(name string) bool {
	for k := range z.served {
		if k.name == name || strings.HasSuffix(k.name, "."+name) {
			return true
		}
	}
	return false
}

func (r *rrset) rrs() []dns.RR {
	out := make([]dns.RR, 0, len(r.values))
	for _, v := range r.values {
		// Values were parsed the same way when the change was accepted.
		if rr, err := dns.NewRR(fmt.Sprintf("%s %d IN %s %s", r.name, r.ttl, r.typ, v)); err == nil && rr != nil {
			out = append(out, rr)
		}
	}
	return out
}

// negativeSOA is the SOA a resolver returns with NXDOMAIN and NODATA, its
// TTL capped at the SOA minimum field (RFC 2308 section 5).
func negativeSOA(set *rrset) []dns.RR {
	rrs := set.rrs()
	for _, rr := range rrs {
		if soa, ok := rr.(*dns.SOA); ok {
			soa.Hdr.Ttl = min(soa.Hdr.Ttl, soa.Minttl)
		}
	}
	return rrs
}
