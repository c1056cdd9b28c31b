package oidc_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/orgkeeper/orgkeeper/internal/snapshot"
)

func TestDiscoveryAnnouncesWhatIsServedAndTheIssParameter(t *testing.T) {
	e := newEnv(t, world{})
	resp, err := http.Get(e.issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var d map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		t.Fatal(err)
	}
	if d["authorization_response_iss_parameter_supported"] != true {
		t.Errorf("authorization_response_iss_parameter_supported = %v", d["authorization_response_iss_parameter_supported"])
	}
	if d["issuer"] != e.issuer {
		t.Errorf("issuer = %v", d["issuer"])
	}
	for key, want := range map[string]string{
		"grant_types_supported":                 "authorization_code refresh_token client_credentials",
		"response_types_supported":              "code",
		"code_challenge_methods_supported":      "S256",
		"id_token_signing_alg_values_supported": "ES256 RS256",
	} {
		var got []string
		for _, v := range d[key].([]any) {
			got = append(got, v.(string))
		}
		if strings.Join(got, " ") != want {
			t.Errorf("%s = %v, want %s", key, got, want)
		}
	}
	for _, absent := range []string{"device_authorization_endpoint", "request_parameter_supported"} {
		if _, ok := d[absent]; ok {
			t.Errorf("%s should be absent", absent)
		}
	}
}

func TestCodeFlowWithPKCEThroughARealRelyingParty(t *testing.T) {
	e := newEnv(t, world{})
	ctx := context.Background()
	provider, err := gooidc.NewProvider(ctx, e.issuer)
	if err != nil {
		t.Fatal(err)
	}
	conf := oauth2.Config{
		ClientID: "portal", ClientSecret: clientSecret("portal"),
		RedirectURL: "https://portal.example/callback",
		Endpoint:    provider.Endpoint(),
		Scopes:      []string{gooidc.ScopeOpenID, "profile", "email", gooidc.ScopeOfflineAccess},
	}
	authURL := conf.AuthCodeURL("state-1", gooidc.Nonce("nonce-1"), oauth2.S256ChallengeOption(verifier),
		oauth2.SetAuthURLParam("organization", "acme"))
	resp, err := e.http.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	id := e.authRequestID(resp)
	ar, err := e.sessions.GetAuthRequest(ctx, id)
	if err != nil || ar.Organization != "acme" {
		t.Fatalf("auth request keeps organization: %q, %v", ar.Organization, err)
	}
	alice := e.userID("acme", "alice")
	e.login(id, alice)
	loc := e.callback(id)
	q := loc.Query()
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != conf.RedirectURL {
		t.Fatalf("callback redirected to %s", got)
	}
	if q.Get("iss") != e.issuer || q.Get("state") != "state-1" || q.Get("code") == "" {
		t.Fatalf("authorization response: %v", q)
	}

	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	idt, err := provider.Verifier(&gooidc.Config{ClientID: "portal"}).Verify(ctx, rawID)
	if err != nil {
		t.Fatalf("ID token does not verify against JWKS: %v", err)
	}
	if idt.Nonce != "nonce-1" || idt.Subject != alice {
		t.Errorf("nonce %q sub %q", idt.Nonce, idt.Subject)
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	acme := e.snap().Org("acme")
	checkUserClaims(t, "ID token", claims, acme, alice)
	if str(claims["amr"]) != "[pwd]" {
		t.Errorf("ID token amr = %v", claims["amr"])
	}

	at := jwtClaims(t, tok.AccessToken)
	checkUserClaims(t, "access token", at, acme, alice)

	ui, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatal(err)
	}
	var uic map[string]any
	if err := ui.Claims(&uic); err != nil {
		t.Fatal(err)
	}
	checkUserClaims(t, "userinfo", uic, acme, alice)
	if tok.RefreshToken == "" {
		t.Fatal("no refresh token with offline_access")
	}
}

