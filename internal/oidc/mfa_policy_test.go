package oidc_test

import (
	"net/http"
	"testing"
	"time"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

// mfaRequiredAt is a world whose organization name (acme, or its ancestor
// platform) sets login.mfa: Required.
func mfaRequiredAt(name string) world {
	return world{orgs: map[string][]st.OrgOption{name: {st.WithMFA(iamv1.MFARequired)}}}
}

// Turning login.mfa to Required retires the tokens of password-only
// sign-ins at once: the refresh token, introspection and userinfo apply
// the same rule as the login pages (rules.AMRSatisfies).
func TestTokensOfAPasswordOnlySignInStopWhenMFABecomesRequired(t *testing.T) {
	for _, c := range []struct{ name, org string }{
		{"the user's organization requires MFA", "acme"},
		{"an ancestor organization requires MFA", "platform"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, world{})
			tokens := e.tokensSignedInAt(time.Now()) // amr [pwd]
			rt, at := tokens["refresh_token"].(string), tokens["access_token"].(string)
			if !e.introspectActive(rt) || e.userinfoStatus(at) != http.StatusOK {
				t.Fatal("before the policy change the tokens must work")
			}

			e.setWorld(mfaRequiredAt(c.org))

			if status, body := e.refresh("portal", rt); status == http.StatusOK || body["error"] != "invalid_grant" {
				t.Fatalf("refresh of a password-only sign-in under mfa Required: %d %v", status, body["error"])
			}
			if e.introspectActive(rt) {
				t.Error("introspection: the refresh token of a password-only sign-in is active under mfa Required")
			}
			if e.introspectActive(at) {
				t.Error("introspection: the access token of a password-only sign-in is active under mfa Required")
			}
			if s := e.userinfoStatus(at); s != http.StatusUnauthorized {
				t.Errorf("userinfo for a password-only sign-in under mfa Required: %d, want 401", s)
			}

			// Back to Optional, the family still works (it was refused, not revoked).
			e.setWorld(world{})
			if status, body := e.refresh("portal", rt); status != http.StatusOK {
				t.Fatalf("refresh once mfa is Optional again: %d %v", status, body)
			}
		})
	}
}

func TestACodeOfAPasswordOnlySignInIsNotRedeemedOnceMFAIsRequired(t *testing.T) {
	e := newEnv(t, world{})
	id := e.authRequestID(e.authorize(authParams("portal", "https://portal.example/callback")))
	e.login(id, e.userID("acme", "alice"))
	code := e.callback(id).Query().Get("code")
	e.setWorld(mfaRequiredAt("acme"))
	if status, body := e.redeem("portal", "https://portal.example/callback", code, ""); status == http.StatusOK || body["error"] != "invalid_grant" {
		t.Fatalf("a code of a password-only sign-in was redeemed under mfa Required: %d %v", status, body)
	}
}
