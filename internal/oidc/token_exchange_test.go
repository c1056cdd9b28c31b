package oidc_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	orgoidc "github.com/orgkeeper/orgkeeper/internal/oidc"
	"github.com/orgkeeper/orgkeeper/internal/session"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
)

// Organization switch by RFC 8693 token exchange (token_exchange.go).

const (
	tokenExchangeGrant = "urn:ietf:params:oauth:grant-type:token-exchange"
	accessTokenType    = "urn:ietf:params:oauth:token-type:access_token"
	idTokenType        = "urn:ietf:params:oauth:token-type:id_token"
	refreshTokenType   = "urn:ietf:params:oauth:token-type:refresh_token"
)

// Redirect URIs of the switch applications (app() gives each
// https://<name>.example/callback; the public one uses loopback).
const (
	switcherRedirect  = "https://switcher.example/callback"
	switchCLIRedirect = "http://127.0.0.1/callback"
)

// switchWorld is the test world with a deeper hierarchy and applications
// that enable token exchange:
//
//	platform
//	├── acme          alice (admin), carol (user)
//	│   └── acme-eu   erin (admin)
//	│       └── acme-eu-west
//	└── globex        bob (admin, in this world)
//
// switcher (Confidential, JWT), switch-opaque (Confidential, opaque
// tokens) and switch-cli (Public) are shared with acme and globex and
// their subtrees; switch-narrow with acme alone.
func switchWorld(changes ...func(*snapshot.Input)) world {
	exchange := st.WithGrantTypes(iamv1.GrantTypeAuthorizationCode, iamv1.GrantTypeRefreshToken,
		iamv1.GrantTypeClientCredentials, iamv1.GrantTypeTokenExchange)
	wide := st.SharedWith(true, "acme", "globex")
	return world{
		users: map[string][]st.UserOption{"bob": {st.WithRoles("admin")}},
		extra: []any{
			st.Org("acme-eu", st.WithParent("acme")),
			st.Org("acme-eu-west", st.WithParent("acme-eu")),
			st.User("acme", "carol", "carol@acme.example", st.WithNames("Carol Example", "carol", "Example")),
			st.User("acme-eu", "erin", "erin@acme-eu.example", st.WithNames("Erin Example", "erin", "Example"), st.WithRoles("admin")),
			st.App("platform", "switcher", exchange, wide),
			st.App("platform", "switch-opaque", exchange, wide, st.WithAccessTokenFormat(iamv1.AccessTokenFormatOpaque)),
			st.App("platform", "switch-cli", st.WithGrantTypes(iamv1.GrantTypeAuthorizationCode, iamv1.GrantTypeRefreshToken,
				iamv1.GrantTypeTokenExchange), wide, st.Public(), st.WithRedirectURIs(switchCLIRedirect)),
			st.App("platform", "switch-narrow", exchange, st.SharedWith(false, "acme")),
		},
		edit: func(in *snapshot.Input) {
			for _, c := range changes {
				c(in)
			}
		},
	}
}

// editOrg and editUser change one object of the input.
func editOrg(name string, f func(*iamv1.Organization)) func(*snapshot.Input) {
	return func(in *snapshot.Input) {
		for i := range in.Organizations {
			if in.Organizations[i].Name == name {
				f(&in.Organizations[i])
			}
		}
	}
}

func editUser(name string, f func(*iamv1.OrgUser)) func(*snapshot.Input) {
	return func(in *snapshot.Input) {
		for i := range in.Users {
			if in.Users[i].Name == name {
				f(&in.Users[i])
			}
		}
	}
}

// withClock makes the provider's grant decisions use *now.
func withClock(now *atomic.Pointer[time.Time]) envOption {
	return func(_ *env, c *orgoidc.Config) { c.Now = func() time.Time { return *now.Load() } }
}

