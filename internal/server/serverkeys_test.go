package server_test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/credentials"
	"github.com/orgkeeper/orgkeeper/internal/keys"
	"github.com/orgkeeper/orgkeeper/internal/session"
)

// swappableKeys is a ServerKeysGetter whose keys the test replaces, as the
// projection does when the leader rotates the Secret.
type swappableKeys struct {
	p atomic.Pointer[keys.ServerKeys]
}

func (s *swappableKeys) ServerKeys() *keys.ServerKeys { return s.p.Load() }

func newKeys(t *testing.T, now time.Time) *keys.ServerKeys {
	t.Helper()
	k, err := keys.NewServerKeys(now, nil)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func testHash(t *testing.T) string {
	t.Helper()
	h, err := credentials.Hash(benchPassword)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func opaque(a *iamv1.SharedApplication) { a.Spec.AccessTokenFormat = iamv1.AccessTokenFormatOpaque }

// opaqueToken signs ada in and returns an opaque access token, which is
// encrypted with the current crypto key.
func opaqueToken(t *testing.T, is *storeIssuer) string {
	t.Helper()
	c := benchBrowser()
	code, err := is.code(c)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := is.exchange(c, code)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(tok, ".") == 2 {
		t.Fatalf("access token %q is a JWT, want an opaque one", tok)
	}
	if status, err := is.userinfo(tok); err != nil || status != http.StatusOK {
		t.Fatalf("userinfo before the rotation: status %d, err %v", status, err)
	}
	return tok
}

func TestAnOpaqueAccessTokenIssuedBeforeAKeyRotationStillWorksAfterIt(t *testing.T) {
	now := time.Now()
	getter := &swappableKeys{}
	getter.p.Store(newKeys(t, now))
	is := newStoreIssuerWithKeys(t, session.NewMemory(), testHash(t), false, getter, opaque)
	tok := opaqueToken(t, is)

	rotated, changed, err := keys.RotateServerKeys(getter.ServerKeys(), now.Add(time.Hour), time.Hour, nil)
	if err != nil || !changed {
		t.Fatalf("rotation: changed %v, err %v", changed, err)
	}
	getter.p.Store(rotated)
	if status, err := is.userinfo(tok); err != nil || status != http.StatusOK {
		t.Fatalf("userinfo after the rotation: status %d, err %v; the previous crypto key must still decrypt", status, err)
	}
	// New tokens use the new key and work too.
	opaqueToken(t, is)
}

func TestAnOpaqueAccessTokenOfKeysThisServerNeverHadIsRefused(t *testing.T) {
	// Without the previous key (as on a replica with keys of its own), the
	// same token is refused: the overlap is what keeps it working above.
	getter := &swappableKeys{}
	getter.p.Store(newKeys(t, time.Now()))
	is := newStoreIssuerWithKeys(t, session.NewMemory(), testHash(t), false, getter, opaque)
	tok := opaqueToken(t, is)
	getter.p.Store(newKeys(t, time.Now()))
	if status, err := is.userinfo(tok); err != nil || status != http.StatusUnauthorized {
		t.Fatalf("userinfo with a token of unknown keys: status %d, err %v; want 401", status, err)
	}
}

// formBeforeRotation opens a login form, then sets the keys to next, and
// returns the result of posting the form.
func formBeforeRotation(t *testing.T, next func(cur *keys.ServerKeys) *keys.ServerKeys) error {
	t.Helper()
	getter := &swappableKeys{}
	getter.p.Store(newKeys(t, time.Now()))
	is := newStoreIssuerWithKeys(t, session.NewMemory(), testHash(t), true, getter)
	c := benchBrowser()
	loc, err := is.loginPage(c)
	if err != nil {
		t.Fatal(err)
	}
	form, err := is.passwordForm(c, loc)
	if err != nil {
		t.Fatal(err)
	}
	getter.p.Store(next(getter.ServerKeys()))
	_, err = is.postPassword(c, form)
	return err
}

func TestALoginFormRenderedBeforeAKeyRotationIsAcceptedAfterIt(t *testing.T) {
	err := formBeforeRotation(t, func(cur *keys.ServerKeys) *keys.ServerKeys {
		rotated, _, err := keys.RotateServerKeys(cur, cur.Created.Add(time.Hour), time.Hour, nil)
		if err != nil {
			t.Fatal(err)
		}
		return rotated
	})
	if err != nil {
		t.Fatalf("a form signed with the previous CSRF key was refused after the rotation: %v", err)
	}
}

func TestALoginFormSignedWithKeysThisServerNeverHadIsRefused(t *testing.T) {
	err := formBeforeRotation(t, func(*keys.ServerKeys) *keys.ServerKeys { return newKeys(t, time.Now()) })
	if err == nil {
		t.Fatal("a form whose CSRF token was signed with unknown keys was accepted")
	}
}

func TestTheServerWaitsForItsKeysBeforeServingAndBeingReady(t *testing.T) {
	getter := &swappableKeys{}
	is := newStoreIssuerWithKeys(t, session.NewMemory(), testHash(t), false, getter)
	if err := is.srv.Ready(nil); err == nil || !strings.Contains(err.Error(), "server keys") {
		t.Fatalf("Ready() = %v, want an error naming the server keys", err)
	}
	resp, err := http.Get(is.url + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("before the keys: status %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	getter.p.Store(newKeys(t, time.Now()))
	if err := is.srv.Ready(nil); err != nil {
		t.Fatalf("Ready() with keys = %v", err)
	}
	if err := is.flow(); err != nil {
		t.Fatal(err)
	}
}

type staticServerKeys struct{ k *keys.ServerKeys }

func (s staticServerKeys) ServerKeys() *keys.ServerKeys { return s.k }

func TestAReplicaThatHasNotLoadedARotationYetAcceptsWhatARotatedReplicaMade(t *testing.T) {
	// Replica a has loaded the rotated Secret, replica b still serves the
	// keys from before (the watch has not reached it yet). They share the
	// session store, as replicas on Redis do.
	old := newKeys(t, time.Now())
	rotated, _, err := keys.RotateServerKeys(old, old.Created.Add(time.Hour), time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	store, hash := session.NewMemory(), testHash(t)
	a := newStoreIssuerWithKeys(t, store, hash, true, staticServerKeys{rotated}, opaque)
	b := newStoreIssuerWithKeys(t, store, hash, true, staticServerKeys{old}, opaque)

	c := benchBrowser()
	loc, err := a.loginPage(c)
	if err != nil {
		t.Fatal(err)
	}
	form, err := a.passwordForm(c, loc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.postPassword(c, form); err != nil {
		t.Fatalf("a form rendered by the rotated replica was refused by the other: %v", err)
	}
	tok := opaqueToken(t, a)
	if status, err := b.userinfo(tok); err != nil || status != http.StatusOK {
		t.Fatalf("an opaque token of the rotated replica: userinfo at the other: status %d, err %v", status, err)
	}
}
