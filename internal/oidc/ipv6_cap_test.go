package oidc_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	orgoidc "github.com/orgkeeper/orgkeeper/internal/oidc"
)

// The cap on pending auth requests counts an IPv6 client's /64: a client
// that starts every request from a new address of its /64 is still one
// client. Another /64 has its own allowance.
func TestPendingAuthRequestsAreCappedPerIPv6Slash64(t *testing.T) {
	e := newEnv(t, world{}, func(_ *env, c *orgoidc.Config) {
		c.MaxPendingAuthRequestsPerAddress = 3
		c.ClientIP = func(r *http.Request) string { return r.Header.Get("X-Test-Client") }
	})
	from := func(addr string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("X-Test-Client", addr) }
	}
	p := authParams("portal", "https://portal.example/callback")
	for i := range 3 {
		resp, _ := e.send(http.MethodGet, "/authorize", p, from(fmt.Sprintf("2001:db8:1:2::%x", i+1)))
		if u, _ := url.Parse(resp.Header.Get("Location")); resp.StatusCode != http.StatusFound || u.Host != "login.test" {
			t.Fatalf("request %d within the cap: %d %q", i, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	resp, _ := e.send(http.MethodGet, "/authorize", p, from("2001:db8:1:2:ffff::9"))
	if u, _ := url.Parse(resp.Header.Get("Location")); u == nil || u.Query().Get("error") != "temporarily_unavailable" {
		t.Fatalf("a new address of the same /64 over the cap: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = e.send(http.MethodGet, "/authorize", p, from("2001:db8:1:3::1"))
	if u, _ := url.Parse(resp.Header.Get("Location")); resp.StatusCode != http.StatusFound || u.Host != "login.test" {
		t.Fatalf("another /64: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}