// signInTo runs the code flow of user (org/name) at client with a sign-in
// by the methods amr and returns the token response.
func (e *env) signInTo(clientID, redirectURI, orgName, name string, amr ...string) map[string]any {
	e.t.Helper()
	p := authParams(clientID, redirectURI, "openid", "profile", "email", "offline_access")
	verifierValue := ""
	if c := e.snap().Client(clientID); c != nil && c.IsPublic() {
		verifierValue = verifier
		p.Set("code_challenge", s256(verifier))
		p.Set("code_challenge_method", "S256")
	}
	id := e.authRequestID(e.authorize(p))
	e.login(id, e.userID(orgName, name))
	if len(amr) > 0 {
		if _, err := e.sessions.UpdateAuthRequest(context.Background(), id, func(r *session.AuthRequest) error {
			r.AMR = amr
			return nil
		}); err != nil {
			e.t.Fatal(err)
		}
	}
	code := e.callback(id).Query().Get("code")
	status, body := e.redeem(clientID, redirectURI, code, verifierValue)
	if status != http.StatusOK {
		e.t.Fatalf("redeem at %s: %d %v", clientID, status, body)
	}
	return body
}

// exchange posts a token exchange request of clientID, authenticated as
// its type requires (HTTP Basic for Confidential, client_id for Public).
func (e *env) exchange(clientID string, form url.Values) (int, map[string]any) {
	e.t.Helper()
	f := url.Values{"grant_type": {tokenExchangeGrant}}
	for k, v := range form {
		f[k] = v
	}
	return e.tokenAs(clientID, f)
}

func switchForm(subjectToken, subjectType, organization string) url.Values {
	return url.Values{"subject_token": {subjectToken}, "subject_token_type": {subjectType}, "organization": {organization}}
}

func TestAnAdminSwitchesIntoADescendantWithAnAccessToken(t *testing.T) {
	e := newEnv(t, switchWorld())
	home := e.signInTo("switcher", switcherRedirect, "acme", "alice")
	subjectClaims := jwtClaims(t, home["access_token"].(string))

	status, body := e.exchange("switcher", switchForm(home["access_token"].(string), accessTokenType, "acme-eu"))
	if status != http.StatusOK {
		t.Fatalf("exchange: %d %v", status, body)
	}
	if body["issued_token_type"] != accessTokenType || body["token_type"] != "Bearer" {
		t.Errorf("issued_token_type %v, token_type %v", body["issued_token_type"], body["token_type"])
	}
	if _, ok := body["refresh_token"]; ok {
		t.Error("an exchange issued a refresh token")
	}
	at := jwtClaims(t, body["access_token"].(string))
	alice := e.userID("acme", "alice")
	eu := e.snap().Org("acme-eu")
	for k, want := range map[string]any{
		"sub": alice, "org_handle": "acme-eu", "org_id": eu.ID, "org_name": eu.DisplayName,
		"client_id": "switcher", "email": "alice@acme.example",
	} {
		if at[k] != want {
			t.Errorf("access token %s = %v, want %v", k, at[k], want)
		}
	}
	if got := strings.Join(strs(at["org_path"]), "/"); got != "platform/acme/acme-eu" {
		t.Errorf("org_path = %v", got)
	}
	if got := strs(at["groups"]); !slices.Equal(got, []string{"orgkeeper:org:acme-eu:admins"}) {
		t.Errorf("groups = %v, want only acme-eu's admin group", got)
	}
	if got, ok := at["roles"].([]any); !ok || len(got) != 0 {
		t.Errorf("roles = %#v, want an empty list", at["roles"])
	}
	act, _ := at["act"].(map[string]any)
	if act["sub"] != alice || act["org_handle"] != "acme" || act["org_id"] != e.snap().Org("acme").ID || act["iss"] != e.issuer {
		t.Errorf("act = %v, want alice of acme at this issuer", at["act"])
	}
	if exp, subjectExp := at["exp"].(float64), subjectClaims["exp"].(float64); exp > subjectExp {
		t.Errorf("the exchanged token expires at %v, after the subject token (%v)", exp, subjectExp)
	}

	// With openid in the scopes, an ID token for acme-eu comes along.
	idt := jwtClaims(t, body["id_token"].(string))
	if idt["org_handle"] != "acme-eu" || idt["sub"] != alice || idt["act"] == nil {
		t.Errorf("ID token: org_handle %v sub %v act %v", idt["org_handle"], idt["sub"], idt["act"])
	}
	if got := strs(idt["amr"]); !slices.Equal(got, []string{"pwd"}) {
		t.Errorf("ID token amr = %v, want the subject sign-in's", got)
	}
	if homeID := jwtClaims(t, home["id_token"].(string)); idt["auth_time"] == nil || idt["auth_time"] != homeID["auth_time"] {
		t.Errorf("ID token auth_time = %v, want the subject sign-in's %v", idt["auth_time"], homeID["auth_time"])
	}

	// userinfo and introspection see the token as acme-eu's.
	resp, raw := e.send(http.MethodGet, "/userinfo", nil, func(r *http.Request) {
		r.Header.Set("Authorization", "Bearer "+body["access_token"].(string))
	})
	ui := decodeJSON(t, resp, raw)
	if resp.StatusCode != http.StatusOK || ui["org_handle"] != "acme-eu" || !slices.Equal(strs(ui["groups"]), []string{"orgkeeper:org:acme-eu:admins"}) {
		t.Errorf("userinfo: %d %v", resp.StatusCode, ui)
	}
	resp, raw = e.send(http.MethodPost, "/oauth/introspect", url.Values{"token": {body["access_token"].(string)}}, withBasic("switcher", clientSecret("switcher")))
	in := decodeJSON(t, resp, raw)
	if in["active"] != true || in["org_handle"] != "acme-eu" {
		t.Errorf("introspection: %v", in)
	}
	if a, _ := in["act"].(map[string]any); a["sub"] != alice {
		t.Errorf("introspection act = %v", in["act"])
	}
}

