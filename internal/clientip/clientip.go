package clientip

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// maxHops bounds how many forwarded addresses are looked at.
const maxHops = 32

// Resolver resolves client addresses. The zero value trusts no proxy and
// returns the direct peer. It is safe for concurrent use.
type Resolver struct {
	trusted []netip.Prefix
}

// New returns a Resolver that trusts proxies in the given prefixes.
func New(trusted ...netip.Prefix) *Resolver {
	r := &Resolver{}
	for _, p := range trusted {
		r.trusted = append(r.trusted, p.Masked())
	}
	return r
}

// ParseTrustedProxies parses the --trusted-proxies value: comma-separated
// CIDRs (10.0.0.0/8, fd00::/8) or single addresses. Empty trusts none.
func ParseTrustedProxies(s string) (*Resolver, error) {
	prefixes, err := ParseNetworks("--trusted-proxies", s)
	if err != nil {
		return nil, err
	}
	return New(prefixes...), nil
}

// ParseNetworks parses the value of the flag named flag: comma-separated
// CIDRs (10.0.0.0/8, fd00::/8) or single addresses (one host each), IPv4
// in IPv6 taken as IPv4. Empty is none.
func ParseNetworks(flag, s string) ([]netip.Prefix, error) {
	var prefixes []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("%s: %q is neither a CIDR (10.0.0.0/8) nor an IP address", flag, f)
			}
			a = a.Unmap()
			prefixes = append(prefixes, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not a CIDR such as 10.0.0.0/8: %v", flag, f, err)
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		prefixes = append(prefixes, p.Masked())
	}
	return prefixes, nil
}

func (r *Resolver) isTrusted(a netip.Addr) bool {
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientIP returns the client's address for r: the direct peer, or, when
// the peer is a trusted proxy, the right-most forwarded address that is
// not one. Forwarded and X-Forwarded-For are both read; when a request
// carries both and they name different clients, the peer is the client. A
// forwarded value that is not an address (unknown, an obfuscated name)
// ends the walk at the proxy that wrote it.
//
// Most proxies write only one of the two headers and pass the other on
// as the client sent it, and nothing says which one the proxy wrote.
// Preferring either would let a client name any address it likes in the
// other (to escape its own per-address limit, or to use up someone
// else's); when they disagree, one of them is forged, and the proxy's
// address is the only one known to be true.
func (r *Resolver) ClientIP(req *http.Request) string {
	peer, ok := parseHost(req.RemoteAddr)
	if !ok {
		return req.RemoteAddr
	}
	if r == nil || !r.isTrusted(peer) {
		return peer.String()
	}
	xff := xForwardedFor(req.Header)
	fwd, hasFwd := forwardedFor(req.Header)
	switch {
	case !hasFwd:
		return r.walk(peer, xff).String()
	case len(xff) == 0:
		return r.walk(peer, fwd).String()
	}
	a, b := r.walk(peer, fwd), r.walk(peer, xff)
	if a != b {
		return peer.String()
	}
	return a.String()
}

// walk returns the right-most address of hops that is not a trusted
// proxy, starting from the trusted peer.
func (r *Resolver) walk(peer netip.Addr, hops []string) netip.Addr {
	client := peer
	for i, n := len(hops)-1, 0; i >= 0 && n < maxHops; i, n = i-1, n+1 {
		a, ok := parseHost(hops[i])
		if !ok {
			break
		}
		client = a
		if !r.isTrusted(a) {
			break
		}
	}
	return client
}

// parseHost parses an address with or without a port: 192.0.2.1,
// 192.0.2.1:4711, 2001:db8::1, [2001:db8::1], [2001:db8::1]:4711.
func parseHost(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	} else {
		s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// xForwardedFor returns the addresses of every X-Forwarded-For line, left
// to right.
func xForwardedFor(h http.Header) []string {
	var hops []string
	for _, line := range h.Values("X-Forwarded-For") {
		for _, v := range strings.Split(line, ",") {
			if v = strings.TrimSpace(v); v != "" {
				hops = append(hops, v)
			}
		}
	}
	return hops
}

// forwardedFor returns the for= values of every Forwarded (RFC 7239)
// element, left to right; ok is false without a Forwarded header. An
// element without for= counts as an unknown hop.
func forwardedFor(h http.Header) (hops []string, ok bool) {
	lines := h.Values("Forwarded")
	if len(lines) == 0 {
		return nil, false
	}
	for _, line := range lines {
		for _, elem := range strings.Split(line, ",") {
			if strings.TrimSpace(elem) == "" {
				continue
			}
			v := "unknown"
			for _, pair := range strings.Split(elem, ";") {
				k, val, found := strings.Cut(strings.TrimSpace(pair), "=")
				if found && strings.EqualFold(strings.TrimSpace(k), "for") {
					v = strings.Trim(strings.TrimSpace(val), `"`)
				}
			}
			hops = append(hops, v)
		}
	}
	return hops, true
}

// Bucket returns what a per-address limit counts for the client address
// addr (a ClientIP result): an IPv4 address itself, an IPv6 address's /64.
// An IPv6 end site is given a /64 or more (RFC 6177), so one client can
// send every request from a new address of its /64; counting single
// addresses would give it 2^64 allowances. Anything that is not an
// address is returned as it is.
func Bucket(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, err := a.WithZone("").Prefix(64)
	if err != nil {
		return addr
	}
	return p.String()
}
