package oidc

import (
	"crypto/ecdsa"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/orgkeeper/orgkeeper/internal/keys"
)

// swapKeys serves whatever key set it holds, as a rotating KeySetGetter.
type swapKeys struct{ set atomic.Pointer[keys.KeySet] }

func (s *swapKeys) KeySet() *keys.KeySet { return s.set.Load() }

func newTestKeySet(t *testing.T, at time.Time) *keys.KeySet {
	t.Helper()
	ks, err := keys.NewKeySet(at)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

func TestTheSubjectCacheKeepsItsBounds(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	ks := newTestKeySet(t, t0)
	kid := ks.Keys()[0].ID()
	sub := subjectToken{clientID: "switcher", userID: "u1", amr: []string{"pwd"}, scopes: []string{"openid"}, expiry: t0.Add(time.Hour)}

	t.Run("it holds at most its size, the least recently used evicted first", func(t *testing.T) {
		c := newSubjectCache(8, time.Minute)
		first := subjectKey(oidc.AccessTokenType, "token-0")
		c.put(first, sub, kid, t0)
		for i := 1; i < 100; i++ {
			c.put(subjectKey(oidc.AccessTokenType, fmt.Sprint("token-", i)), sub, kid, t0)
			if i%4 == 0 {
				c.get(first, ks, t0) // kept recent
			}
		}
		if c.len() != 8 {
			t.Fatalf("%d entries, want 8", c.len())
		}
		if _, ok := c.get(first, ks, t0); !ok {
			t.Error("the most recently used entry was evicted")
		}
		if _, ok := c.get(subjectKey(oidc.AccessTokenType, "token-1"), ks, t0); ok {
			t.Error("an old entry was not evicted")
		}
	})
	t.Run("an entry ends with its lifetime even if the token lives on", func(t *testing.T) {
		c := newSubjectCache(8, time.Minute)
		k := subjectKey(oidc.AccessTokenType, "t")
		c.put(k, sub, kid, t0)
		if _, ok := c.get(k, ks, t0.Add(59*time.Second)); !ok {
			t.Fatal("a fresh entry was not used")
		}
		if _, ok := c.get(k, ks, t0.Add(time.Minute)); ok {
			t.Fatal("an entry was used past its lifetime")
		}
		if c.len() != 0 {
			t.Error("the ended entry was kept")
		}
	})
	t.Run("an entry ends when its token expires", func(t *testing.T) {
		c := newSubjectCache(8, time.Hour)
		short := sub
		short.expiry = t0.Add(10 * time.Second)
		k := subjectKey(oidc.AccessTokenType, "t")
		c.put(k, short, kid, t0)
		if _, ok := c.get(k, ks, t0.Add(10*time.Second)); ok {
			t.Fatal("an expired token was served from the cache")
		}
	})
	t.Run("an entry ends when its signing key is no longer served", func(t *testing.T) {
		c := newSubjectCache(8, time.Hour)
		k := subjectKey(oidc.AccessTokenType, "t")
		c.put(k, sub, kid, t0)
		if _, ok := c.get(k, newTestKeySet(t, t0), t0); ok {
			t.Fatal("a token of a retired key was served from the cache")
		}
		if _, ok := c.get(k, nil, t0); ok {
			t.Fatal("a token was served from the cache with no keys loaded")
		}
	})
	t.Run("an expired token or one without a key is not stored", func(t *testing.T) {
		c := newSubjectCache(8, time.Hour)
		c.put(subjectKey(oidc.AccessTokenType, "a"), sub, kid, t0.Add(time.Hour))
		c.put(subjectKey(oidc.AccessTokenType, "b"), sub, "", t0)
		if c.len() != 0 {
			t.Fatalf("%d entries stored", c.len())
		}
	})
	t.Run("the same bytes as another token type are another entry", func(t *testing.T) {
		if subjectKey(oidc.AccessTokenType, "t") == subjectKey(oidc.IDTokenType, "t") {
			t.Fatal("the types share a key")
		}
	})
	t.Run("a caller cannot change a cached entry", func(t *testing.T) {
		c := newSubjectCache(8, time.Hour)
		k := subjectKey(oidc.AccessTokenType, "t")
		c.put(k, sub, kid, t0)
		got, _ := c.get(k, ks, t0)
		got.amr[0], got.scopes[0] = "changed", "changed"
		again, _ := c.get(k, ks, t0)
		if again.amr[0] != "pwd" || again.scopes[0] != "openid" {
			t.Fatalf("the entry changed: %v %v", again.amr, again.scopes)
		}
	})
}

// TestVerifiedSubjectTokensAreCachedWhileTheirKeyIsServed drives
// verifySubjectToken: only verified tokens are stored, a stored one is
// served while its key is, and rotation that retires the key ends it.
func TestVerifiedSubjectTokensAreCachedWhileTheirKeyIsServed(t *testing.T) {
	t0 := time.Now()
	ks := newTestKeySet(t, t0)
	src := &swapKeys{}
	src.set.Store(ks)
	h := &handler{issuer: jwsTestIssuer, subjects: newSubjectCache(subjectCacheSize, subjectCacheTTL),
		storage: &Storage{cfg: StorageConfig{Keys: src, Now: func() time.Time { return t0 }}}}
	k, _ := ks.Pair(keys.ES256)
	idToken := func(priv *ecdsa.PrivateKey, kid string) string {
		payload := fmt.Sprintf(`{"iss":%q,"sub":"u1","aud":["switcher"],"exp":%d,"auth_time":%d,"amr":["pwd"],"org_id":"o1"}`,
			jwsTestIssuer, t0.Add(time.Hour).Unix(), t0.Unix())
		return compact(t, signJWS(t, keys.ES256, priv, kid, []byte(payload), nil))
	}
	good := idToken(k.Current.Signer().(*ecdsa.PrivateKey), k.Current.ID())
	forged := good[:len(good)-4] + "AAAA" // another signature

	if _, ok := h.verifySubjectToken(t.Context(), forged, oidc.IDTokenType); ok || h.subjects.len() != 0 {
		t.Fatalf("a forged token: ok %v, %d entries", ok, h.subjects.len())
	}
	st, ok := h.verifySubjectToken(t.Context(), good, oidc.IDTokenType)
	if !ok || st.userID != "u1" || st.clientID != "switcher" || h.subjects.len() != 1 {
		t.Fatalf("the issuer's token: ok %v, %+v, %d entries", ok, st, h.subjects.len())
	}
	if again, ok := h.verifySubjectToken(t.Context(), good, oidc.IDTokenType); !ok || again.userID != st.userID {
		t.Fatalf("the cached token: ok %v, %+v", ok, again)
	}
	if _, ok := h.verifySubjectToken(t.Context(), good, oidc.AccessTokenType); ok {
		t.Fatal("the cached ID token was accepted as an access token")
	}

	rotated, _, err := keys.Rotate(ks, t0.Add(2*time.Hour), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	src.set.Store(rotated) // the signing key is now the previous one: still served
	if _, ok := h.verifySubjectToken(t.Context(), good, oidc.IDTokenType); !ok {
		t.Fatal("a token of the previous key was refused")
	}
	retired, _, err := keys.Rotate(rotated, t0.Add(4*time.Hour), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	src.set.Store(retired)
	if _, ok := h.verifySubjectToken(t.Context(), good, oidc.IDTokenType); ok {
		t.Fatal("a cached token of a retired key was accepted")
	}
}