func TestAnAdminSwitchesWithAnIDTokenAnOpaqueTokenOrAsAPublicClient(t *testing.T) {
	e := newEnv(t, switchWorld())
	for _, c := range []struct {
		name, client, redirect, tokenKey, tokenType, org string
	}{
		{"an ID token of a confidential client", "switcher", switcherRedirect, "id_token", idTokenType, "acme-eu"},
		{"an opaque access token", "switch-opaque", "https://switch-opaque.example/callback", "access_token", accessTokenType, "acme-eu"},
		{"an ID token of a public client, into a grandchild", "switch-cli", switchCLIRedirect, "id_token", idTokenType, "acme-eu-west"},
		{"an access token of a public client", "switch-cli", switchCLIRedirect, "access_token", accessTokenType, "acme-eu"},
	} {
		t.Run(c.name, func(t *testing.T) {
			home := e.signInTo(c.client, c.redirect, "acme", "alice")
			status, body := e.exchange(c.client, switchForm(home[c.tokenKey].(string), c.tokenType, c.org))
			if status != http.StatusOK {
				t.Fatalf("exchange: %d %v", status, body)
			}
			idt := jwtClaims(t, body["id_token"].(string))
			if idt["org_handle"] != c.org || !slices.Equal(strs(idt["groups"]), []string{"orgkeeper:org:" + c.org + ":admins"}) {
				t.Errorf("ID token: org_handle %v groups %v", idt["org_handle"], idt["groups"])
			}
		})
	}
}

func TestAnExchangeCanAskForAnIDTokenAlone(t *testing.T) {
	e := newEnv(t, switchWorld())
	home := e.signInTo("switch-cli", switchCLIRedirect, "acme", "alice")
	form := switchForm(home["id_token"].(string), idTokenType, "acme-eu")
	form.Set("requested_token_type", idTokenType)
	status, body := e.exchange("switch-cli", form)
	if status != http.StatusOK {
		t.Fatalf("exchange: %d %v", status, body)
	}
	if body["issued_token_type"] != idTokenType || body["token_type"] != "N_A" {
		t.Fatalf("issued_token_type %v token_type %v", body["issued_token_type"], body["token_type"])
	}
	idt := jwtClaims(t, body["access_token"].(string))
	if idt["org_handle"] != "acme-eu" || idt["aud"] == nil || idt["act"] == nil {
		t.Fatalf("ID token claims %v", idt)
	}
}

