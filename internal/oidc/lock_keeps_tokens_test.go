package oidc_test

import (
	"net/http"
	"testing"
	"time"

	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

// lockedAlice is a world whose alice has status.lockedUntil = until, as
// after repeated wrong passwords; disabled also sets spec.disabled.
func lockedAlice(until time.Time, disabled bool) world {
	return world{disableAlice: disabled, users: map[string][]st.UserOption{"alice": {st.LockedUntil(until)}}}
}

// A lock stops new password sign-ins, not the tokens of a sign-in before
// it: otherwise anyone who knows an email could cut its owner off,
// repeatedly, by typing wrong passwords.
func TestALockDoesNotRefuseTheTokensOfAnEarlierSignIn(t *testing.T) {
	e := newEnv(t, world{})
	now := time.Now()
	tokens := e.tokensSignedInAt(now.Add(-time.Minute))
	rt, at := tokens["refresh_token"].(string), tokens["access_token"].(string)

	// A code issued before the lock is redeemed too.
	id := e.authRequestID(e.authorize(authParams("portal", "https://portal.example/callback")))
	e.loginAt(e.http.Jar, id, e.userID("acme", "alice"), now.Add(-time.Minute))
	code := e.callback(id).Query().Get("code")

	e.setWorld(lockedAlice(now.Add(15*time.Minute), false))

	if status, body := e.redeem("portal", "https://portal.example/callback", code, ""); status != http.StatusOK {
		t.Errorf("redeeming a code of a sign-in before the lock: %d %v", status, body)
	}
	if !e.introspectActive(at) {
		t.Error("introspection: the access token is inactive because of the lock")
	}
	if s := e.userinfoStatus(at); s != http.StatusOK {
		t.Errorf("userinfo refused the access token because of the lock: %d", s)
	}
	status, body := e.refresh("portal", rt)
	if status != http.StatusOK {
		t.Fatalf("refresh refused because of the lock: %d %v", status, body)
	}

	// Disabling still refuses everything, lock or not.
	e.setWorld(lockedAlice(now.Add(15*time.Minute), true))
	if status, _ := e.refresh("portal", body["refresh_token"].(string)); status == http.StatusOK {
		t.Error("a disabled user's refresh token worked")
	}
	if s := e.userinfoStatus(at); s == http.StatusOK {
		t.Error("userinfo served a disabled user's access token")
	}
}
