package oidc_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

// Sessions are revoked by the users and orgs reconcilers writing
// status.sessionsRevokedAt; these tests write it as they would and check
// that the token endpoint, introspection and userinfo apply
// snapshot.User.SessionRevoked.

// revokedAt is a world whose alice (or, with org, an organization) has
// status.sessionsRevokedAt = at. spec.disabled stays false: the user was
// disabled and enabled again.
func revokedAt(at time.Time, org string) world {
	if org != "" {
		return world{orgs: map[string][]st.OrgOption{org: {st.OrgSessionsRevokedAt(at)}}}
	}
	return world{users: map[string][]st.UserOption{"alice": {st.SessionsRevokedAt(at)}}}
}

// tokensSignedInAt runs the code flow for alice at portal with a sign-in
// at authTime and returns the token response.
func (e *env) tokensSignedInAt(authTime time.Time) map[string]any {
	e.t.Helper()
	id := e.authRequestID(e.authorize(authParams("portal", "https://portal.example/callback")))
	e.loginAt(e.http.Jar, id, e.userID("acme", "alice"), authTime)
	code := e.callback(id).Query().Get("code")
	status, body := e.redeem("portal", "https://portal.example/callback", code, "")
	if status != http.StatusOK {
		e.t.Fatalf("redeem: %d %v", status, body)
	}
	return body
}

func (e *env) userinfoStatus(accessToken string) int {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.issuer+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+accessToken)
	resp, err := e.http.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (e *env) introspectActive(token string) bool {
	e.t.Helper()
	resp, body := e.send(http.MethodPost, "/oauth/introspect", url.Values{"token": {token}}, withBasic("portal", clientSecret("portal")))
	return decodeJSON(e.t.(*testing.T), resp, body)["active"] == true
}

func TestRevokedSessionsStayRevokedAfterReEnabling(t *testing.T) {
	for _, c := range []struct{ name, org string }{
		{"the user was disabled and enabled again", ""},
		{"the user's organization was suspended and resumed", "acme"},
		{"an ancestor organization was suspended and resumed", "platform"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, world{})
			now := time.Now()
			old := e.tokensSignedInAt(now.Add(-time.Hour))
			oldRT, oldAT := old["refresh_token"].(string), old["access_token"].(string)
			if !e.introspectActive(oldRT) || e.userinfoStatus(oldAT) != http.StatusOK {
				t.Fatal("before the revocation the tokens must work")
			}

			// Revoked half an hour ago; the user is enabled (again).
			e.setWorld(revokedAt(now.Add(-30*time.Minute), c.org))

			if status, body := e.refresh("portal", oldRT); status == http.StatusOK || body["error"] != "invalid_grant" {
				t.Fatalf("refresh with a token of a revoked session: %d %v", status, body["error"])
			}
			if e.introspectActive(oldRT) {
				t.Error("introspection: the refresh token of a revoked session is active")
			}
			if e.introspectActive(oldAT) {
				t.Error("introspection: the access token of a revoked session is active")
			}
			if s := e.userinfoStatus(oldAT); s == http.StatusOK {
				t.Error("userinfo served the access token of a revoked session")
			}

			// A new sign-in after the revocation works, refresh included.
			fresh := e.tokensSignedInAt(now)
			if status, body := e.refresh("portal", fresh["refresh_token"].(string)); status != http.StatusOK {
				t.Fatalf("refresh after a new sign-in: %d %v", status, body)
			}
			if s := e.userinfoStatus(fresh["access_token"].(string)); s != http.StatusOK {
				t.Fatalf("userinfo after a new sign-in: %d", s)
			}
		})
	}
}

func TestACodeFromARevokedSignInIsNotRedeemed(t *testing.T) {
	e := newEnv(t, world{})
	now := time.Now()
	id := e.authRequestID(e.authorize(authParams("portal", "https://portal.example/callback")))
	e.loginAt(e.http.Jar, id, e.userID("acme", "alice"), now.Add(-time.Hour))
	code := e.callback(id).Query().Get("code")
	e.setWorld(revokedAt(now.Add(-time.Minute), ""))
	if status, _ := e.redeem("portal", "https://portal.example/callback", code, ""); status == http.StatusOK {
		t.Fatal("a code of a revoked sign-in was redeemed")
	}
}