func TestTokenExchangeRefusals(t *testing.T) {
	now := time.Now()
	var clock atomic.Pointer[time.Time]
	clock.Store(&now)
	e := newEnv(t, switchWorld(), withClock(&clock))
	alice := e.signInTo("switcher", switcherRedirect, "acme", "alice")
	aliceAT, aliceID := alice["access_token"].(string), alice["id_token"].(string)
	carol := e.signInTo("switcher", switcherRedirect, "acme", "carol")["access_token"].(string)
	bob := e.signInTo("switcher", switcherRedirect, "globex", "bob")["access_token"].(string)
	erin := e.signInTo("switcher", switcherRedirect, "acme-eu", "erin")["access_token"].(string)
	cli := e.signInTo("switch-cli", switchCLIRedirect, "acme", "alice")["access_token"].(string)
	narrow := e.signInTo("switch-narrow", "https://switch-narrow.example/callback", "acme", "alice")["access_token"].(string)
	_, switched := e.exchange("switcher", switchForm(aliceAT, accessTokenType, "acme-eu"))
	machineStatus, machine := e.token("switcher", clientSecret("switcher"), url.Values{"grant_type": {"client_credentials"}, "organization": {"acme"}})
	if machineStatus != http.StatusOK || switched["access_token"] == nil {
		t.Fatalf("setup: machine token %d, switched %v", machineStatus, switched)
	}
	// A token of another issuer with the same claims: signed by another
	// key set, with its own issuer URL.
	foreign := newEnv(t, switchWorld())
	foreignAT := foreign.signInTo("switcher", switcherRedirect, "acme", "alice")["access_token"].(string)

	with := func(f url.Values, k, v string) url.Values {
		f.Set(k, v)
		return f
	}
	for _, c := range []struct {
		name   string
		client string
		form   url.Values
		status int
		code   string
		// desc, when set, is part of the error_description: the refusal
		// names its reason (another check would refuse with the same code).
		desc string
	}{
		{"a plain user of the organization is refused", "switcher", switchForm(carol, accessTokenType, "acme-eu"), 400, "access_denied", ""},
		{"an admin of a sibling organization is refused", "switcher", switchForm(bob, accessTokenType, "acme-eu"), 400, "access_denied", ""},
		{"an admin of a descendant cannot switch up into its ancestor", "switcher", switchForm(erin, accessTokenType, "acme"), 400, "access_denied", ""},
		{"an ancestor of the admin's organization is refused", "switcher", switchForm(aliceAT, accessTokenType, "platform"), 400, "access_denied", ""},
		{"a sibling of the admin's organization is refused", "switcher", switchForm(aliceAT, accessTokenType, "globex"), 400, "access_denied", ""},
		{"an organization that does not exist is refused", "switcher", switchForm(aliceAT, accessTokenType, "nowhere"), 400, "access_denied", ""},
		{"the admin's own organization is refused as pointless", "switcher", switchForm(aliceAT, accessTokenType, "acme"), 400, "invalid_request", ""},
		{"a descendant the application is not shared with is refused", "switch-narrow", switchForm(narrow, accessTokenType, "acme-eu"), 400, "access_denied", ""},
		{"a token of another application is refused", "switcher", switchForm(cli, accessTokenType, "acme-eu"), 400, "invalid_grant", ""},
		{"a token of another issuer is refused", "switcher", switchForm(foreignAT, accessTokenType, "acme-eu"), 400, "invalid_grant", ""},
		{"a token signed with the issuer's key but naming another issuer is refused", "switcher", switchForm(resign(t, e, aliceAT, "iss", "https://elsewhere.example"), accessTokenType, "acme-eu"), 400, "invalid_grant", ""},
		{"a token signed with the issuer's key, re-signed unchanged, is served", "switcher", switchForm(resign(t, e, aliceAT, "", ""), accessTokenType, "acme-eu"), 0, "", ""},
		{"a token with a forged payload is refused", "switcher", switchForm(forge(t, aliceAT), accessTokenType, "acme-eu"), 400, "invalid_grant", ""},
		{"an ID token with a forged payload is refused", "switcher", switchForm(forge(t, aliceID), idTokenType, "acme-eu"), 400, "invalid_grant", ""},
		{"an access token presented as an ID token is refused", "switcher", switchForm(aliceAT, idTokenType, "acme-eu"), 400, "invalid_grant", ""},
		{"an ID token presented as an access token is refused", "switcher", switchForm(aliceID, accessTokenType, "acme-eu"), 400, "invalid_grant", ""},
		{"a token obtained by a switch cannot be switched again", "switcher", switchForm(switched["access_token"].(string), accessTokenType, "acme-eu-west"), 400, "invalid_grant", "switching organization"},
		{"an ID token obtained by a switch cannot be switched again", "switcher", switchForm(switched["id_token"].(string), idTokenType, "acme-eu-west"), 400, "invalid_grant", "switching organization"},
		{"a machine token is refused", "switcher", switchForm(machine["access_token"].(string), accessTokenType, "acme-eu"), 400, "invalid_grant", ""},
		{"an actor token is refused", "switcher", with(switchForm(aliceAT, accessTokenType, "acme-eu"), "actor_token", aliceAT), 400, "invalid_request", ""},
		{"an actor token type alone is refused", "switcher", with(switchForm(aliceAT, accessTokenType, "acme-eu"), "actor_token_type", accessTokenType), 400, "invalid_request", ""},
		{"a refresh token as the requested token type is refused", "switcher", with(switchForm(aliceAT, accessTokenType, "acme-eu"), "requested_token_type", refreshTokenType), 400, "invalid_request", ""},
		{"an unknown requested token type is refused", "switcher", with(switchForm(aliceAT, accessTokenType, "acme-eu"), "requested_token_type", "urn:example:saml"), 400, "invalid_request", ""},
		{"a refresh token as the subject token type is refused", "switcher", switchForm(alice["refresh_token"].(string), refreshTokenType, "acme-eu"), 400, "invalid_request", ""},
		{"a missing subject token type is refused", "switcher", url.Values{"subject_token": {aliceAT}, "organization": {"acme-eu"}}, 400, "invalid_request", ""},
		{"a missing subject token is refused", "switcher", url.Values{"subject_token_type": {accessTokenType}, "organization": {"acme-eu"}}, 400, "invalid_request", ""},
		{"a missing organization is refused", "switcher", url.Values{"subject_token": {aliceAT}, "subject_token_type": {accessTokenType}}, 400, "invalid_request", ""},
		{"a resource is refused", "switcher", with(switchForm(aliceAT, accessTokenType, "acme-eu"), "resource", "https://api.example/"), 400, "invalid_target", ""},
		{"an audience other than the application is refused", "switcher", with(switchForm(aliceAT, accessTokenType, "acme-eu"), "audience", "portal"), 400, "invalid_target", ""},
		{"a scope beyond the subject token's is refused", "switcher", with(switchForm(aliceAT, accessTokenType, "acme-eu"), "scope", "openid offline_access"), 400, "invalid_scope", ""},
		{"an application that does not enable the grant is refused", "portal", switchForm(aliceAT, accessTokenType, "acme-eu"), 400, "unauthorized_client", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, body := e.exchange(c.client, c.form)
			if c.status == 0 {
				if status != http.StatusOK {
					t.Fatalf("got %d %v, want 200", status, body)
				}
				return
			}
			if status != c.status || body["error"] != c.code {
				t.Fatalf("got %d %v, want %d %s", status, body, c.status, c.code)
			}
			if d, _ := body["error_description"].(string); !strings.Contains(d, c.desc) {
				t.Fatalf("error_description %q does not say %q", d, c.desc)
			}
			if _, leaked := body["access_token"]; leaked {
				t.Fatal("a refusal carried a token")
			}
		})
	}

	t.Run("the same request is served, so that the refusals above are about what they change", func(t *testing.T) {
		if status, body := e.exchange("switcher", switchForm(aliceAT, accessTokenType, "acme-eu")); status != http.StatusOK {
			t.Fatalf("%d %v", status, body)
		}
		if status, body := e.exchange("switcher", switchForm(aliceID, idTokenType, "acme-eu")); status != http.StatusOK {
			t.Fatalf("%d %v", status, body)
		}
	})

	t.Run("a public client that sends a secret is refused", func(t *testing.T) {
		status, body := e.token("switch-cli", "a-secret", url.Values{"grant_type": {tokenExchangeGrant},
			"subject_token": {cli}, "subject_token_type": {accessTokenType}, "organization": {"acme-eu"}})
		if status != http.StatusUnauthorized || body["error"] != "invalid_client" {
			t.Fatalf("got %d %v", status, body)
		}
	})
	t.Run("a confidential client with a wrong secret is refused", func(t *testing.T) {
		status, body := e.token("switcher", "wrong", url.Values{"grant_type": {tokenExchangeGrant},
			"subject_token": {aliceAT}, "subject_token_type": {accessTokenType}, "organization": {"acme-eu"}})
		if status != http.StatusUnauthorized || body["error"] != "invalid_client" {
			t.Fatalf("got %d %v", status, body)
		}
	})

	t.Run("an expired access token or ID token is refused", func(t *testing.T) {
		later := now.Add(time.Hour)
		clock.Store(&later)
		defer clock.Store(&now)
		for _, f := range []url.Values{switchForm(aliceAT, accessTokenType, "acme-eu"), switchForm(aliceID, idTokenType, "acme-eu")} {
			if status, body := e.exchange("switcher", f); status != 400 || body["error"] != "invalid_grant" {
				t.Fatalf("%s: got %d %v", f.Get("subject_token_type"), status, body)
			}
		}
	})
}

