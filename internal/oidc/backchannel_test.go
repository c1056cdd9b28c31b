package oidc_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	orgoidc "github.com/orgkeeper/orgkeeper/internal/oidc"
)

func withBasic(id, secret string) func(*http.Request) {
	return func(r *http.Request) { r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret)) }
}

func decodeJSON(t *testing.T, resp *http.Response, body string) map[string]any {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("status %d: content type %q, want JSON; body %q", resp.StatusCode, ct, body)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("status %d: body is not JSON: %q", resp.StatusCode, body)
	}
	return m
}

// wantOAuthError checks an RFC 6749 section 5.2 error response.
func wantOAuthError(t *testing.T, resp *http.Response, body string, status int, code string) {
	t.Helper()
	m := decodeJSON(t, resp, body)
	if resp.StatusCode != status || m["error"] != code {
		t.Fatalf("got %d %v, want %d %s", resp.StatusCode, m, status, code)
	}
}

// userTokens runs the code flow for alice at portal and returns the token
// response.
func (e *env) userTokens() map[string]any {
	e.t.Helper()
	code := e.codeFor("portal", "https://portal.example/callback", e.userID("acme", "alice"), "")
	status, body := e.redeem("portal", "https://portal.example/callback", code, "")
	if status != http.StatusOK {
		e.t.Fatalf("redeem: %d %v", status, body)
	}
	return body
}

func TestBackChannelParametersAreTakenOnlyFromTheBody(t *testing.T) {
	e := newEnv(t, world{})
	secret := clientSecret("portal")
	at := e.userTokens()["access_token"].(string)
	creds := url.Values{"client_id": {"portal"}, "client_secret": {secret}}

	t.Run("the same request with everything in the body is served", func(t *testing.T) {
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"portal"}, "client_secret": {secret}}
		resp, body := e.send(http.MethodPost, "/oauth/token", form)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("got %d %q", resp.StatusCode, body)
		}
	})
	for _, c := range []struct {
		name, path string
		query      url.Values
		body       url.Values
		basic      bool
	}{
		{"client credentials in the query at the token endpoint", "/oauth/token", creds, url.Values{"grant_type": {"client_credentials"}}, false},
		{"grant_type in the query at the token endpoint", "/oauth/token", url.Values{"grant_type": {"client_credentials"}}, url.Values{}, true},
		{"client credentials in the query at introspection", "/oauth/introspect", creds, url.Values{"token": {at}}, false},
		{"client credentials in the query at revocation", "/revoke", creds, url.Values{"token": {at}}, false},
	} {
		t.Run(c.name+" is refused", func(t *testing.T) {
			var prep []func(*http.Request)
			prep = append(prep, func(r *http.Request) { r.URL.RawQuery = c.query.Encode() })
			if c.basic {
				prep = append(prep, withBasic("portal", secret))
			}
			resp, body := e.send(http.MethodPost, c.path, c.body, prep...)
			wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_request")
			if strings.Contains(body, secret) {
				t.Fatal("the secret was echoed")
			}
		})
	}
	t.Run("GET at the token endpoint is refused", func(t *testing.T) {
		resp, body := e.send(http.MethodGet, "/oauth/token", url.Values{"grant_type": {"client_credentials"}}, withBasic("portal", secret))
		wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_request")
	})
	t.Run("HTTP Basic and client_secret in the body together are refused", func(t *testing.T) {
		form := url.Values{"grant_type": {"client_credentials"}, "client_secret": {secret}}
		resp, body := e.send(http.MethodPost, "/oauth/token", form, withBasic("portal", secret))
		wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_request")
	})
}

func TestIntrospectionAndRevocationAcceptEveryAuthMethodDiscoveryAdvertises(t *testing.T) {
	e := newEnv(t, world{})
	resp, body := e.send(http.MethodGet, "/.well-known/openid-configuration", nil)
	d := decodeJSON(t, resp, body)
	methods := func(key string) []string {
		var out []string
		for _, m := range d[key].([]any) {
			out = append(out, m.(string))
		}
		return out
	}
	// auth authenticates form for the method, as client (Confidential for
	// basic and post, the Public spa for none).
	auth := func(method string, form url.Values) (url.Values, []func(*http.Request), string) {
		switch method {
		case "client_secret_basic":
			return form, []func(*http.Request){withBasic("portal", clientSecret("portal"))}, "portal"
		case "client_secret_post":
			form.Set("client_id", "portal")
			form.Set("client_secret", clientSecret("portal"))
			return form, nil, "portal"
		case "none":
			form.Set("client_id", "spa")
			return form, nil, "spa"
		}
		t.Fatalf("discovery advertises %q, which this test does not know", method)
		return nil, nil, ""
	}
	for _, m := range methods("introspection_endpoint_auth_methods_supported") {
		t.Run("introspection with "+m, func(t *testing.T) {
			at := e.userTokens()["access_token"].(string)
			form, prep, _ := auth(m, url.Values{"token": {at}})
			resp, body := e.send(http.MethodPost, "/oauth/introspect", form, prep...)
			if got := decodeJSON(t, resp, body); resp.StatusCode != http.StatusOK || got["active"] != true {
				t.Fatalf("got %d %v", resp.StatusCode, got)
			}
		})
	}
	for _, m := range methods("revocation_endpoint_auth_methods_supported") {
		t.Run("revocation with "+m, func(t *testing.T) {
			form, prep, client := auth(m, url.Values{})
			var rt string
			if client == "spa" {
				code := e.codeFor("spa", "https://spa.example/callback", e.userID("acme", "alice"), verifier)
				_, tok := e.redeem("spa", "https://spa.example/callback", code, verifier)
				rt, _ = tok["refresh_token"].(string)
			} else {
				rt, _ = e.userTokens()["refresh_token"].(string)
			}
			if rt == "" {
				t.Fatal("no refresh token")
			}
			form.Set("token", rt)
			resp, body := e.send(http.MethodPost, "/revoke", form, prep...)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("revocation: %d %q", resp.StatusCode, body)
			}
			if status, _ := e.refresh(client, rt); status == http.StatusOK {
				t.Fatal("the revoked refresh token still works")
			}
		})
	}
}