func checkUserClaims(t *testing.T, where string, c map[string]any, org *snapshot.Org, sub string) {
	t.Helper()
	want := map[string]string{
		"sub":                sub,
		"org_id":             org.ID,
		"org_handle":         "acme",
		"org_name":           "ACME Corporation",
		"org_path":           "[platform acme]",
		"roles":              "[buyer]",
		"groups":             "[engineering orgkeeper:org:acme:admins]",
		"email":              "alice@acme.example",
		"email_verified":     "true",
		"name":               "Alice Example",
		"given_name":         "alice",
		"family_name":        "Example",
		"preferred_username": "alice@acme.example",
	}
	for k, v := range want {
		if got := str(c[k]); got != v {
			t.Errorf("%s: %s = %s, want %s", where, k, got, v)
		}
	}
}

func TestAuthorizationCodeIsSingleUseAndReuseRevokesItsTokens(t *testing.T) {
	e := newEnv(t, world{})
	code := e.codeFor("portal", "https://portal.example/callback", e.userID("acme", "alice"), verifier)
	status, body := e.redeem("portal", "https://portal.example/callback", code, verifier)
	if status != http.StatusOK {
		t.Fatalf("first redemption: %d %v", status, body)
	}
	rt := body["refresh_token"].(string)
	status, body = e.redeem("portal", "https://portal.example/callback", code, verifier)
	if status != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Fatalf("second redemption: %d %v", status, body)
	}
	status, body = e.refresh("portal", rt)
	if status != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Fatalf("refresh token issued from a reused code still works: %d %v", status, body)
	}
}

func TestCodeOfAnotherClientIsRefused(t *testing.T) {
	e := newEnv(t, world{})
	code := e.codeFor("portal", "https://portal.example/callback", e.userID("acme", "alice"), verifier)
	status, body := e.redeem("other", "https://portal.example/callback", code, verifier)
	if status != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Fatalf("another client's code: %d %v", status, body)
	}
}

func TestRedirectURIVariantsAreRefusedAtAuthorize(t *testing.T) {
	e := newEnv(t, world{})
	for name, uri := range map[string]string{
		"an added path segment":         "https://portal.example/callback/x",
		"an added query":                "https://portal.example/callback?x=1",
		"a fragment":                    "https://portal.example/callback#x",
		"an upper-case host":            "https://PORTAL.example/callback",
		"a different port":              "https://portal.example:8443/callback",
		"the default port written out":  "https://portal.example:443/callback",
		"plain http":                    "http://portal.example/callback",
		"userinfo before the host":      "https://evil@portal.example/callback",
		"a host after userinfo":         "https://portal.example@evil.example/callback",
		"percent-encoded characters":    "https://portal.example/%63allback",
		"a trailing slash":              "https://portal.example/callback/",
		"a trailing dot in the host":    "https://portal.example./callback",
		"another client's redirect URI": "https://other.example/callback",
		"a path traversal":              "https://portal.example/callback/../callback",
	} {
		t.Run(name, func(t *testing.T) {
			resp := e.authorize(authParams("portal", uri))
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
				t.Errorf("%s: status %d, Location %q; want 400 without redirect", uri, resp.StatusCode, resp.Header.Get("Location"))
			}
		})
	}
	t.Run("the registered URI itself is accepted", func(t *testing.T) {
		e.authRequestID(e.authorize(authParams("portal", "https://portal.example/callback")))
	})
}

