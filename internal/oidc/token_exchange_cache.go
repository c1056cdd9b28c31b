package oidc

// A bounded cache of verified subject tokens, as kube-apiserver caches
// token authentications: a client such as a kubectl credential plugin
// exchanges the same subject token again and again, and verifying its
// signature is the largest part of an exchange.
//
// The cache memoizes only the pure function (token bytes, type, key set)
// → what the token says, never a decision that depends on the current
// state: validateExchange still checks, on every exchange, the expiry, the
// client, the user, the sign-in (resolveSession: disabled, deleted,
// revoked, organization suspended, second factor, sharing) and
// rules.DecideSwitch. An entry is used only while
//
//   - the key that signed the token is still served (rotation that retires
//     it ends the entry at once, as it ends the token),
//   - the token is unexpired, and at most subjectCacheTTL after it was
//     verified;
//
// only tokens that verified are stored, under the SHA-256 of their type
// and bytes (the cache never holds a token itself), and at most
// subjectCacheSize of them, the least recently used evicted first. A
// client that presents many distinct tokens can only evict entries, which
// costs a verification, never lets a token through.

import (
	"crypto/sha256"
	"slices"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/orgkeeper/orgkeeper/internal/keys"
)

const (
	// subjectCacheSize bounds the entries: a few hundred bytes each.
	subjectCacheSize = 4096
	// subjectCacheTTL bounds how long a verification is reused.
	subjectCacheTTL = 5 * time.Minute
)

// subjectCacheKey is the SHA-256 of a subject token's type and bytes.
type subjectCacheKey [sha256.Size]byte

// cachedSubject is a verified subject token with what keeps it valid.
type cachedSubject struct {
	sub subjectToken
	// kid is the key that signed the token.
	kid string
	// until is the token's expiry or the end of the entry's lifetime,
	// whichever comes first.
	until time.Time
}

// subjectCache holds verified subject tokens. It is safe for concurrent
// use.
type subjectCache struct {
	entries *lru.Cache[subjectCacheKey, cachedSubject]
	ttl     time.Duration
}

// newSubjectCache returns a cache of at most size entries, each reused
// for at most ttl.
func newSubjectCache(size int, ttl time.Duration) *subjectCache {
	c, err := lru.New[subjectCacheKey, cachedSubject](size)
	if err != nil {
		// Only a size below 1 fails, and the sizes are constants.
		panic(err)
	}
	return &subjectCache{entries: c, ttl: ttl}
}

func subjectKey(typ oidc.TokenType, token string) subjectCacheKey {
	h := sha256.New()
	h.Write([]byte(typ))
	h.Write([]byte{0})
	h.Write([]byte(token))
	var k subjectCacheKey
	h.Sum(k[:0])
	return k
}

// get returns the cached verification of the token under key if it is
// still usable at now with the served key set ks, and drops an entry that
// is not.
func (c *subjectCache) get(key subjectCacheKey, ks *keys.KeySet, now time.Time) (subjectToken, bool) {
	e, ok := c.entries.Get(key)
	if !ok {
		return subjectToken{}, false
	}
	if !now.Before(e.until) {
		c.entries.Remove(key)
		return subjectToken{}, false
	}
	if _, served := ks.Key(e.kid); !served {
		c.entries.Remove(key)
		return subjectToken{}, false
	}
	return e.sub.clone(), true
}

// put stores a verified token, signed by kid, verified at now. A token
// that is already expired is not stored.
func (c *subjectCache) put(key subjectCacheKey, sub subjectToken, kid string, now time.Time) {
	until := now.Add(c.ttl)
	if sub.expiry.Before(until) {
		until = sub.expiry
	}
	if kid == "" || !now.Before(until) {
		return
	}
	c.entries.Add(key, cachedSubject{sub: sub.clone(), kid: kid, until: until})
}

// len is the number of entries, for tests of the bound.
func (c *subjectCache) len() int { return c.entries.Len() }

// clone copies the slices, so that no caller can change a cached entry.
func (s subjectToken) clone() subjectToken {
	s.amr = slices.Clone(s.amr)
	s.scopes = slices.Clone(s.scopes)
	return s
}
