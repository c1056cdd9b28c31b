package clientip_test

import (
	"net/http/httptest"
	"testing"

	"github.com/orgkeeper/orgkeeper/internal/clientip"
)

// A trusted proxy writes one of X-Forwarded-For and Forwarded and passes
// the other on as the client sent it (ingress-nginx and most load
// balancers append to X-Forwarded-For only). Whichever header the proxy
// wrote, a client that forges the other must not get to name its own
// address: not to escape its per-address limit by naming a new one for
// every guess, nor to use up another address's limit.
func TestAClientCannotNameItsAddressInTheHeaderTheProxyDidNotWrite(t *testing.T) {
	proxies, err := clientip.ParseTrustedProxies("10.0.0.0/8")
	if err != nil {
		t.Fatal(err)
	}
	const real, victim = "198.51.100.7", "203.0.113.50"
	cases := []struct {
		name    string
		headers map[string]string
	}{
		{"the proxy appended X-Forwarded-For, the client forged Forwarded",
			map[string]string{"X-Forwarded-For": real, "Forwarded": "for=" + victim}},
		{"the proxy wrote Forwarded, the client forged X-Forwarded-For",
			map[string]string{"Forwarded": "for=" + real, "X-Forwarded-For": victim}},
		{"the client forged both, the proxy appended its view to X-Forwarded-For",
			map[string]string{"X-Forwarded-For": victim + ", " + real, "Forwarded": "for=" + victim}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/", nil)
			req.RemoteAddr = "10.1.2.3:4711"
			for k, v := range c.headers {
				req.Header.Set(k, v)
			}
			if got := proxies.ClientIP(req); got == victim {
				t.Fatalf("ClientIP = %q: the client chose its address", got)
			}
		})
	}
}
