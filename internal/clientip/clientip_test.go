package clientip_test

import (
	"net/http/httptest"
	"testing"

	"github.com/orgkeeper/orgkeeper/internal/clientip"
)

func TestClientIP(t *testing.T) {
	proxies, err := clientip.ParseTrustedProxies("10.0.0.0/8, 192.168.1.1, fd00::/8")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		resolver *clientip.Resolver
		peer     string
		headers  map[string][]string
		want     string
	}{
		{"without trusted proxies the peer is the client, whatever the headers say", clientip.New(), "198.51.100.7:4711",
			map[string][]string{"X-Forwarded-For": {"203.0.113.1"}}, "198.51.100.7"},
		{"an untrusted peer's X-Forwarded-For is ignored", proxies, "198.51.100.7:4711",
			map[string][]string{"X-Forwarded-For": {"203.0.113.1"}}, "198.51.100.7"},
		{"an untrusted peer's Forwarded is ignored", proxies, "198.51.100.7:4711",
			map[string][]string{"Forwarded": {"for=203.0.113.1"}}, "198.51.100.7"},
		{"a trusted peer's X-Forwarded-For names the client", proxies, "10.1.2.3:4711",
			map[string][]string{"X-Forwarded-For": {"203.0.113.1"}}, "203.0.113.1"},
		{"a trusted peer without forwarding headers is the client", proxies, "10.1.2.3:4711",
			nil, "10.1.2.3"},
		{"the right-most untrusted hop is the client; what the client wrote to its left is ignored", proxies, "10.1.2.3:4711",
			map[string][]string{"X-Forwarded-For": {"1.1.1.1, 203.0.113.1, 10.9.9.9"}}, "203.0.113.1"},
		{"several X-Forwarded-For lines are one list, in order", proxies, "10.1.2.3:4711",
			map[string][]string{"X-Forwarded-For": {"1.1.1.1", "203.0.113.1"}}, "203.0.113.1"},
		{"a chain of trusted proxies only is answered with its left-most hop", proxies, "10.1.2.3:4711",
			map[string][]string{"X-Forwarded-For": {"10.5.5.5, 192.168.1.1"}}, "10.5.5.5"},
		{"a single trusted address trusts only itself", proxies, "192.168.1.2:4711",
			map[string][]string{"X-Forwarded-For": {"203.0.113.1"}}, "192.168.1.2"},
		{"Forwarded (RFC 7239) for= with port and quotes", proxies, "10.1.2.3:4711",
			map[string][]string{"Forwarded": {`for="203.0.113.1:8443";proto=https;by=10.1.2.3`}}, "203.0.113.1"},
		{"Forwarded with an IPv6 client in brackets", proxies, "10.1.2.3:4711",
			map[string][]string{"Forwarded": {`for="[2001:db8:cafe::17]:4711"`}}, "2001:db8:cafe::17"},
		{"Forwarded and X-Forwarded-For that agree name the client", proxies, "10.1.2.3:4711",
			map[string][]string{"Forwarded": {"for=203.0.113.9"}, "X-Forwarded-For": {"203.0.113.9"}}, "203.0.113.9"},
		{"Forwarded elements across lines, right-most untrusted wins", proxies, "10.1.2.3:4711",
			map[string][]string{"Forwarded": {"for=1.1.1.1, for=203.0.113.1", "for=10.2.2.2"}}, "203.0.113.1"},
		{"an unknown hop ends the walk at the proxy that wrote it", proxies, "10.1.2.3:4711",
			map[string][]string{"Forwarded": {"for=203.0.113.1, for=unknown"}}, "10.1.2.3"},
		{"garbage in X-Forwarded-For ends the walk at the proxy", proxies, "10.1.2.3:4711",
			map[string][]string{"X-Forwarded-For": {"203.0.113.1, <script>"}}, "10.1.2.3"},
		{"an IPv6 trusted peer", proxies, "[fd00::1]:4711",
			map[string][]string{"X-Forwarded-For": {"2001:db8::5"}}, "2001:db8::5"},
		{"an IPv4-mapped IPv6 peer is matched as IPv4", proxies, "[::ffff:10.1.2.3]:4711",
			map[string][]string{"X-Forwarded-For": {"203.0.113.1"}}, "203.0.113.1"},
		{"a RemoteAddr without port is still an address", clientip.New(), "198.51.100.7",
			nil, "198.51.100.7"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/", nil)
			req.RemoteAddr = c.peer
			for k, vs := range c.headers {
				for _, v := range vs {
					req.Header.Add(k, v)
				}
			}
			if got := c.resolver.ClientIP(req); got != c.want {
				t.Errorf("ClientIP = %q, want %q", got, c.want)
			}
		})
	}
}

func TestParseTrustedProxies(t *testing.T) {
	for _, ok := range []string{"", "10.0.0.0/8", " 10.0.0.0/8 , 127.0.0.1 ,::1", "fd00::/8,"} {
		if _, err := clientip.ParseTrustedProxies(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "proxy.example", "10.0.0/8", "10.0.0.1/8/2"} {
		if _, err := clientip.ParseTrustedProxies(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
