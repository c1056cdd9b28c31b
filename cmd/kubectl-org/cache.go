package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// maxCacheFile bounds what the cache reader accepts: an entry is a few
// kilobytes; anything larger is not ours.
const maxCacheFile = 64 << 10

// cacheKey names one cache entry: tokens are per issuer, application and
// organization, so that a switch to acme-eu never replaces the acme tokens
// it was made from.
type cacheKey struct {
	Issuer, ClientID, Organization string
}

// entry is one cached sign-in.
type entry struct {
	Issuer       string    `json:"issuer"`
	ClientID     string    `json:"clientID"`
	Organization string    `json:"organization,omitempty"`
	IDToken      string    `json:"idToken"`
	AccessToken  string    `json:"accessToken,omitempty"`
	RefreshToken string    `json:"refreshToken,omitempty"`
	Expiry       time.Time `json:"expiry"`
	// Switched marks tokens that kubectl org switch exchanged from the
	// entry of organization SwitchedFrom ("" when that sign-in named
	// none); when they expire they are exchanged again from that entry.
	Switched     bool   `json:"switched,omitempty"`
	SwitchedFrom string `json:"switchedFrom,omitempty"`
}

// cache keeps entries as files of mode 0600 in a directory of mode 0700.
type cache struct{ dir string }

// defaultCacheDir is <user cache dir>/orgkeeper/kubectl-org.
func defaultCacheDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("finding the cache directory (set --cache-dir): %w", err)
	}
	return filepath.Join(d, "orgkeeper", "kubectl-org"), nil
}

func (c cache) path(k cacheKey) string {
	sum := sha256.Sum256([]byte(k.Issuer + "\x00" + k.ClientID + "\x00" + k.Organization))
	return filepath.Join(c.dir, hex.EncodeToString(sum[:16])+".json")
}

// errNoEntry: nothing usable is cached (missing, unreadable, corrupt, for
// another key, or readable by others); the caller signs in again.
var errNoEntry = errors.New("no cached sign-in")

// load returns the entry for k. A file that others could read is removed
// and not used: its tokens may have leaked.
func (c cache) load(k cacheKey) (*entry, error) {
	p := c.path(k)
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errNoEntry
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() || st.Mode().Perm()&0o077 != 0 || st.Size() > maxCacheFile {
		_ = os.Remove(p)
		return nil, errNoEntry
	}
	var e entry
	if err := json.NewDecoder(f).Decode(&e); err != nil {
		_ = os.Remove(p)
		return nil, errNoEntry
	}
	if e.Issuer != k.Issuer || e.ClientID != k.ClientID || e.Organization != k.Organization || e.IDToken == "" {
		return nil, errNoEntry
	}
	return &e, nil
}

// save writes the entry atomically (a temporary file renamed over the old
// one), so a concurrent reader sees the old entry or the new, never half.
func (c cache) save(e *entry) error {
	// A new directory is the user's only; an existing one (--cache-dir) is
	// left as it is: the files in it are 0600 either way.
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return err
	}
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(c.dir, ".entry-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		_ = tmp.Close()
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), c.path(cacheKey{e.Issuer, e.ClientID, e.Organization}))
}

// remove forgets the entry for k (kubectl org logout).
func (c cache) remove(k cacheKey) error {
	err := os.Remove(c.path(k))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// fresh reports whether the entry's ID token is valid for at least margin
// more: kube-apiserver must not see it expire in flight.
func (e *entry) fresh(now time.Time, margin time.Duration) bool {
	return e.IDToken != "" && now.Add(margin).Before(e.Expiry)
}
