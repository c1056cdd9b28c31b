package oidc

// The fast path of subject token verification.
//
// Every JWT this issuer signs has the same protected header for a given
// key: {"alg":<the key's algorithm>,"kid":<its ID>,"typ":"JWT"}, which the
// op package's signer writes and go-jose serializes with sorted members.
// A subject token whose first segment is, byte for byte, the base64url form
// of such a header of a served key therefore names that key and its
// algorithm without any header parsing: the segment is looked up in a map
// built once per key set. Its signature is then verified over the signing
// input, as go-jose would (same hash, same signature encoding, same key),
// and its payload is decoded once. Anything else (another header, a JSON
// serialization, whitespace, base64 that is not canonical) is left to
// go-jose unchanged: the fast path decides only inputs on which it and
// go-jose provably agree, so that it accepts and refuses exactly what
// go-jose does (token_exchange_jws_test.go compares both on good and
// hostile tokens).

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strings"
	"sync/atomic"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/orgkeeper/orgkeeper/internal/keys"
)

// jwsOutcome is what the fast path concluded about a compact JWS.
type jwsOutcome int

const (
	// jwsUndecided: not in the shape this issuer signs; go-jose decides.
	jwsUndecided jwsOutcome = iota
	// jwsInvalid: a served key's header, and the signature does not verify
	// (or has the wrong size for the key's algorithm).
	jwsInvalid
	// jwsValid: the signature of the named served key verifies.
	jwsValid
)

// es256SignatureSize is the size of an ES256 JWS signature: r and s of
// P-256, 32 bytes each, concatenated (RFC 7518 section 3.4), never ASN.1.
const es256SignatureSize = 64

// canonicalB64 decodes base64url without padding and refuses nonzero
// trailing bits, so that a segment it accepts is exactly the encoding of
// what it decodes to (the bytes go-jose re-encodes to verify). Line breaks,
// which the decoder skips even in strict mode, are caught by the length
// check of decodeCanonical.
var canonicalB64 = base64.RawURLEncoding.Strict()

// servedHeaders maps the first segment of every token a key of one key
// set signs to that key.
type servedHeaders struct {
	set      *keys.KeySet
	byHeader map[string]*keys.Key
}

// jwsHeaders builds the header map of a key set once and keeps it until
// the set changes (rotation replaces the whole immutable set).
type jwsHeaders struct {
	current atomic.Pointer[servedHeaders]
}

// of returns the header map of ks, building it if ks is not the set of
// the last call. Concurrent builds of the same set are harmless.
func (j *jwsHeaders) of(ks *keys.KeySet) *servedHeaders {
	if s := j.current.Load(); s != nil && s.set == ks {
		return s
	}
	s := &servedHeaders{set: ks, byHeader: map[string]*keys.Key{}}
	for _, k := range ks.Keys() {
		if h, ok := protectedHeader(k); ok {
			s.byHeader[h] = k
		}
	}
	j.current.Store(s)
	return s
}

// protectedHeader is the base64url protected header of the JWTs that k
// signs. Only the algorithms whose verification verifyServed implements
// get one.
func protectedHeader(k *keys.Key) (string, bool) {
	switch k.Algorithm() {
	case jose.ES256, jose.RS256:
	default:
		return "", false
	}
	// Members in the order go-jose writes them (sorted), no whitespace.
	b, err := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ"`
	}{string(k.Algorithm()), k.ID(), "JWT"})
	if err != nil {
		return "", false
	}
	return base64.RawURLEncoding.EncodeToString(b), true
}

// verifyServed is the fast path: for a compact JWS whose header is that
// of a served key, it verifies the signature with that key and returns
// the payload and the key.
func (s *servedHeaders) verifyServed(token string) ([]byte, *keys.Key, jwsOutcome) {
	head, rest, ok := strings.Cut(token, ".")
	if !ok {
		return nil, nil, jwsUndecided
	}
	k := s.byHeader[head]
	if k == nil {
		return nil, nil, jwsUndecided
	}
	body, sigPart, ok := strings.Cut(rest, ".")
	if !ok || strings.Contains(sigPart, ".") {
		return nil, nil, jwsUndecided
	}
	payload, ok := decodeCanonical(body)
	if !ok {
		return nil, nil, jwsUndecided
	}
	sig, ok := decodeCanonical(sigPart)
	if !ok {
		return nil, nil, jwsUndecided
	}
	digest := sha256.Sum256([]byte(token[:len(head)+1+len(body)]))
	if !verifyDigest(k, digest[:], sig) {
		return nil, nil, jwsInvalid
	}
	return payload, k, jwsValid
}

// decodeCanonical decodes a segment that is the canonical base64url
// encoding of its bytes, and reports false for any other.
func decodeCanonical(seg string) ([]byte, bool) {
	b, err := canonicalB64.DecodeString(seg)
	if err != nil || base64.RawURLEncoding.EncodedLen(len(b)) != len(seg) {
		return nil, false
	}
	return b, true
}

// verifyDigest checks sig over the SHA-256 digest of the signing input
// with k's public key under k's own algorithm, as go-jose's verifiers do:
// ES256 takes exactly r||s of 32 bytes each on P-256, RS256 PKCS #1 v1.5.
func verifyDigest(k *keys.Key, digest, sig []byte) bool {
	switch k.Algorithm() {
	case jose.ES256:
		pub, ok := k.Signer().Public().(*ecdsa.PublicKey)
		if !ok || pub.Curve != elliptic.P256() || len(sig) != es256SignatureSize {
			return false
		}
		r := new(big.Int).SetBytes(sig[:es256SignatureSize/2])
		sv := new(big.Int).SetBytes(sig[es256SignatureSize/2:])
		return ecdsa.Verify(pub, digest, r, sv)
	case jose.RS256:
		pub, ok := k.Signer().Public().(*rsa.PublicKey)
		return ok && rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest, sig) == nil
	}
	return false
}
