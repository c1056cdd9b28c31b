package keys

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// A JWS signing input of typical ID-token size: header.payload, about 500
// bytes, the shape of what orgkeeper signs.
var signingInput = []byte(base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"ES256","kid":"NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs","typ":"JWT"}`)) + "." +
	base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"https://login.example.com","sub":"4f1c2d3e-5a6b-7c8d-9e0f-112233445566","aud":["app-a"],`+
		`"exp":1893456000,"iat":1893452400,"auth_time":1893452390,"nonce":"n-0S6_WzA2Mj","amr":["pwd","otp"],`+
		`"org_id":"1b2c3d4e","org_handle":"acme","org_name":"Acme Corp","org_path":["vendor","acme"],`+
		`"email":"ada@acme.example","email_verified":true,"name":"Ada Lovelace","roles":["admin"]}`)))

// benchRawSign measures the cryptographic floor of issuing a token: hash the
// signing input and sign the digest, nothing else. Token-rate benchmarks of
// the OIDC server compare against these.
func benchRawSign(b *testing.B, alg jose.SignatureAlgorithm) {
	signer := fixtureKey(b, alg, 0, t0).Signer()
	b.SetBytes(int64(len(signingInput)))
	b.ReportAllocs()
	for b.Loop() {
		digest := sha256.Sum256(signingInput)
		if _, err := signer.Sign(rand.Reader, digest[:], crypto.SHA256); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRawSignES256(b *testing.B) { benchRawSign(b, ES256) }
func BenchmarkRawSignRS256(b *testing.B) { benchRawSign(b, RS256) }

// benchJOSESign adds what go-jose costs on top: the signer zitadel's op builds
// (op.SignerFromKey), JSON header, encoding and compact serialisation.
func benchJOSESign(b *testing.B, alg jose.SignatureAlgorithm) {
	signer, err := op.SignerFromKey(fixtureKey(b, alg, 0, t0).SigningKey())
	if err != nil {
		b.Fatal(err)
	}
	payload := []byte(`{"iss":"https://login.example.com","sub":"4f1c2d3e","aud":["app-a"],"exp":1893456000,"iat":1893452400,"org_id":"1b2c3d4e","amr":["pwd"]}`)
	b.ReportAllocs()
	for b.Loop() {
		jws, err := signer.Sign(payload)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := jws.CompactSerialize(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkJOSESignES256(b *testing.B) { benchJOSESign(b, ES256) }
func BenchmarkJOSESignRS256(b *testing.B) { benchJOSESign(b, RS256) }
