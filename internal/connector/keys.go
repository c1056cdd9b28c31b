package connector

import (
	"context"
	"errors"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// allowedAlgs are the ID token signature algorithms accepted: asymmetric
// only. "none" and the HMAC algorithms (keyed with the client secret,
// which an administrator may have shared) are never accepted.
var allowedAlgs = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512,
	jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512,
	jose.EdDSA,
}

// keySet is a provider's JWKS, fetched on first use and again when a token
// names a key it does not hold (the provider rotated; OpenID Connect Core
// section 10.1.1), but at most once per Config.KeyRefreshInterval, so that
// tokens with made-up key IDs cannot make Orgkeeper hammer the provider.
// Keys older than Config.KeyMaxAge are refetched before use, so that a key
// the provider withdrew stops verifying.
type keySet struct {
	client *upstreamClient
	url    string

	mu        sync.Mutex
	keys      []jose.JSONWebKey
	fetchedAt time.Time     // zero: never fetched successfully
	triedAt   time.Time     // last attempt, successful or not
	inflight  chan struct{} // closed when the running fetch ends
	fetchErr  error         // result of the last fetch
}

func newKeySet(c *upstreamClient, url string) *keySet {
	return &keySet{client: c, url: url}
}

// verify checks jws's one signature with the provider's key named by its
// kid (or, without kid, any key of its algorithm) and returns the payload.
func (k *keySet) verify(ctx context.Context, jws *jose.JSONWebSignature) ([]byte, error) {
	if len(jws.Signatures) != 1 {
		return nil, newError(ReasonBadSignature, nil, "the ID token has %d signatures, not one", len(jws.Signatures))
	}
	h := jws.Signatures[0].Header
	now := k.client.cfg.Now()
	keys, fresh, err := k.current(ctx, now, false)
	if err != nil {
		return nil, err
	}
	if payload, ok, err := verifyWith(jws, keys, h); ok || err != nil {
		return payload, err
	}
	if !fresh {
		// An unknown kid: the provider may have rotated.
		keys, _, err = k.current(ctx, now, true)
		if err != nil {
			return nil, err
		}
		if payload, ok, err := verifyWith(jws, keys, h); ok || err != nil {
			return payload, err
		}
	}
	return nil, newError(ReasonBadSignature, nil, "no key of %s verifies the ID token (kid %q, alg %q)", k.client.provider, printable(h.KeyID, 64), printable(h.Algorithm, 16))
}

// verifyWith tries the keys that match header; ok says one of them was a
// candidate (a candidate that fails to verify is a bad signature: the
// provider's key is known, the token does not match it).
func verifyWith(jws *jose.JSONWebSignature, keys []jose.JSONWebKey, h jose.Header) ([]byte, bool, error) {
	candidate := false
	for i := range keys {
		key := &keys[i]
		if h.KeyID != "" && key.KeyID != h.KeyID {
			continue
		}
		if key.Use != "" && key.Use != "sig" {
			continue
		}
		if key.Algorithm != "" && key.Algorithm != h.Algorithm {
			continue
		}
		if !key.IsPublic() {
			continue // a JWKS publishing a private key is broken; do not use it
		}
		candidate = true
		if payload, err := jws.Verify(key); err == nil {
			return payload, true, nil
		}
	}
	if candidate && h.KeyID != "" {
		return nil, true, newError(ReasonBadSignature, nil, "the ID token's signature does not verify with key %q", printable(h.KeyID, 64))
	}
	return nil, false, nil
}

// current returns the cached keys, fetching them when there are none, when
// they are older than KeyMaxAge, or when refresh is asked; but a fetch is
// started no sooner than KeyRefreshInterval after the previous attempt, and
// callers that arrive during a fetch wait for its result. fresh says the
// keys come from a fetch this call started or waited for (another refresh
// now would change nothing).
func (k *keySet) current(ctx context.Context, now time.Time, refresh bool) (keys []jose.JSONWebKey, fresh bool, err error) {
	cfg := k.client.cfg
	k.mu.Lock()
	due := refresh || k.fetchedAt.IsZero() || now.Sub(k.fetchedAt) > cfg.KeyMaxAge
	if !due {
		keys = k.keys
		k.mu.Unlock()
		return keys, false, nil
	}
	if ch := k.inflight; ch != nil {
		k.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, false, newError(ReasonUnavailable, ctx.Err(), "waiting for the keys of %s", k.client.provider)
		}
		k.mu.Lock()
		keys, err = k.keys, k.fetchErr
		k.mu.Unlock()
		if err != nil {
			return nil, false, err
		}
		return keys, true, nil
	}
	if !k.triedAt.IsZero() && now.Sub(k.triedAt) < cfg.KeyRefreshInterval {
		// Not due yet: keep what there is (or the last failure, when
		// there is nothing).
		keys, err = k.keys, nil
		if k.fetchedAt.IsZero() {
			err = k.fetchErr
		}
		k.mu.Unlock()
		if err != nil {
			return nil, false, err
		}
		return keys, true, nil
	}
	ch := make(chan struct{})
	k.inflight, k.triedAt = ch, now
	k.mu.Unlock()

	// The fetch is not bound to one login's context: it serves every
	// waiter, and Config.Timeout bounds it.
	keys, err = k.fetch(context.WithoutCancel(ctx))

	k.mu.Lock()
	k.fetchErr = err
	if err == nil {
		k.keys, k.fetchedAt = keys, now
	}
	k.inflight = nil
	close(ch)
	k.mu.Unlock()
	if err != nil {
		return nil, false, err
	}
	return keys, true, nil
}

func (k *keySet) fetch(ctx context.Context) ([]jose.JSONWebKey, error) {
	var raw struct {
		Keys []rawKey `json:"keys"`
	}
	if err := k.client.getJSON(ctx, "JWKS", k.url, nil, &raw); err != nil {
		return nil, err
	}
	keys := make([]jose.JSONWebKey, 0, len(raw.Keys))
	for _, r := range raw.Keys {
		var key jose.JSONWebKey
		// Keys of types go-jose does not know (or broken ones) are
		// skipped, as RFC 7517 section 5 asks, rather than failing the set.
		if err := key.UnmarshalJSON(r); err != nil {
			continue
		}
		keys = append(keys, key)
	}
	if len(keys) == 0 {
		return nil, newError(ReasonMisconfigured, errors.New("no usable key"), "the JWKS of %s", k.client.provider)
	}
	return keys, nil
}

type rawKey []byte

func (r *rawKey) UnmarshalJSON(b []byte) error {
	*r = append((*r)[:0], b...)
	return nil
}
