package connector

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
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
// is refused too.

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
	// With a proxy (HTTPS_PROXY), the address checked is the proxy's,
	// which must then be allowed, and what it reaches is the proxy's to
	// restrict.
	return t
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
