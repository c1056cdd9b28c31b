package oidc_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	orgoidc "github.com/orgkeeper/orgkeeper/internal/oidc"
)

// send makes a request with a form body (POST) or query (GET) and returns
// the response with its body read.
func (e *env) send(method, path string, form url.Values, prepare ...func(*http.Request)) (*http.Response, string) {
	e.t.Helper()
	var req *http.Request
	if method == http.MethodGet {
		req, _ = http.NewRequest(method, e.issuer+path+"?"+form.Encode(), nil)
	} else {
		req, _ = http.NewRequest(method, e.issuer+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, p := range prepare {
		p(req)
	}
	resp, err := e.http.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestFortyPostsWithAFiveMebibyteStateAreRefusedWithoutStoringOrEchoingIt(t *testing.T) {
	e := newEnv(t, world{})
	p := authParams("portal", "https://portal.example/callback")
	marker := "HUGESTATE-"
	p.Set("state", marker+strings.Repeat("A", 5<<20))
	body := p.Encode()
	for i := range 40 {
		req, _ := http.NewRequest(http.MethodPost, e.issuer+"/authorize", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := e.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("POST %d: status %d, want 400", i, resp.StatusCode)
		}
		if strings.Contains(string(b), marker) || strings.Contains(resp.Header.Get("Location"), marker) {
			t.Fatalf("POST %d: the state was echoed", i)
		}
	}
	if st := e.sessions.Stats(); st.AuthRequests != 0 {
		t.Fatalf("%d auth requests stored", st.AuthRequests)
	}
}

func TestAnOverLongStateIsRefusedAtTheClientWithoutBeingEchoed(t *testing.T) {
	e := newEnv(t, world{})
	p := authParams("portal", "https://portal.example/callback")
	p.Set("state", "LONGSTATE-"+strings.Repeat("s", 2048))
	resp, body := e.send(http.MethodGet, "/authorize", p)
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc == nil || loc.Host != "portal.example" {
		t.Fatalf("status %d, location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	q := loc.Query()
	if q.Get("error") != "invalid_request" || q.Has("state") || q.Get("iss") != e.issuer || q.Has("code") {
		t.Fatalf("error redirect: %s", loc)
	}
	if strings.Contains(loc.String(), "LONGSTATE") || strings.Contains(body, "LONGSTATE") {
		t.Fatal("the state was echoed")
	}
	if st := e.sessions.Stats(); st.AuthRequests != 0 {
		t.Fatalf("%d auth requests stored", st.AuthRequests)
	}
	// At its limit the state is fine.
	p.Set("state", strings.Repeat("s", 2048))
	e.authRequestID(e.authorize(p))
}

func TestOverLongAuthorizeParametersAreEachRefused(t *testing.T) {
	e := newEnv(t, world{})
	cases := []struct {
		param string
		limit int
		// toClient: the error goes back to the client; otherwise a page.
		toClient bool
	}{
		{"state", 2048, true},
		{"nonce", 512, true},
		{"login_hint", 320, true},
		{"scope", 1024, true},
		{"organization", 63, true},
		{"ui_locales", 256, true},
		{"code_challenge", 128, true},
		{"prompt", 64, true},
		{"max_age", 16, true},
		{"id_token_hint", 16 << 10, true},
		{"some_unknown_parameter", 2048, true},
		{"redirect_uri", 2048, false},
		{"client_id", 1024, false},
		{"response_mode", 32, false},
	}
	for _, c := range cases {
		t.Run(c.param+" longer than its limit is refused", func(t *testing.T) {
			p := authParams("portal", "https://portal.example/callback")
			value := "OVERLONG" + strings.Repeat("x", c.limit)
			if c.param == "redirect_uri" {
				value = "https://portal.example/callback?OVERLONG=" + strings.Repeat("x", c.limit)
			}
			p.Set(c.param, value)
			resp, body := e.send(http.MethodGet, "/authorize", p)
			loc := resp.Header.Get("Location")
			if strings.Contains(loc, "OVERLONG") || strings.Contains(body, "OVERLONG") {
				t.Fatal("the value was echoed")
			}
			if c.toClient {
				u, _ := url.Parse(loc)
				if resp.StatusCode != http.StatusFound || u == nil || u.Host != "portal.example" || u.Query().Get("error") != "invalid_request" {
					t.Fatalf("want an invalid_request redirect to the client, got %d %q", resp.StatusCode, loc)
				}
				if c.param != "state" && u.Query().Get("state") != "xyz" {
					t.Fatalf("the (bounded) state is missing: %s", u)
				}
			} else if resp.StatusCode != http.StatusBadRequest || loc != "" {
				t.Fatalf("want a 400 page, got %d %q", resp.StatusCode, loc)
			}
		})
	}
	t.Run("a repeated parameter is refused", func(t *testing.T) {
		p := authParams("portal", "https://portal.example/callback")
		p.Add("scope", "openid")
		resp, _ := e.send(http.MethodGet, "/authorize", p)
		if u, _ := url.Parse(resp.Header.Get("Location")); resp.StatusCode != http.StatusFound || u.Query().Get("error") != "invalid_request" {
			t.Fatalf("got %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
	t.Run("too many parameters are refused", func(t *testing.T) {
		p := authParams("portal", "https://portal.example/callback")
		for i := range orgoidc.MaxParameters {
			p.Set("p"+strings.Repeat("x", i), "1")
		}
		resp, _ := e.send(http.MethodPost, "/authorize", p)
		if u, _ := url.Parse(resp.Header.Get("Location")); resp.StatusCode != http.StatusFound || u.Query().Get("error") != "invalid_request" {
			t.Fatalf("got %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
	t.Run("an unknown client gets a page, never a redirect", func(t *testing.T) {
		p := authParams("nosuchclient", "https://evil.example/callback")
		p.Set("state", strings.Repeat("x", 4000))
		resp, _ := e.send(http.MethodGet, "/authorize", p)
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
			t.Fatalf("got %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
	if st := e.sessions.Stats(); st.AuthRequests != 0 {
		t.Fatalf("%d auth requests stored", st.AuthRequests)
	}
}

func TestOverLongBackChannelParametersGetInvalidRequestJSON(t *testing.T) {
	e := newEnv(t, world{})
	long := func(n int) string { return "OVERLONG" + strings.Repeat("x", n) }
	basic := func(r *http.Request) { r.SetBasicAuth("portal", clientSecret("portal")) }
	cases := []struct {
		name, path string
		form       url.Values
		auth       bool
	}{
		{"code", "/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {long(512)}, "redirect_uri": {"https://portal.example/callback"}}, true},
		{"code_verifier", "/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {"c"}, "code_verifier": {long(128)}}, true},
		{"refresh_token", "/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {long(512)}}, true},
		{"grant_type", "/oauth/token", url.Values{"grant_type": {long(128)}}, true},
		{"client_id", "/oauth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {long(1024)}, "client_secret": {"s"}}, false},
		{"client_secret", "/oauth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {"portal"}, "client_secret": {long(1024)}}, false},
		{"scope", "/oauth/token", url.Values{"grant_type": {"client_credentials"}, "scope": {long(1024)}}, true},
		{"organization", "/oauth/token", url.Values{"grant_type": {"client_credentials"}, "organization": {long(63)}}, true},
		{"token at introspection", "/oauth/introspect", url.Values{"token": {long(16 << 10)}}, true},
		{"token at revocation", "/revoke", url.Values{"token": {long(16 << 10)}}, true},
		{"access_token at userinfo", "/userinfo", url.Values{"access_token": {long(16 << 10)}}, false},
	}
	for _, c := range cases {
		t.Run(c.name+" longer than its limit is refused", func(t *testing.T) {
			var prep []func(*http.Request)
			if c.auth {
				prep = append(prep, basic)
			}
			resp, body := e.send(http.MethodPost, c.path, c.form, prep...)
			if resp.StatusCode != http.StatusBadRequest || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") ||
				!strings.Contains(body, `"error":"invalid_request"`) {
				t.Fatalf("got %d %s %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
			if strings.Contains(body, "OVERLONG") {
				t.Fatal("the value was echoed")
			}
		})
	}
	t.Run("a body over 64 KiB is refused", func(t *testing.T) {
		form := url.Values{"grant_type": {"client_credentials"}, "pad": {strings.Repeat("x", orgoidc.MaxBodyBytes)}}
		resp, body := e.send(http.MethodPost, "/oauth/token", form, basic)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `"error":"invalid_request"`) {
			t.Fatalf("got %d %q", resp.StatusCode, body)
		}
	})
}

func TestOverLongEndSessionParametersAreRefused(t *testing.T) {
	e := newEnv(t, world{})
	for _, p := range []string{"id_token_hint", "post_logout_redirect_uri", "state", "client_id", "ui_locales"} {
		t.Run(p, func(t *testing.T) {
			q := url.Values{"client_id": {"portal"}, p: {"OVERLONG" + strings.Repeat("x", 16<<10)}}
			resp, body := e.send(http.MethodGet, "/end_session", q)
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || strings.Contains(body, "OVERLONG") {
				t.Fatalf("got %d %q", resp.StatusCode, resp.Header.Get("Location"))
			}
		})
	}
}

func TestPendingAuthRequestsAreCappedPerClientAddress(t *testing.T) {
	e := newEnv(t, world{}, func(_ *env, c *orgoidc.Config) {
		c.MaxPendingAuthRequestsPerAddress = 3
		c.ClientIP = func(r *http.Request) string { return r.Header.Get("X-Test-Client") }
	})
	from := func(addr string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("X-Test-Client", addr) }
	}
	p := authParams("portal", "https://portal.example/callback")
	for i := range 3 {
		resp, _ := e.send(http.MethodGet, "/authorize", p, from("192.0.2.1"))
		if u, _ := url.Parse(resp.Header.Get("Location")); resp.StatusCode != http.StatusFound || u.Host != "login.test" {
			t.Fatalf("request %d within the cap: %d %q", i, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	resp, _ := e.send(http.MethodGet, "/authorize", p, from("192.0.2.1"))
	u, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || u.Host != "portal.example" || u.Query().Get("error") != "temporarily_unavailable" ||
		u.Query().Get("state") != "xyz" || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("over the cap: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if st := e.sessions.Stats(); st.AuthRequests != 3 {
		t.Fatalf("%d auth requests stored, want 3", st.AuthRequests)
	}
	// An unknown client is refused as always (a page, never a redirect),
	// and stores nothing.
	resp, _ = e.send(http.MethodGet, "/authorize", authParams("nosuch", "https://evil.example/"), from("192.0.2.1"))
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
		t.Fatalf("unknown client over the cap: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if st := e.sessions.Stats(); st.AuthRequests != 3 {
		t.Fatalf("%d auth requests stored, want 3", st.AuthRequests)
	}
	// Another address has its own allowance.
	resp, _ = e.send(http.MethodGet, "/authorize", p, from("192.0.2.2"))
	if u, _ := url.Parse(resp.Header.Get("Location")); resp.StatusCode != http.StatusFound || u.Host != "login.test" {
		t.Fatalf("another address: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}