// resign signs token's claims, with claim set to value (unless claim is
// ""), with the env's current signing key, as the issuer would.
func resign(t *testing.T, e *env, token, claim, value string) string {
	t.Helper()
	claims := jwtClaims(t, token)
	if claim != "" {
		claims[claim] = value
	}
	sk, err := e.keys.SigningKey()
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: sk.SignatureAlgorithm(), Key: sk.Key()},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", sk.ID()))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// forge changes a JWT's payload (the organization it names) and keeps the
// signature: the result is no longer signed by anyone.
func forge(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	claims := jwtClaims(t, token)
	claims["org_handle"] = "acme-eu"
	claims["exp"] = claims["exp"].(float64) + 3600
	b, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString(b) + "." + parts[2]
}

// The state of the world when the token is exchanged decides, and the
// switched tokens stop working when the world changes under them.
func TestTokenExchangeFollowsTheWorld(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(*snapshot.Input)
		code   string
	}{
		{"a suspended target is refused", editOrg("acme-eu", func(o *iamv1.Organization) { o.Spec.Suspended = true }), "access_denied"},
		{"a target below a suspended organization is refused", editOrg("acme-eu", func(o *iamv1.Organization) { o.Spec.Suspended = true }), "access_denied"},
		{"a target that requires MFA is refused for a password-only sign-in", editOrg("acme-eu", func(o *iamv1.Organization) {
			o.Spec.Login = &iamv1.LoginSettings{MFA: iamv1.MFARequired}
		}), "access_denied"},
		{"the application no longer shared with the target is refused", func(in *snapshot.Input) {
			for i := range in.Applications {
				if in.Applications[i].Name == "switcher" {
					in.Applications[i].Spec.Sharing = &iamv1.ApplicationSharing{Mode: iamv1.SharingModeSelected, Organizations: []string{"acme"}}
				}
			}
		}, "access_denied"},
		{"an admin who lost the admin role is refused", editUser("alice", func(u *iamv1.OrgUser) { u.Spec.Roles = nil }), "access_denied"},
		{"a disabled admin is refused", editUser("alice", func(u *iamv1.OrgUser) { u.Spec.Disabled = true }), "invalid_grant"},
		{"an admin whose organization was suspended is refused", editOrg("acme", func(o *iamv1.Organization) { o.Spec.Suspended = true }), "invalid_grant"},
		{"an admin whose sessions were revoked is refused", editUser("alice", func(u *iamv1.OrgUser) {
			at := metav1.NewTime(time.Now().Add(time.Hour))
			u.Status.SessionsRevokedAt = &at
		}), "invalid_grant"},
	} {
		t.Run(c.name, func(t *testing.T) {
			target := "acme-eu"
			if strings.Contains(c.name, "below a suspended") {
				target = "acme-eu-west"
			}
			e := newEnv(t, switchWorld())
			home := e.signInTo("switcher", switcherRedirect, "acme", "alice")
			at := home["access_token"].(string)
			status, body := e.exchange("switcher", switchForm(at, accessTokenType, target))
			if status != http.StatusOK {
				t.Fatalf("before the change: %d %v", status, body)
			}
			switched := body["access_token"].(string)

			e.setWorld(switchWorld(c.change))

			if status, body := e.exchange("switcher", switchForm(at, accessTokenType, target)); status != 400 || body["error"] != c.code {
				t.Fatalf("exchange after the change: got %d %v, want %s", status, body, c.code)
			}
			if s := e.userinfoStatus(switched); s != http.StatusUnauthorized {
				t.Errorf("userinfo of the switched token after the change: %d, want 401", s)
			}
			resp, raw := e.send(http.MethodPost, "/oauth/introspect", url.Values{"token": {switched}}, withBasic("switcher", clientSecret("switcher")))
			if decodeJSON(t, resp, raw)["active"] != false {
				t.Errorf("introspection of the switched token after the change: %s", raw)
			}
		})
	}
}

