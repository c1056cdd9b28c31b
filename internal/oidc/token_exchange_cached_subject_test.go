package oidc_test

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/keys"
	orgoidc "github.com/orgkeeper/orgkeeper/internal/oidc"
)

// rotatingKeys serves whatever key set it holds, as the operator's key
// source does across rotations.
type rotatingKeys struct{ set atomic.Pointer[keys.KeySet] }

func (r *rotatingKeys) KeySet() *keys.KeySet { return r.set.Load() }

func withRotatingKeys(r *rotatingKeys) func(*env, *orgoidc.Config) {
	return func(_ *env, c *orgoidc.Config) { c.Keys = r }
}

// A subject token whose verification the exchange cached is refused once
// the key that signed it is no longer served, exactly as an uncached one.
func TestAnExchangedSubjectTokenEndsWithTheKeyThatSignedIt(t *testing.T) {
	start := time.Now()
	ks, err := keys.NewKeySet(start)
	if err != nil {
		t.Fatal(err)
	}
	src := &rotatingKeys{}
	src.set.Store(ks)
	e := newEnvWithKeys(t, switchWorld(), ks, withRotatingKeys(src))
	home := e.signInTo("switcher", switcherRedirect, "acme", "alice")
	for _, f := range []map[string][]string{
		switchForm(home["access_token"].(string), accessTokenType, "acme-eu"),
		switchForm(home["id_token"].(string), idTokenType, "acme-eu"),
	} {
		for range 2 { // the second exchange is served from the cache
			if status, body := e.exchange("switcher", f); status != http.StatusOK {
				t.Fatalf("%s before the rotation: %d %v", f["subject_token_type"][0], status, body)
			}
		}
	}

	// Two rotations: the key that signed the tokens is previous after the
	// first and gone after the second.
	rotated, _, err := keys.Rotate(ks, start.Add(25*time.Hour), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	src.set.Store(rotated)
	if status, body := e.exchange("switcher", switchForm(home["access_token"].(string), accessTokenType, "acme-eu")); status != http.StatusOK {
		t.Fatalf("with the signing key previous: %d %v", status, body)
	}
	retired, _, err := keys.Rotate(rotated, start.Add(50*time.Hour), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	src.set.Store(retired)
	for _, f := range []map[string][]string{
		switchForm(home["access_token"].(string), accessTokenType, "acme-eu"),
		switchForm(home["id_token"].(string), idTokenType, "acme-eu"),
	} {
		if status, body := e.exchange("switcher", f); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
			t.Fatalf("%s of a retired key: got %d %v, want invalid_grant", f["subject_token_type"][0], status, body)
		}
	}
}

// Every check of the current state runs on every exchange, whether the
// subject token's verification is cached or not: an ID token exchanged
// once (and so cached) is refused once the admin is disabled or their
// sessions are revoked. TestTokenExchangeFollowsTheWorld does the same
// with access tokens for every other change of state.
func TestACachedSubjectTokenStillFollowsTheWorld(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(*iamv1.OrgUser)
	}{
		{"a disabled admin's cached ID token is refused", func(u *iamv1.OrgUser) { u.Spec.Disabled = true }},
		{"a cached ID token of revoked sessions is refused", func(u *iamv1.OrgUser) {
			at := metav1.NewTime(time.Now().Add(time.Hour))
			u.Status.SessionsRevokedAt = &at
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, switchWorld())
			home := e.signInTo("switcher", switcherRedirect, "acme", "alice")
			f := switchForm(home["id_token"].(string), idTokenType, "acme-eu")
			for range 2 {
				if status, body := e.exchange("switcher", f); status != http.StatusOK {
					t.Fatalf("before the change: %d %v", status, body)
				}
			}
			e.setWorld(switchWorld(editUser("alice", c.change)))
			if status, body := e.exchange("switcher", f); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
				t.Fatalf("after the change: got %d %v, want invalid_grant", status, body)
			}
		})
	}
}