func TestLoopbackPortVarianceOnlyForNativePublicClients(t *testing.T) {
	e := newEnv(t, world{})
	pkce := func(p url.Values) url.Values {
		p.Set("code_challenge", s256(verifier))
		p.Set("code_challenge_method", "S256")
		return p
	}
	for _, uri := range []string{"http://127.0.0.1:49152/callback", "http://[::1]:8080/callback", "http://127.0.0.1/callback"} {
		e.authRequestID(e.authorize(pkce(authParams("cli", uri))))
	}
	for _, uri := range []string{
		"http://localhost:49152/callback", "http://127.0.0.1:49152/callback/", "https://127.0.0.1:49152/callback",
		"http://127.0.0.1:49152/callback?x", "http://[::1]:8080/other", "http://127.0.0.2:8080/callback",
		"http://127.0.0.1:abc/callback", "http://u@127.0.0.1:1/callback",
	} {
		if resp := e.authorize(pkce(authParams("cli", uri))); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", uri, resp.StatusCode)
		}
	}
}

func TestPKCEPolicy(t *testing.T) {
	e := newEnv(t, world{})
	alice := e.userID("acme", "alice")

	t.Run("a code obtained with a challenge cannot be redeemed without the verifier", func(t *testing.T) {
		code := e.codeFor("portal", "https://portal.example/callback", alice, verifier)
		status, body := e.redeem("portal", "https://portal.example/callback", code, "")
		if status != http.StatusBadRequest || body["error"] != "invalid_request" {
			t.Fatalf("downgrade: %d %v", status, body)
		}
	})
	t.Run("a wrong verifier is refused", func(t *testing.T) {
		code := e.codeFor("spa", "https://spa.example/callback", alice, verifier)
		status, body := e.redeem("spa", "https://spa.example/callback", code, verifier+"x")
		if status != http.StatusBadRequest || body["error"] != "invalid_grant" {
			t.Fatalf("wrong verifier: %d %v", status, body)
		}
	})
	t.Run("a public client redeems with the verifier", func(t *testing.T) {
		code := e.codeFor("spa", "https://spa.example/callback", alice, verifier)
		if status, body := e.redeem("spa", "https://spa.example/callback", code, verifier); status != http.StatusOK {
			t.Fatalf("public client: %d %v", status, body)
		}
	})
	for name, tc := range map[string]struct {
		client string
		params map[string]string
	}{
		"the plain method is refused":             {"portal", map[string]string{"code_challenge": verifier, "code_challenge_method": "plain"}},
		"a challenge without a method is refused": {"portal", map[string]string{"code_challenge": verifier}},
		"a public client without PKCE is refused": {"spa", nil},
	} {
		t.Run(name, func(t *testing.T) {
			p := authParams(tc.client, "https://"+tc.client+".example/callback")
			for k, v := range tc.params {
				p.Set(k, v)
			}
			resp := e.authorize(p)
			loc, _ := url.Parse(resp.Header.Get("Location"))
			if resp.StatusCode != http.StatusFound || loc == nil || loc.Query().Get("error") != "invalid_request" {
				t.Fatalf("status %d Location %q; want an invalid_request redirect", resp.StatusCode, resp.Header.Get("Location"))
			}
			if loc.Query().Get("iss") != e.issuer || loc.Query().Get("state") != "xyz" {
				t.Errorf("error response lacks iss or state: %s", loc)
			}
		})
	}
}