// An exchange never extends what a token grants in time: the switched
// tokens expire with the subject token at the latest.
func TestExchangedTokensNeverOutliveTheSubjectToken(t *testing.T) {
	now := time.Now()
	var clock atomic.Pointer[time.Time]
	clock.Store(&now)
	e := newEnv(t, switchWorld(), withClock(&clock))
	home := e.signInTo("switcher", switcherRedirect, "acme", "alice")
	subjectExp := jwtClaims(t, home["access_token"].(string))["exp"].(float64)

	later := now.Add(10 * time.Minute) // 5 of the subject token's 15 minutes left
	clock.Store(&later)
	status, body := e.exchange("switcher", switchForm(home["access_token"].(string), accessTokenType, "acme-eu"))
	if status != http.StatusOK {
		t.Fatalf("exchange: %d %v", status, body)
	}
	if exp := jwtClaims(t, body["access_token"].(string))["exp"].(float64); exp > subjectExp {
		t.Errorf("the access token expires %v s after the subject token", exp-subjectExp)
	}
	if exp := jwtClaims(t, body["id_token"].(string))["exp"].(float64); exp > subjectExp-9*60 {
		t.Errorf("the ID token lives %v s, past the 5 minutes the subject token had left", exp-float64(time.Now().Unix()))
	}
	if in := body["expires_in"].(float64); in > 5*60 {
		t.Errorf("expires_in = %v, want at most the subject token's remaining 300 s", in)
	}
}

