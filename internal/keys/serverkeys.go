package keys

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"time"
)

// Secret data keys of the server keys (see ServerKeys.SecretData).
const (
	ServerKeyCrypto         = "crypto-key"
	ServerKeyCryptoPrevious = "crypto-key-previous"
	ServerKeyCSRF           = "csrf-key"
	ServerKeyCSRFPrevious   = "csrf-key-previous"
	ServerKeyCryptoNext     = "crypto-key-next"
	ServerKeyCSRFNext       = "csrf-key-next"
	ServerKeyCreated        = "created"
)

// ServerKeySize is the length of each server key: AES-256 for the crypto key,
// a 256-bit HMAC key for CSRF tokens.
const ServerKeySize = 32

// ServerKeys are the symmetric keys every replica of the issuer must share:
// the op crypto key, with which zitadel's op encrypts opaque access tokens
// (and makes authorization code values), and the key that signs the login
// pages' CSRF tokens. An opaque token issued by one replica is accepted at
// another's userinfo, introspection or revocation endpoint, and a login form
// rendered by one replica is accepted when posted to another, only if both
// hold the same keys.
//
// Each rotation promotes the next keys to current and the current ones to
// previous, and makes new next keys. Previous and next keys only decrypt
// and validate; the current ones encrypt and sign.
//   - The previous keys keep an opaque token encrypted, or a login form
//     rendered, before a rotation working after it, for one more rotation
//     period (longer than any access token lives).
//   - The next keys are published one period before they are used, so a
//     replica that has not loaded the rotated Secret yet (watch lag)
//     already accepts what a replica that has produces.
//
// Codes are looked up by their hash in the session store, never decrypted,
// so a rotation does not affect them.
type ServerKeys struct {
	Crypto         [ServerKeySize]byte
	PreviousCrypto *[ServerKeySize]byte
	CSRF           [ServerKeySize]byte
	PreviousCSRF   *[ServerKeySize]byte
	// NextCrypto and NextCSRF become current at the next rotation; nil in
	// a Secret written before they existed.
	NextCrypto *[ServerKeySize]byte
	NextCSRF   *[ServerKeySize]byte
	// Created is when the current keys were made; rotation is due one
	// period later.
	Created time.Time
}

// NewServerKeys makes fresh keys from r (crypto/rand when nil).
func NewServerKeys(now time.Time, r io.Reader) (*ServerKeys, error) {
	if r == nil {
		r = rand.Reader
	}
	k := &ServerKeys{Created: now.UTC().Truncate(time.Second), NextCrypto: new([ServerKeySize]byte), NextCSRF: new([ServerKeySize]byte)}
	for _, b := range [][]byte{k.Crypto[:], k.CSRF[:], k.NextCrypto[:], k.NextCSRF[:]} {
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, fmt.Errorf("keys: generating server keys: %w", err)
		}
	}
	return k, nil
}

// SecretData serialises the keys for the Secret: raw 32-byte values and the
// creation time (RFC 3339).
func (k *ServerKeys) SecretData() map[string][]byte {
	data := map[string][]byte{
		ServerKeyCrypto:  append([]byte(nil), k.Crypto[:]...),
		ServerKeyCSRF:    append([]byte(nil), k.CSRF[:]...),
		ServerKeyCreated: []byte(k.Created.UTC().Format(time.RFC3339)),
	}
	if k.PreviousCrypto != nil {
		data[ServerKeyCryptoPrevious] = append([]byte(nil), k.PreviousCrypto[:]...)
	}
	if k.PreviousCSRF != nil {
		data[ServerKeyCSRFPrevious] = append([]byte(nil), k.PreviousCSRF[:]...)
	}
	if k.NextCrypto != nil {
		data[ServerKeyCryptoNext] = append([]byte(nil), k.NextCrypto[:]...)
	}
	if k.NextCSRF != nil {
		data[ServerKeyCSRFNext] = append([]byte(nil), k.NextCSRF[:]...)
	}
	return data
}

// ServerKeysFromSecretData loads keys written by SecretData. Every problem is
// an error wrapping ErrInvalidSecretData that names the entry.
func ServerKeysFromSecretData(data map[string][]byte) (*ServerKeys, error) {
	k := &ServerKeys{}
	exact := func(name string, dst *[ServerKeySize]byte) error {
		v, ok := data[name]
		if !ok {
			return invalidf("no %q entry", name)
		}
		if len(v) != ServerKeySize {
			return invalidf("%q has %d bytes, want %d", name, len(v), ServerKeySize)
		}
		copy(dst[:], v)
		return nil
	}
	optional := func(name string) (*[ServerKeySize]byte, error) {
		if _, ok := data[name]; !ok {
			return nil, nil
		}
		var b [ServerKeySize]byte
		if err := exact(name, &b); err != nil {
			return nil, err
		}
		return &b, nil
	}
	var err error
	errs := []error{exact(ServerKeyCrypto, &k.Crypto), exact(ServerKeyCSRF, &k.CSRF)}
	k.PreviousCrypto, err = optional(ServerKeyCryptoPrevious)
	errs = append(errs, err)
	k.PreviousCSRF, err = optional(ServerKeyCSRFPrevious)
	errs = append(errs, err)
	k.NextCrypto, err = optional(ServerKeyCryptoNext)
	errs = append(errs, err)
	k.NextCSRF, err = optional(ServerKeyCSRFNext)
	errs = append(errs, err)
	if raw, ok := data[ServerKeyCreated]; !ok {
		errs = append(errs, invalidf("no %q entry", ServerKeyCreated))
	} else if k.Created, err = time.Parse(time.RFC3339, string(raw)); err != nil {
		errs = append(errs, invalidf("%q is not an RFC 3339 time: %v", ServerKeyCreated, err))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return k, nil
}

// NextRotation is when the current keys are due to be replaced.
func (k *ServerKeys) NextRotation(period time.Duration) time.Time { return k.Created.Add(period) }

// RotateServerKeys returns, if k is due at now, keys whose current ones are
// k's next ones (fresh ones if k has none), whose previous ones are k's
// current ones, and with new next ones; changed is false (and k returned)
// otherwise. Keys older than the previous ones are dropped.
func RotateServerKeys(k *ServerKeys, now time.Time, period time.Duration, r io.Reader) (rotated *ServerKeys, changed bool, err error) {
	if now.Before(k.NextRotation(period)) {
		return k, false, nil
	}
	next, err := NewServerKeys(now, r)
	if err != nil {
		return nil, false, err
	}
	if k.NextCrypto != nil {
		next.Crypto = *k.NextCrypto
	}
	if k.NextCSRF != nil {
		next.CSRF = *k.NextCSRF
	}
	crypto, csrf := k.Crypto, k.CSRF
	next.PreviousCrypto, next.PreviousCSRF = &crypto, &csrf
	return next, true, nil
}

// Equal reports whether two key sets hold the same keys.
func (k *ServerKeys) Equal(o *ServerKeys) bool {
	if k == nil || o == nil {
		return k == o
	}
	eqp := func(a, b *[ServerKeySize]byte) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
	return k.Crypto == o.Crypto && k.CSRF == o.CSRF && k.Created.Equal(o.Created) &&
		eqp(k.PreviousCrypto, o.PreviousCrypto) && eqp(k.PreviousCSRF, o.PreviousCSRF) &&
		eqp(k.NextCrypto, o.NextCrypto) && eqp(k.NextCSRF, o.NextCSRF)
}
