package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestTokenCache(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	key := cacheKey{Issuer: "https://login.example", ClientID: "kubernetes", Organization: "acme"}
	good := &entry{Issuer: key.Issuer, ClientID: key.ClientID, Organization: key.Organization,
		IDToken: "a.b.c", RefreshToken: "rt", Expiry: now.Add(10 * time.Minute)}
	for _, tc := range []struct {
		name string
		// prepare writes the cache file (path p) before the load.
		prepare   func(t *testing.T, c cache, p string)
		wantFresh bool
		wantEntry bool
		wantGone  bool // the file was removed as unusable
	}{
		{"a saved, unexpired entry is used without any request", func(t *testing.T, c cache, _ string) { mustSave(t, c, good) }, true, true, false},
		{"an entry about to expire is not fresh, but its refresh token is kept for a silent renewal", func(t *testing.T, c cache, _ string) {
			e := *good
			e.Expiry = now.Add(10 * time.Second)
			mustSave(t, c, &e)
		}, false, true, false},
		{"an expired entry is not fresh", func(t *testing.T, c cache, _ string) {
			e := *good
			e.Expiry = now.Add(-time.Minute)
			mustSave(t, c, &e)
		}, false, true, false},
		{"no file means no entry", func(*testing.T, cache, string) {}, false, false, false},
		{"a corrupted file is removed and ignored: the user signs in again", func(t *testing.T, c cache, p string) {
			mustWrite(t, p, []byte(`{"issuer": "https://login.ex`), 0o600)
		}, false, false, true},
		{"a file others may read is removed and not used: its tokens may have leaked", func(t *testing.T, c cache, p string) {
			mustSave(t, c, good)
			if err := os.Chmod(p, 0o644); err != nil {
				t.Fatal(err)
			}
		}, false, false, true},
		{"an oversized file is removed and not read", func(t *testing.T, c cache, p string) {
			mustWrite(t, p, make([]byte, maxCacheFile+1), 0o600)
		}, false, false, true},
		{"an entry for another organization under this key's name is not used", func(t *testing.T, c cache, p string) {
			e := *good
			e.Organization = "globex"
			mustSave(t, c, &e)
			if err := os.Rename(c.path(cacheKey{key.Issuer, key.ClientID, "globex"}), p); err != nil {
				t.Fatal(err)
			}
		}, false, false, false},
		{"an entry without an ID token is not used", func(t *testing.T, c cache, _ string) {
			e := *good
			e.IDToken = ""
			mustSave(t, c, &e)
		}, false, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := cache{dir: filepath.Join(t.TempDir(), "cache")}
			if err := os.MkdirAll(c.dir, 0o700); err != nil {
				t.Fatal(err)
			}
			p := c.path(key)
			tc.prepare(t, c, p)
			s := &signer{opts: loginOptions{issuer: key.Issuer, clientID: key.ClientID}, cache: c, now: func() time.Time { return now }}
			_, fresh := s.cached(key.Organization)
			if fresh != tc.wantFresh {
				t.Errorf("fresh = %v, want %v", fresh, tc.wantFresh)
			}
			e, err := c.load(key)
			if (err == nil) != tc.wantEntry {
				t.Errorf("load: entry %v, err %v; want an entry: %v", e, err, tc.wantEntry)
			}
			if _, err := os.Stat(p); os.IsNotExist(err) != tc.wantGone && !(tc.name == "no file means no entry") {
				t.Errorf("file removed = %v, want %v", os.IsNotExist(err), tc.wantGone)
			}
		})
	}
}

func TestCacheFilesAreTheUsersOnly(t *testing.T) {
	c := cache{dir: filepath.Join(t.TempDir(), "orgkeeper", "kubectl-org")}
	e := &entry{Issuer: "https://i", ClientID: "kubernetes", IDToken: "a.b.c", Expiry: time.Now().Add(time.Hour)}
	mustSave(t, c, e)
	for path, want := range map[string]os.FileMode{c.dir: 0o700, c.path(cacheKey{"https://i", "kubernetes", ""}): 0o600} {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s has mode %v, want %v", path, st.Mode().Perm(), want)
		}
	}
	if c.path(cacheKey{"https://i", "kubernetes", "acme"}) == c.path(cacheKey{"https://i", "kubernetes", "acme-eu"}) {
		t.Error("two organizations share a cache file")
	}
}

// TestExpiredEntryWithoutRefreshSignsInAgain: with neither a fresh token nor
// a refresh token, credential goes to the browser sign-in, which here
// cannot reach an issuer and fails; it must not hand out the stale token.
func TestExpiredEntryWithoutRefreshIsNotHandedOut(t *testing.T) {
	now := time.Now()
	c := cache{dir: t.TempDir()}
	mustSave(t, c, &entry{Issuer: "https://127.0.0.1:1", ClientID: "kubernetes", IDToken: "stale.jwt.x", Expiry: now.Add(-time.Minute)})
	s, err := newSigner(loginOptions{issuer: "https://127.0.0.1:1", clientID: "kubernetes", cacheDir: c.dir, listen: "127.0.0.1:0", noBrowser: true}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	if e, err := s.credential(context.Background(), ""); err == nil {
		t.Fatalf("got %v from an expired cache and an unreachable issuer", e)
	}
}

func TestExchangeRequest(t *testing.T) {
	home := &entry{Organization: "", AccessToken: "at", IDToken: "idt"}
	f := exchangeForm("kubernetes", home, "acme-eu")
	for k, want := range map[string]string{
		"grant_type":         "urn:ietf:params:oauth:grant-type:token-exchange",
		"subject_token":      "at",
		"subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
		"organization":       "acme-eu",
		"client_id":          "kubernetes",
	} {
		if got := f.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	home.AccessToken = ""
	if f := exchangeForm("kubernetes", home, "acme-eu"); f.Get("subject_token") != "idt" || f.Get("subject_token_type") != tokenTypeID {
		t.Errorf("without an access token the ID token is the subject: %v", f)
	}
}

func mustSave(t *testing.T, c cache, e *entry) {
	t.Helper()
	if err := c.save(e); err != nil {
		t.Fatal(err)
	}
}

func mustWrite(t *testing.T, p string, b []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(p, b, mode); err != nil {
		t.Fatal(err)
	}
}
