package login_test

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orgkeeper/orgkeeper/internal/session"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
)

// lockAlice is a world change: alice's status.lockedUntil is until, as the
// lockout controller writes it after repeated wrong passwords.
func lockAlice(until time.Time) func(*snapshot.Input) {
	return func(in *snapshot.Input) {
		for i := range in.Users {
			if in.Users[i].Name == "alice" {
				in.Users[i].Status.LockedUntil = &metav1.Time{Time: until}
			}
		}
	}
}

// Whoever knows alice's email can lock her account by typing wrong
// passwords; that must not sign her out of the browser she is signed in on.
// A lock stops password verification only.
func TestALockDoesNotEndTheSignInSessionsThatCameBeforeIt(t *testing.T) {
	e := newEnv(t)
	first := e.authorize(func(a *session.AuthRequest) { a.Organization = "acme" })
	wantCallback(t, e, e.login(first), first)

	e.snaps.Set(world(e.clock.Now(), lockAlice(e.clock.Now().Add(15*time.Minute))))

	// Her signed-in browser still completes sign-ins (SSO), prompt=none too.
	id := e.authorize(func(a *session.AuthRequest) { a.Organization = "acme" })
	wantCallback(t, e, e.start(id), id)
	id = e.authorize(func(a *session.AuthRequest) { a.Prompt = []string{"none"} })
	wantCallback(t, e, e.start(id), id)

	// A new password sign-in, in another browser, is still refused.
	other := e.otherBrowser()
	id = other.authorize(func(a *session.AuthRequest) { a.Organization = "acme" })
	other.login(id)
	if other.authRequest(id).Done {
		t.Fatal("a password sign-in of a locked account succeeded")
	}
}
