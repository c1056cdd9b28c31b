package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// t0 is the creation time of the first key in the fixtures.
var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// RSA key generation is slow, so the tests draw from a small pool of keys
// generated once and stamp them with whatever creation time a case needs.
var (
	poolOnce sync.Once
	pool     map[jose.SignatureAlgorithm][]crypto.Signer
	poolErr  error
)

const poolSize = 3

func pooledSigner(t testing.TB, alg jose.SignatureAlgorithm, n int) crypto.Signer {
	t.Helper()
	poolOnce.Do(func() {
		pool = map[jose.SignatureAlgorithm][]crypto.Signer{}
		for range poolSize {
			ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				poolErr = err
				return
			}
			rs, err := rsa.GenerateKey(rand.Reader, RSABits)
			if err != nil {
				poolErr = err
				return
			}
			pool[ES256] = append(pool[ES256], ec)
			pool[RS256] = append(pool[RS256], rs)
		}
	})
	if poolErr != nil {
		t.Fatal(poolErr)
	}
	return pool[alg][n]
}

// fixtureKey returns pooled key n of alg, created at created.
func fixtureKey(t testing.TB, alg jose.SignatureAlgorithm, n int, created time.Time) *Key {
	t.Helper()
	k, err := NewKey(alg, pooledSigner(t, alg, n), created)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// fullSet has, for both algorithms, a previous key (pool 0) created at t0, a
// current key (pool 1) created at t0+period and a next key (pool 2) created
// at t0+period.
func fullSet(t testing.TB, period time.Duration) *KeySet {
	t.Helper()
	s, err := NewKeySetFromPairs(ES256, map[jose.SignatureAlgorithm]Pair{
		ES256: {Current: fixtureKey(t, ES256, 1, t0.Add(period)), Previous: fixtureKey(t, ES256, 0, t0), Next: fixtureKey(t, ES256, 2, t0.Add(period))},
		RS256: {Current: fixtureKey(t, RS256, 1, t0.Add(period)), Previous: fixtureKey(t, RS256, 0, t0), Next: fixtureKey(t, RS256, 2, t0.Add(period))},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func keyIDs(keys []*Key) []string {
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = k.ID()
	}
	return ids
}
