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
// Rotation keeps the previous keys: an opaque token encrypted before a
// rotation still decrypts with the previous crypto key, for one more
// rotation period (longer than any access token lives). Codes are looked up
// by their hash in the session store, never decrypted, so a rotation does
// not affect them. The previous CSRF key still validates login forms
// rendered before the rotation.
type ServerKeys struct {
	Crypto         [ServerKeySize]byte
	PreviousCrypto *[ServerKeySize]byte
	CSRF           [ServerKeySize]byte
	PreviousCSRF   *[ServerKeySize]byte
	// Created is when the current keys were made; rotation is due one
	// period later.
	Created time.Time
}

// NewServerKeys makes fresh keys from r (crypto/rand when nil).
func NewServerKeys(now time.Time, r io.Reader) (*ServerKeys, error) {
	if r == nil {
		r = rand.Reader
	}
	k := &ServerKeys{Created: now.UTC().Truncate(time.Second)}
	if _, err := io.ReadFull(r, k.Crypto[:]); err != nil {
		return nil, fmt.Errorf("keys: generating the crypto key: %w", err)
	}
	if _, err := io.ReadFull(r, k.CSRF[:]); err != nil {
		return nil, fmt.Errorf("keys: generating the CSRF key: %w", err)
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

// RotateServerKeys returns k with new current keys and the current ones as
// previous, if k is due at now; changed is false (and k returned) otherwise.
// Keys older than the previous ones are dropped.
func RotateServerKeys(k *ServerKeys, now time.Time, period time.Duration, r io.Reader) (rotated *ServerKeys, changed bool, err error) {
	if now.Before(k.NextRotation(period)) {
		return k, false, nil
	}
	next, err := NewServerKeys(now, r)
	if err != nil {
		return nil, false, err
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
		eqp(k.PreviousCrypto, o.PreviousCrypto) && eqp(k.PreviousCSRF, o.PreviousCSRF)
}
