package connector

import (
	"net/netip"
	"testing"
)

// Special-purpose ranges of the IANA registries beyond those net/netip
// classifies and the first list: none of them holds an identity provider,
// and some of them (the documentation ranges above all) are used as
// private networks, so they are refused like private addresses.
func TestSpecialPurposeRangesAreNotPublic(t *testing.T) {
	for _, a := range []string{
		"192.0.2.10", "198.51.100.7", "203.0.113.200", // documentation (TEST-NET-1..3)
		"192.88.99.1",     // former 6to4 relay anycast
		"::a00:1",         // IPv4-compatible form of 10.0.0.1 (deprecated)
		"100::1",          // discard-only
		"2001:0:a00:1::1", // Teredo
		"2001:2::1",       // benchmarking
		"2001:db8::1",     // documentation
		"3fff::1",         // documentation
		"fec0::1",         // former site-local
		"5f00::1",         // SRv6 SIDs
	} {
		if publicAddress(netip.MustParseAddr(a)) {
			t.Errorf("publicAddress(%s) = true, want false", a)
		}
	}
	// Neighbours that are public stay public.
	for _, a := range []string{"192.0.3.1", "198.51.101.1", "203.0.114.1", "2001:200::1", "2001:4860:4860::8888", "2a00:1450::1"} {
		if !publicAddress(netip.MustParseAddr(a)) {
			t.Errorf("publicAddress(%s) = false, want true", a)
		}
	}
}
