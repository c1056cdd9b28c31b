package connector

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"
)

// Where the connector may connect. An IdentityProvider's issuer is written
// by an organization's admin, and the operator fetches it from inside the
// cluster: left alone, an admin could make the operator call the cluster's
// own services, a cloud's metadata endpoint or any address of the
// vendor's private network, and read what answers (or how it fails) in
// the IdentityProvider's status. So every connection to a provider goes to
// a public address only, unless the installation allows a network
// (Config.AllowedNetworks, the manager's --upstream-allowed-networks) or,
// in dev and tests, loopback (Config.AllowLoopbackHTTP). The check is made
// on the address actually dialled, after name resolution, so a name that
// resolves to a private address (or changes to one between two lookups)
// is refused too; through a proxy, on the addresses the provider's name
// resolves to (checkProxiedHost).

// nonPublic are the special-purpose ranges (RFC 6890 and its updates)
// beyond what net/netip classifies: shared address space, the IETF
// protocol assignments, benchmarking, reserved and broadcast IPv4, and the
// NAT64 and IPv4-mapped forms that reach IPv4 addresses from IPv6.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("2002::/16"),
	// Documentation ranges, which networks sometimes use internally, the
	// former 6to4 relay anycast, and on IPv6 the IPv4-compatible form,
	// discard-only, IETF protocol assignments (Teredo among them),
	// documentation, the former site-local and SRv6 SIDs.
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("192.88.99.0/24"),
	netip.MustParsePrefix("::/96"),
	netip.MustParsePrefix("100::/64"),
	netip.MustParsePrefix("2001::/23"),
	netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("3fff::/20"),
	netip.MustParsePrefix("fec0::/10"),
	netip.MustParsePrefix("5f00::/16"),
}

// publicAddress reports whether a is a globally reachable unicast address:
// not loopback, private (RFC 1918, fc00::/7), link-local (which holds the
// clouds' metadata endpoint 169.254.169.254), multicast, unspecified, or
// another special-purpose range.
func publicAddress(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// permitsAddress reports whether the connector may connect to a.
func (c *Config) permitsAddress(a netip.Addr) bool {
	a = a.Unmap()
	if publicAddress(a) || c.AllowLoopbackHTTP && a.IsLoopback() {
		return true
	}
	for _, p := range c.AllowedNetworks {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// blockedAddressError is the refusal of a connection to an address that
// the installation does not allow.
type blockedAddressError struct{ addr netip.Addr }

func (e *blockedAddressError) Error() string {
	return fmt.Sprintf("the provider's address %s is not a public address; Orgkeeper connects to identity providers "+
		"on private, loopback, link-local or other special-purpose addresses only when the installation allows "+
		"that network (the manager's --upstream-allowed-networks)", e.addr)
}

// guardedTransport returns base's transport, cloned, with a dialer that
// refuses addresses c does not permit; a transport that is not an
// *http.Transport (a test's) is returned as it is.
func (c *Config) guardedTransport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	t, ok := base.(*http.Transport)
	if !ok {
		return base
	}
	t = t.Clone()
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: c.controlDial}
	t.DialContext = d.DialContext
	if proxy := t.Proxy; proxy != nil {
		// Through a proxy (HTTPS_PROXY, which the default transport
		// reads), the dialler sees only the proxy's address, and the proxy
		// connects to whatever the request names: the provider's host must
		// then pass the same check before the request goes to the proxy.
		t.Proxy = func(r *http.Request) (*url.URL, error) {
			u, err := proxy(r)
			if err != nil || u == nil {
				return u, err
			}
			if err := c.checkProxiedHost(r.Context(), r.URL.Hostname()); err != nil {
				return nil, err
			}
			return u, nil
		}
	}
	return t
}

// checkProxiedHost checks the host of a request that goes through a proxy:
// an address literal as a dialled address, and a name by every address it
// resolves to here. A name that does not resolve here is refused too, as
// the proxy may resolve it to an address of its own network. What is left
// to the proxy is a name that resolves differently there than here (a
// short-lived DNS answer, a split-horizon zone): an installation with a
// proxy should have it refuse the networks it must not reach.
func (c *Config) checkProxiedHost(ctx context.Context, host string) error {
	if a, err := netip.ParseAddr(host); err == nil {
		if !c.permitsAddress(a) {
			return &blockedAddressError{addr: a.Unmap()}
		}
		return nil
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return fmt.Errorf("resolving %q before connecting through the proxy: %w", host, err)
	}
	for _, a := range addrs {
		if !c.permitsAddress(a) {
			return &blockedAddressError{addr: a.Unmap()}
		}
	}
	return nil
}

// controlDial runs before every connect, with the resolved address.
func (c *Config) controlDial(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("connecting to %q: %w", address, err)
	}
	if !c.permitsAddress(ap.Addr()) {
		return &blockedAddressError{addr: ap.Addr().Unmap()}
	}
	return nil
}
