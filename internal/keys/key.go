package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// The signing algorithms this package generates keys for.
const (
	ES256 = jose.ES256
	RS256 = jose.RS256
)

// DefaultAlgorithm signs tokens unless a KeySet says otherwise. ES256 keys and
// signatures are small and fast to make; RS256 is published too for relying
// parties that support nothing else.
const DefaultAlgorithm = ES256

// RSABits is the size of generated RSA keys. Loaded keys may be larger, up to
// maxRSABits.
const RSABits = 2048

const maxRSABits = 8192

// Algorithms returns the algorithms a complete KeySet has keys for, in the
// order they are published.
func Algorithms() []jose.SignatureAlgorithm { return []jose.SignatureAlgorithm{ES256, RS256} }

// Use is the JWK "use" of every key: signatures.
const Use = "sig"

// Key is one private signing key with its ID, algorithm and creation time. It
// is immutable and safe for concurrent use.
type Key struct {
	id      string
	alg     jose.SignatureAlgorithm
	created time.Time
	private crypto.Signer
}

// since returns the key with its creation time set to t: a next key that
// becomes current counts its age from then.
func (k *Key) since(t time.Time) *Key {
	c := *k
	c.created = t.UTC()
	return &c
}

// Generate makes a new key for alg (ES256 or RS256) from crypto/rand.
func Generate(alg jose.SignatureAlgorithm, created time.Time) (*Key, error) {
	var (
		priv crypto.Signer
		err  error
	)
	switch alg {
	case ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case RS256:
		priv, err = rsa.GenerateKey(rand.Reader, RSABits)
	default:
		return nil, fmt.Errorf("keys: unsupported algorithm %q", alg)
	}
	if err != nil {
		return nil, fmt.Errorf("keys: generating %s key: %w", alg, err)
	}
	return NewKey(alg, priv, created)
}

// NewKey wraps an existing private key, checking that it fits alg: a P-256
// ECDSA key for ES256, an RSA key of 2048 to 8192 bits for RS256.
func NewKey(alg jose.SignatureAlgorithm, private crypto.Signer, created time.Time) (*Key, error) {
	k, err := newKey(alg, private, created)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	return k, nil
}

func newKey(alg jose.SignatureAlgorithm, private crypto.Signer, created time.Time) (*Key, error) {
	if err := checkKeyType(alg, private); err != nil {
		return nil, err
	}
	id, err := thumbprint(private.Public())
	if err != nil {
		return nil, err
	}
	return &Key{id: id, alg: alg, created: created.UTC(), private: private}, nil
}

func checkKeyType(alg jose.SignatureAlgorithm, private crypto.Signer) error {
	switch alg {
	case ES256:
		k, ok := private.(*ecdsa.PrivateKey)
		if !ok {
			return fmt.Errorf("ES256 needs an ECDSA key, got %T", private)
		}
		if k.Curve != elliptic.P256() {
			return fmt.Errorf("ES256 needs curve P-256, got %s", k.Curve.Params().Name)
		}
	case RS256:
		k, ok := private.(*rsa.PrivateKey)
		if !ok {
			return fmt.Errorf("RS256 needs an RSA key, got %T", private)
		}
		if bits := k.N.BitLen(); bits < RSABits || bits > maxRSABits {
			return fmt.Errorf("RS256 needs an RSA key of %d to %d bits, got %d", RSABits, maxRSABits, bits)
		}
	default:
		return fmt.Errorf("unsupported algorithm %q", alg)
	}
	return nil
}

// thumbprint is the RFC 7638 SHA-256 JWK thumbprint, base64url without padding.
func thumbprint(public crypto.PublicKey) (string, error) {
	jwk := jose.JSONWebKey{Key: public}
	sum, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("thumbprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(sum), nil
}

// ID is the key ID (the "kid" of the JWK and of tokens): the RFC 7638
// thumbprint of the public key.
func (k *Key) ID() string { return k.id }

// Algorithm is ES256 or RS256.
func (k *Key) Algorithm() jose.SignatureAlgorithm { return k.alg }

// Created is when the key was generated (UTC). Rotation counts from it.
func (k *Key) Created() time.Time { return k.created }

// Signer is the private key.
func (k *Key) Signer() crypto.Signer { return k.private }

// JWK is the public key as a JSON Web Key with kid, alg and use.
func (k *Key) JWK() jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.private.Public(), KeyID: k.id, Algorithm: string(k.alg), Use: Use}
}

// SigningKey presents the key to zitadel's op for signing.
func (k *Key) SigningKey() op.SigningKey { return signingKey{k} }

// PublicKey presents the public half to zitadel's op for its JWKS.
func (k *Key) PublicKey() op.Key { return publicKey{k} }

var (
	_ op.SigningKey = signingKey{}
	_ op.Key        = publicKey{}
)

// signingKey and publicKey exist because op.SigningKey and op.Key both have a
// Key() method: one returns the private key, the other the public one.
type signingKey struct{ k *Key }

func (s signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return s.k.alg }
func (s signingKey) Key() any                                    { return s.k.private }
func (s signingKey) ID() string                                  { return s.k.id }

type publicKey struct{ k *Key }

func (p publicKey) ID() string                         { return p.k.id }
func (p publicKey) Algorithm() jose.SignatureAlgorithm { return p.k.alg }
func (p publicKey) Use() string                        { return Use }
func (p publicKey) Key() any                           { return p.k.private.Public() }