func TestTokenIntrospectionAndRevocationErrorsAreJSON(t *testing.T) {
	e := newEnv(t, world{})
	at := e.userTokens()["access_token"].(string)
	for _, c := range []struct {
		name, path string
		form       url.Values
		prep       []func(*http.Request)
		status     int
		code       string
	}{
		{"introspection without client authentication", "/oauth/introspect", url.Values{"token": {at}}, nil, 401, "invalid_client"},
		{"introspection with client_id only", "/oauth/introspect", url.Values{"token": {at}, "client_id": {"portal"}}, nil, 401, "invalid_client"},
		{"introspection with a wrong secret (basic)", "/oauth/introspect", url.Values{"token": {at}}, []func(*http.Request){withBasic("portal", "wrong")}, 401, "invalid_client"},
		{"introspection with a wrong secret (post)", "/oauth/introspect", url.Values{"token": {at}, "client_id": {"portal"}, "client_secret": {"wrong"}}, nil, 401, "invalid_client"},
		{"introspection by a Public client", "/oauth/introspect", url.Values{"token": {at}, "client_id": {"spa"}}, nil, 401, "invalid_client"},
		{"introspection without a token", "/oauth/introspect", url.Values{}, []func(*http.Request){withBasic("portal", clientSecret("portal"))}, 400, "invalid_request"},
		{"revocation with a wrong secret", "/revoke", url.Values{"token": {at}}, []func(*http.Request){withBasic("portal", "wrong")}, 401, "invalid_client"},
		{"revocation without client authentication", "/revoke", url.Values{"token": {at}}, nil, 401, "invalid_client"},
		{"token endpoint with a wrong secret", "/oauth/token", url.Values{"grant_type": {"client_credentials"}}, []func(*http.Request){withBasic("portal", "wrong")}, 401, "invalid_client"},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, body := e.send(http.MethodPost, c.path, c.form, c.prep...)
			wantOAuthError(t, resp, body, c.status, c.code)
			if c.status == 401 && resp.Header.Get("WWW-Authenticate") == "" && c.path == "/oauth/introspect" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}

func TestIntrospectingRefreshTokens(t *testing.T) {
	var offset atomic.Int64
	e := newEnv(t, world{}, func(_ *env, c *orgoidc.Config) {
		c.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	})
	introspect := func(client, token string) map[string]any {
		t.Helper()
		resp, body := e.send(http.MethodPost, "/oauth/introspect", url.Values{"token": {token}, "token_type_hint": {"refresh_token"}},
			withBasic(client, clientSecret(client)))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("introspection: %d %q", resp.StatusCode, body)
		}
		return decodeJSON(t, resp, body)
	}
	rt := e.userTokens()["refresh_token"].(string)

	t.Run("a live refresh token is active, with its client, subject, expiry, type and organization", func(t *testing.T) {
		m := introspect("portal", rt)
		exp, _ := m["exp"].(float64)
		if m["active"] != true || m["client_id"] != "portal" || m["sub"] != e.userID("acme", "alice") ||
			m["token_type"] != "refresh_token" || m["org_handle"] != "acme" || time.Unix(int64(exp), 0).Before(time.Now()) {
			t.Fatalf("introspection: %v", m)
		}
		// Without the hint too.
		resp, body := e.send(http.MethodPost, "/oauth/introspect", url.Values{"token": {rt}}, withBasic("portal", clientSecret("portal")))
		if m := decodeJSON(t, resp, body); m["active"] != true {
			t.Fatalf("without hint: %v", m)
		}
	})
	t.Run("another client's refresh token is inactive", func(t *testing.T) {
		if m := introspect("other", rt); m["active"] != false || len(m) != 1 {
			t.Fatalf("introspection by another client: %v", m)
		}
	})
	t.Run("an expired refresh token is inactive", func(t *testing.T) {
		offset.Store(int64(721 * time.Hour))
		defer offset.Store(0)
		if m := introspect("portal", rt); m["active"] != false {
			t.Fatalf("introspection: %v", m)
		}
	})
	t.Run("a rotated refresh token is inactive", func(t *testing.T) {
		status, body := e.refresh("portal", rt)
		if status != http.StatusOK {
			t.Fatalf("refresh: %d %v", status, body)
		}
		next := body["refresh_token"].(string)
		if m := introspect("portal", next); m["active"] != true {
			t.Fatalf("the successor: %v", m)
		}
		if m := introspect("portal", rt); m["active"] != false {
			t.Fatalf("the rotated token: %v", m)
		}
	})
	t.Run("a revoked refresh token is inactive", func(t *testing.T) {
		rt := e.userTokens()["refresh_token"].(string)
		resp, body := e.send(http.MethodPost, "/revoke", url.Values{"token": {rt}}, withBasic("portal", clientSecret("portal")))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("revoke: %d %q", resp.StatusCode, body)
		}
		if m := introspect("portal", rt); m["active"] != false {
			t.Fatalf("introspection: %v", m)
		}
	})
	t.Run("a refresh token of a disabled user is inactive", func(t *testing.T) {
		rt := e.userTokens()["refresh_token"].(string)
		e.setWorld(world{disableAlice: true})
		defer e.setWorld(world{})
		if m := introspect("portal", rt); m["active"] != false {
			t.Fatalf("introspection: %v", m)
		}
	})
}