func TestASignInWithASecondFactorSwitchesIntoATargetThatRequiresIt(t *testing.T) {
	e := newEnv(t, switchWorld(editOrg("acme-eu", func(o *iamv1.Organization) {
		o.Spec.Login = &iamv1.LoginSettings{MFA: iamv1.MFARequired}
	})))
	home := e.signInTo("switcher", switcherRedirect, "acme", "alice", "pwd", "otp")
	status, body := e.exchange("switcher", switchForm(home["access_token"].(string), accessTokenType, "acme-eu"))
	if status != http.StatusOK {
		t.Fatalf("exchange with amr [pwd otp]: %d %v", status, body)
	}
	if got := strs(jwtClaims(t, body["access_token"].(string))["amr"]); !slices.Equal(got, []string{"pwd", "otp"}) {
		t.Errorf("amr = %v", got)
	}
}

func TestDiscoveryAnnouncesTokenExchangeOnlyWhileAnApplicationEnablesIt(t *testing.T) {
	grants := func(e *env) []string {
		resp, body := e.send(http.MethodGet, "/.well-known/openid-configuration", nil)
		return strs(decodeJSON(t, resp, body)["grant_types_supported"])
	}
	e := newEnv(t, world{})
	if got := grants(e); slices.Contains(got, tokenExchangeGrant) {
		t.Fatalf("no application enables token exchange, discovery says %v", got)
	}
	e.setWorld(switchWorld())
	if got := grants(e); !slices.Contains(got, tokenExchangeGrant) {
		t.Fatalf("switcher enables token exchange, discovery says %v", got)
	}
	e.setWorld(world{})
	if got := grants(e); slices.Contains(got, tokenExchangeGrant) {
		t.Fatalf("after the applications went away discovery still says %v", got)
	}
}

func strs(v any) []string {
	items, _ := v.([]any)
	out := make([]string, 0, len(items))
	for _, i := range items {
		s, _ := i.(string)
		out = append(out, s)
	}
	return out
}
