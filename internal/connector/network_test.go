package connector_test

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/orgkeeper/orgkeeper/internal/connector"
	"github.com/orgkeeper/orgkeeper/internal/connector/upstreamtest"
)

// An organization admin writes the issuer; the operator fetches it from
// inside the cluster. A provider on a loopback or private address (the
// cluster's own services, a cloud's metadata endpoint) is not contacted at
// all unless the installation allows its network, and the refusal says
// why: the spec or the installation must change, it will not pass.
func TestProvidersOnNonPublicAddressesAreNotContacted(t *testing.T) {
	f := upstreamtest.NewTLSFake(t) // https on 127.0.0.1
	const discovery = "/.well-known/openid-configuration"

	_, err := connector.Discover(context.Background(), f.URL, connector.Config{HTTPClient: f.HTTPClient})
	var ce *connector.Error
	if !errors.As(err, &ce) || ce.Reason != connector.ReasonMisconfigured || !strings.Contains(err.Error(), "127.0.0.1 is not a public address") ||
		!strings.Contains(err.Error(), "--upstream-allowed-networks") {
		t.Fatalf("discovery of a loopback provider: %v, want a refusal naming the address and the flag", err)
	}
	if n := f.Hits(discovery); n != 0 {
		t.Fatalf("the provider received %d requests; the connection must be refused before any", n)
	}

	// The installation allows the network: the same provider is used.
	allowed := connector.Config{HTTPClient: f.HTTPClient, AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
	if _, err := connector.Discover(context.Background(), f.URL, allowed); err != nil {
		t.Fatalf("discovery with 127.0.0.0/8 allowed: %v", err)
	}
	// Another network allowed is not this one.
	other := connector.Config{HTTPClient: f.HTTPClient, AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	if _, err := connector.Discover(context.Background(), f.URL, other); err == nil {
		t.Fatal("discovery with only 10.0.0.0/8 allowed reached 127.0.0.1")
	}
	// dev and tests: loopback is allowed with AllowLoopbackHTTP.
	dev := connector.Config{HTTPClient: f.HTTPClient, AllowLoopbackHTTP: true}
	if _, err := connector.Discover(context.Background(), f.URL, dev); err != nil {
		t.Fatalf("discovery with loopback allowed: %v", err)
	}
}

// The check is on the address dialled, not on the URL's text: a name
// that resolves to a loopback address is refused like the address.
func TestANameResolvingToLoopbackIsRefusedToo(t *testing.T) {
	f := upstreamtest.NewTLSFake(t)
	byName := strings.Replace(f.URL, "127.0.0.1", "localhost", 1)
	_, err := connector.Discover(context.Background(), byName, connector.Config{HTTPClient: f.HTTPClient})
	if err == nil || !strings.Contains(err.Error(), "not a public address") {
		t.Fatalf("discovery of %s: %v, want a refusal", byName, err)
	}
	if n := f.Hits("/.well-known/openid-configuration"); n != 0 {
		t.Fatalf("the provider received %d requests", n)
	}
}