func TestRefreshTokens(t *testing.T) {
	const redirect = "https://portal.example/callback"
	start := func(t *testing.T, e *env) string {
		code := e.codeFor("portal", redirect, e.userID("acme", "alice"), verifier)
		status, body := e.redeem("portal", redirect, code, verifier)
		if status != http.StatusOK {
			t.Fatalf("redeem: %d %v", status, body)
		}
		return body["refresh_token"].(string)
	}

	t.Run("every use rotates, and reusing a rotated token revokes the family", func(t *testing.T) {
		e := newEnv(t, world{})
		rt1 := start(t, e)
		status, body := e.refresh("portal", rt1)
		if status != http.StatusOK {
			t.Fatalf("refresh: %d %v", status, body)
		}
		rt2 := body["refresh_token"].(string)
		if rt2 == "" || rt2 == rt1 {
			t.Fatalf("not rotated: %q", rt2)
		}
		checkUserClaims(t, "refreshed ID token", jwtClaims(t, body["id_token"].(string)), e.snap().Org("acme"), e.userID("acme", "alice"))
		if status, body := e.refresh("portal", rt1); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
			t.Fatalf("reuse: %d %v", status, body)
		}
		if status, body := e.refresh("portal", rt2); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
			t.Fatalf("successor after reuse: %d %v", status, body)
		}
	})
	t.Run("another client cannot use the token", func(t *testing.T) {
		e := newEnv(t, world{})
		rt := start(t, e)
		if status, body := e.refresh("other", rt); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
			t.Fatalf("other client: %d %v", status, body)
		}
		if status, body := e.refresh("portal", rt); status != http.StatusOK {
			t.Fatalf("the owner after the other client's attempt: %d %v", status, body)
		}
	})
	t.Run("a suspended organization stops refresh", func(t *testing.T) {
		e := newEnv(t, world{})
		rt := start(t, e)
		e.setWorld(world{suspendAcme: true})
		if status, body := e.refresh("portal", rt); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
			t.Fatalf("suspended org: %d %v", status, body)
		}
	})
	t.Run("a disabled user stops refresh", func(t *testing.T) {
		e := newEnv(t, world{})
		rt := start(t, e)
		e.setWorld(world{disableAlice: true})
		if status, body := e.refresh("portal", rt); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
			t.Fatalf("disabled user: %d %v", status, body)
		}
	})
	t.Run("revocation ends the grant", func(t *testing.T) {
		e := newEnv(t, world{})
		rt := start(t, e)
		req, _ := http.NewRequest(http.MethodPost, e.issuer+"/revoke", strings.NewReader(url.Values{"token": {rt}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("portal", clientSecret("portal"))
		resp, err := e.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("revoke: %d", resp.StatusCode)
		}
		if status, body := e.refresh("portal", rt); status != http.StatusBadRequest {
			t.Fatalf("revoked token: %d %v", status, body)
		}
	})
}

func TestUserNotSharedWithTheApplicationGetsAccessDenied(t *testing.T) {
	e := newEnv(t, world{})
	p := authParams("portal", "https://portal.example/callback")
	p.Set("code_challenge", s256(verifier))
	p.Set("code_challenge_method", "S256")
	id := e.authRequestID(e.authorize(p))
	e.login(id, e.userID("globex", "bob"))
	q := e.callback(id).Query()
	if q.Get("error") != "access_denied" || q.Get("code") != "" || q.Get("iss") != e.issuer {
		t.Fatalf("bob of globex at portal (shared with acme only): %v", q)
	}
}

func TestClientCredentials(t *testing.T) {
	e := newEnv(t, world{})
	cc := func(client, org string) (int, map[string]any) {
		form := url.Values{"grant_type": {"client_credentials"}, "scope": {"api"}}
		if org != "" {
			form.Set("organization", org)
		}
		return e.token(client, clientSecret(client), form)
	}
	t.Run("without organization the token is for the client", func(t *testing.T) {
		status, body := cc("portal", "")
		if status != http.StatusOK {
			t.Fatalf("%d %v", status, body)
		}
		c := jwtClaims(t, body["access_token"].(string))
		if c["sub"] != "portal" || c["org_id"] != nil {
			t.Errorf("claims %v", c)
		}
	})
	t.Run("with a shared organization the token carries its claims", func(t *testing.T) {
		status, body := cc("portal", "acme")
		if status != http.StatusOK {
			t.Fatalf("%d %v", status, body)
		}
		c := jwtClaims(t, body["access_token"].(string))
		if c["sub"] != "portal" || c["org_id"] != e.snap().Org("acme").ID || c["org_handle"] != "acme" || str(c["org_path"]) != "[platform acme]" {
			t.Errorf("claims %v", c)
		}
	})
	for _, org := range []string{"globex", "nosuchorg"} {
		t.Run("an organization the application is not shared with is refused: "+org, func(t *testing.T) {
			if status, body := cc("portal", org); status != http.StatusBadRequest || body["error"] != "access_denied" {
				t.Fatalf("%d %v", status, body)
			}
		})
	}
	t.Run("a wrong secret is refused", func(t *testing.T) {
		status, body := e.token("portal", "wrong", url.Values{"grant_type": {"client_credentials"}})
		if status != http.StatusUnauthorized || body["error"] != "invalid_client" {
			t.Fatalf("%d %v", status, body)
		}
	})
	t.Run("a client without the grant is refused", func(t *testing.T) {
		if status, body := cc("other", ""); status == http.StatusOK {
			t.Fatalf("%d %v", status, body)
		}
	})
	t.Run("the password grant is not supported", func(t *testing.T) {
		status, body := e.token("portal", clientSecret("portal"), url.Values{"grant_type": {"password"}, "username": {"a"}, "password": {"b"}})
		if status != http.StatusBadRequest || body["error"] != "unsupported_grant_type" {
			t.Fatalf("%d %v", status, body)
		}
	})
	t.Run("opaque tokens introspect for their client only", func(t *testing.T) {
		status, body := cc("opaque", "acme")
		if status != http.StatusOK {
			t.Fatalf("%d %v", status, body)
		}
		at := body["access_token"].(string)
		if strings.Count(at, ".") == 2 {
			t.Fatalf("opaque client got a JWT")
		}
		intro := func(client string) map[string]any {
			req, _ := http.NewRequest(http.MethodPost, e.issuer+"/oauth/introspect", strings.NewReader(url.Values{"token": {at}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(client, clientSecret(client))
			resp, err := e.http.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var m map[string]any
			json.NewDecoder(resp.Body).Decode(&m)
			return m
		}
		if m := intro("opaque"); m["active"] != true || m["org_handle"] != "acme" || m["client_id"] != "opaque" {
			t.Errorf("introspection by the owner: %v", m)
		}
		if m := intro("portal"); m["active"] != false {
			t.Errorf("introspection by another client: %v", m)
		}
	})
}

func TestEndSessionWithHintDeletesTheLoginSessionAndMatchesPostLogoutURIsExactly(t *testing.T) {
	e := newEnv(t, world{}, withLoginPages)
	ctx := context.Background()
	ls, err := e.sessions.CreateLoginSession(ctx, sessionFor(e.userID("acme", "alice")))
	if err != nil {
		t.Fatal(err)
	}
	hint := e.userTokens()["id_token"].(string)
	get := func(q url.Values) *http.Response {
		q.Set("id_token_hint", hint)
		req, _ := http.NewRequest(http.MethodGet, e.issuer+"/end_session?"+q.Encode(), nil)
		req.AddCookie(&http.Cookie{Name: "orgkeeper_session", Value: ls.ID})
		resp, err := e.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := get(url.Values{"client_id": {"portal"}, "post_logout_redirect_uri": {"https://portal.example/x"}}); resp.StatusCode == http.StatusFound {
		t.Fatalf("unregistered post-logout URI redirected to %s", resp.Header.Get("Location"))
	}
	resp := get(url.Values{"client_id": {"portal"}, "post_logout_redirect_uri": {"https://portal.example/"}, "state": {"s"}})
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), "https://portal.example/?state=s") {
		t.Fatalf("end session: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, err := e.sessions.GetLoginSession(ctx, ls.ID); err == nil {
		t.Fatal("login session still exists")
	}
}

func TestUserinfoRefusesMachineTokens(t *testing.T) {
	e := newEnv(t, world{})
	_, body := e.token("portal", clientSecret("portal"), url.Values{"grant_type": {"client_credentials"}})
	req, _ := http.NewRequest(http.MethodGet, e.issuer+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+body["access_token"].(string))
	resp, err := e.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Fatal("userinfo served a machine token")
	}
}