func TestClientCredentialsUnknownAndUnsharedOrganizationsGetTheSameAnswer(t *testing.T) {
	e := newEnv(t, world{})
	answer := func(org string) (int, string) {
		form := url.Values{"grant_type": {"client_credentials"}, "organization": {org}}
		resp, body := e.send(http.MethodPost, "/oauth/token", form, withBasic("portal", clientSecret("portal")))
		return resp.StatusCode, body
	}
	s1, b1 := answer("nosuchorg")
	s2, b2 := answer("globex")
	if s1 != s2 || b1 != b2 || s1 == http.StatusOK {
		t.Fatalf("unknown: %d %s\nunshared: %d %s", s1, b1, s2, b2)
	}
}

func TestUserinfoAnswersEveryRefusalWithABearerChallengeAndJSON(t *testing.T) {
	e := newEnv(t, world{})
	at := e.userTokens()["access_token"].(string)
	bearer := func(tok string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
	}
	t.Run("a valid token in the header is served", func(t *testing.T) {
		resp, body := e.send(http.MethodGet, "/userinfo", nil, bearer(at))
		if m := decodeJSON(t, resp, body); resp.StatusCode != http.StatusOK || m["sub"] != e.userID("acme", "alice") {
			t.Fatalf("got %d %v", resp.StatusCode, m)
		}
	})
	t.Run("a valid token in a form body is served", func(t *testing.T) {
		resp, body := e.send(http.MethodPost, "/userinfo", url.Values{"access_token": {at}})
		if m := decodeJSON(t, resp, body); resp.StatusCode != http.StatusOK || m["sub"] != e.userID("acme", "alice") {
			t.Fatalf("got %d %v", resp.StatusCode, m)
		}
	})
	for _, c := range []struct {
		name string
		prep []func(*http.Request)
		code string
	}{
		{"no token", nil, "invalid_request"},
		{"a forged token", []func(*http.Request){bearer("not-a-token")}, "invalid_token"},
		{"a machine token", []func(*http.Request){bearer(func() string {
			_, b := e.token("portal", clientSecret("portal"), url.Values{"grant_type": {"client_credentials"}})
			return b["access_token"].(string)
		}())}, "invalid_token"},
	} {
		t.Run(c.name+" is refused", func(t *testing.T) {
			resp, body := e.send(http.MethodGet, "/userinfo", nil, c.prep...)
			wantOAuthError(t, resp, body, http.StatusUnauthorized, c.code)
			if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate: %q", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
	t.Run("a token in the query string is refused", func(t *testing.T) {
		resp, body := e.send(http.MethodGet, "/userinfo", url.Values{"access_token": {at}})
		wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_request")
	})
}

// The op package's default crypto also "decrypts" legacy AES-CFB values,
// which succeeds on any input: about one refresh token in sixteen then
// looked like an opaque access token with a colon in it and was reported
// inactive. Forty tokens catch that with more than 90% probability.
func TestEveryLiveRefreshTokenIntrospectsActiveWithoutAHint(t *testing.T) {
	e := newEnv(t, world{})
	for i := range 40 {
		rt := e.userTokens()["refresh_token"].(string)
		resp, body := e.send(http.MethodPost, "/oauth/introspect", url.Values{"token": {rt}}, withBasic("portal", clientSecret("portal")))
		if m := decodeJSON(t, resp, body); m["active"] != true {
			t.Fatalf("refresh token %d: %v", i, m)
		}
	}
}
