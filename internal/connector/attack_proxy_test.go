package connector_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/orgkeeper/orgkeeper/internal/connector"
)

// connectProxy is an HTTP proxy on 127.0.0.2 that records the targets of
// the CONNECT requests it receives and connects to none of them.
type connectProxy struct {
	mu      sync.Mutex
	targets []string
}

func (p *connectProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.targets = append(p.targets, r.Method+" "+r.Host)
	p.mu.Unlock()
	http.Error(w, "this test proxy connects nowhere", http.StatusBadGateway)
}

func (p *connectProxy) received() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.targets...)
}

// With a proxy configured (HTTPS_PROXY), the dialler only ever sees the
// proxy's address, which the installation must allow. The proxy then
// connects wherever the request says: an issuer on the cloud's metadata
// address, on a private address, or on a name resolving to loopback must
// be refused before the request reaches the proxy, or the guard would not
// hold in any installation that uses one.
func TestProvidersThroughAProxyAreCheckedBeforeTheProxyIsAsked(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no second loopback address to run the proxy on: %v", err)
	}
	p := &connectProxy{}
	srv := httptest.NewUnstartedServer(p)
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	proxyURL, _ := url.Parse(srv.URL)
	cfg := connector.Config{
		HTTPClient:      &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxyURL)}},
		AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}, // the proxy's address
	}

	for _, issuer := range []string{
		"https://169.254.169.254",
		"https://10.0.0.1",
		"https://[::ffff:10.0.0.1]",
		"https://localhost:8443", // a name: 127.0.0.1 and ::1
	} {
		_, err := connector.Discover(context.Background(), issuer, cfg)
		var ce *connector.Error
		if !errors.As(err, &ce) || ce.Reason != connector.ReasonMisconfigured || !strings.Contains(err.Error(), "is not a public address") {
			t.Errorf("discovery of %s through the proxy: %v, want a refusal naming the address", issuer, err)
		}
	}
	if got := p.received(); len(got) != 0 {
		t.Fatalf("the proxy was asked to connect to %v; nothing may reach it for a refused address", got)
	}

	// An allowed address goes through the proxy as before.
	_, _ = connector.Discover(context.Background(), "https://127.0.0.2:9", cfg)
	if got := p.received(); len(got) != 1 || got[0] != "CONNECT 127.0.0.2:9" {
		t.Fatalf("the proxy received %v, want the CONNECT of the allowed address", got)
	}
}
