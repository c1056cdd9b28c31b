package oidc

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/orgkeeper/orgkeeper/internal/keys"
)

const jwsTestIssuer = "https://issuer.test"

// goJoseVerify is the verification before the fast path existed, kept
// here as the reference: go-jose parses and verifies every token.
func goJoseVerify(ks *keys.KeySet, issuer, token string) (subjectClaims, bool) {
	var claims subjectClaims
	jws, err := jose.ParseSigned(token, ks.SignatureAlgorithms())
	if err != nil || len(jws.Signatures) != 1 {
		return claims, false
	}
	hdr := jws.Signatures[0].Protected
	k, ok := ks.Key(hdr.KeyID)
	if !ok || hdr.Algorithm != string(k.Algorithm()) {
		return claims, false
	}
	payload, err := jws.Verify(k.Signer().Public())
	if err != nil || json.Unmarshal(payload, &claims) != nil {
		return claims, false
	}
	return claims, claims.Issuer == issuer
}

// signJWS signs payload as the op package's signer does: the key's
// algorithm, its kid and typ JWT.
func signJWS(t *testing.T, alg jose.SignatureAlgorithm, priv any, kid string, payload []byte, extra map[jose.HeaderKey]any) *jose.JSONWebSignature {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	for k, v := range extra {
		opts = opts.WithHeader(k, v)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: priv, KeyID: kid}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	return jws
}

func compact(t *testing.T, jws *jose.JSONWebSignature) string {
	t.Helper()
	s, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// withSegment replaces segment i (0 header, 1 payload, 2 signature).
func withSegment(token string, i int, seg string) string {
	parts := strings.Split(token, ".")
	parts[i] = seg
	return strings.Join(parts, ".")
}

func segment(t *testing.T, token string, i int) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[i])
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestTheFastPathVerifiesSubjectTokensExactlyAsGoJose compares verifyJWT
// (fast path first, go-jose for anything else) with go-jose alone on
// tokens of the issuer and hostile ones: each must be accepted, with the
// same claims, or refused by both. It also checks which path decided, so
// that the issuer's own tokens are known to take the fast path.
func TestTheFastPathVerifiesSubjectTokensExactlyAsGoJose(t *testing.T) {
	ks, err := keys.NewKeySet(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// The rotated set serves a previous and a next key of each algorithm.
	rotated, _, err := keys.Rotate(ks, time.Now().Add(2*time.Hour), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	es, _ := rotated.Pair(keys.ES256)
	rs, _ := rotated.Pair(keys.RS256)
	ec, rsaKey := es.Current, rs.Current
	ecPriv := ec.Signer().(*ecdsa.PrivateKey)
	foreignEC, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	foreignRSA, _ := rsa.GenerateKey(rand.Reader, 2048)

	claims := []byte(`{"iss":"` + jwsTestIssuer + `","sub":"u1","aud":["switcher"],"jti":"abc","exp":4102444800,"amr":["pwd"]}`)
	good := compact(t, signJWS(t, keys.ES256, ecPriv, ec.ID(), claims, nil))
	goodSig := segment(t, good, 2)
	n := elliptic.P256().Params().N

	// asn1Sig is good's signature in the ASN.1 form that JWS does not use.
	r, s := new(big.Int).SetBytes(goodSig[:32]), new(big.Int).SetBytes(goodSig[32:])
	asn1Sig, _ := asn1.Marshal(struct{ R, S *big.Int }{r, s})
	highS := append(append([]byte{}, goodSig[:32]...), new(big.Int).Sub(n, s).FillBytes(make([]byte, 32))...)

	twoSigners, err := jose.NewMultiSigner([]jose.SigningKey{
		{Algorithm: keys.ES256, Key: jose.JSONWebKey{Key: ecPriv, KeyID: ec.ID()}},
		{Algorithm: keys.RS256, Key: jose.JSONWebKey{Key: rsaKey.Signer(), KeyID: rsaKey.ID()}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	twoSigs, err := twoSigners.Sign(claims)
	if err != nil {
		t.Fatal(err)
	}
	jsonSerialized := signJWS(t, keys.ES256, ecPriv, ec.ID(), claims, nil).FullSerialize()

	header := func(alg, kid string) string {
		return b64([]byte(`{"alg":"` + alg + `","kid":"` + kid + `","typ":"JWT"}`))
	}
	// nonCanonical flips the unused low bits of a segment's last
	// character: the same bytes for a lenient decoder.
	nonCanonical := func(seg string) string {
		last := strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", seg[len(seg)-1])
		return seg[:len(seg)-1] + string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[last^1])
	}
	// The payload of good has unused bits in its last character only if
	// its length is not a multiple of 3; pad the claims until it is not.
	odd := claims
	for len(odd)%3 == 0 {
		odd = append(odd[:len(odd)-1:len(odd)-1], ' ', '}')
	}
	oddToken := compact(t, signJWS(t, keys.ES256, ecPriv, ec.ID(), odd, nil))
	huge := []byte(strings.Repeat("a", 20<<10))

	for _, c := range []struct {
		name  string
		token string
		// accept is what both must conclude; fast whether the fast path
		// decides it (else go-jose does).
		accept, fast bool
	}{
		{"a token of the current ES256 key is accepted by the fast path", good, true, true},
		{"a token of the current RS256 key is accepted by the fast path",
			compact(t, signJWS(t, keys.RS256, rsaKey.Signer(), rsaKey.ID(), claims, nil)), true, true},
		{"a token of the previous key, still served, is accepted",
			compact(t, signJWS(t, keys.ES256, es.Previous.Signer(), es.Previous.ID(), claims, nil)), true, true},
		{"a token of the next key, already served, is accepted",
			compact(t, signJWS(t, keys.RS256, rs.Next.Signer(), rs.Next.ID(), claims, nil)), true, true},
		{"an ES256 signature with s replaced by n-s verifies as it does in go-jose",
			withSegment(good, 2, b64(highS)), true, true},
		{"a token of another issuer is refused",
			compact(t, signJWS(t, keys.ES256, ecPriv, ec.ID(), []byte(`{"iss":"https://other.test","sub":"u1"}`), nil)), false, true},
		{"a payload that is not JSON is refused", compact(t, signJWS(t, keys.ES256, ecPriv, ec.ID(), []byte("not json"), nil)), false, true},
		{"a changed payload under the original signature is refused",
			withSegment(good, 1, b64([]byte(`{"iss":"`+jwsTestIssuer+`","sub":"u2"}`))), false, true},
		{"a truncated signature is refused", withSegment(good, 2, b64(goodSig[:63])), false, true},
		{"a signature of 65 bytes is refused", withSegment(good, 2, b64(append(append([]byte{}, goodSig...), 0))), false, true},
		{"an ASN.1 signature in place of r||s is refused", withSegment(good, 2, b64(asn1Sig)), false, true},
		{"an empty signature is refused", withSegment(good, 2, ""), false, true},
		{"a token signed by a key that is not served, under a served kid, is refused",
			compact(t, signJWS(t, keys.ES256, foreignEC, ec.ID(), claims, nil)), false, true},
		{"an oversized token with a forged signature is refused",
			withSegment(good, 1, b64(huge)), false, true},

		{"alg none is refused", header("none", ec.ID()) + "." + b64(claims) + ".", false, false},
		{"HS256 with the public key as secret is refused", func() string {
			pub, _ := json.Marshal(jose.JSONWebKey{Key: ecPriv.Public()})
			return compact(t, signJWS(t, jose.HS256, pub, ec.ID(), claims, nil))
		}(), false, false},
		{"an unknown kid is refused", compact(t, signJWS(t, keys.ES256, foreignEC, "unknown", claims, nil)), false, false},
		{"ES256 under the kid of the RSA key is refused",
			compact(t, signJWS(t, keys.ES256, ecPriv, rsaKey.ID(), claims, nil)), false, false},
		{"RS256 under the kid of the EC key is refused",
			compact(t, signJWS(t, keys.RS256, foreignRSA, ec.ID(), claims, nil)), false, false},
		{"two signatures in the JSON serialization are refused", twoSigs.FullSerialize(), false, false},
		{"one signature in the JSON serialization is accepted, by go-jose", jsonSerialized, true, false},
		{"a header with another member is left to go-jose, which accepts it",
			compact(t, signJWS(t, keys.ES256, ecPriv, ec.ID(), claims, map[jose.HeaderKey]any{"cty": "x"})), true, false},
		{"a header with b64 false (RFC 7797) is left to go-jose, which supports it",
			compact(t, signJWS(t, keys.ES256, ecPriv, ec.ID(), claims, map[jose.HeaderKey]any{"b64": false, "crit": []string{"b64"}})), true, false},
		{"a payload that is not base64url is refused", withSegment(good, 1, "*"+strings.Split(good, ".")[1]), false, false},
		{"a signature that is not base64url is refused", withSegment(good, 2, "*"+strings.Split(good, ".")[2]), false, false},
		{"a payload with nonzero unused bits is left to go-jose, which accepts it",
			withSegment(oddToken, 1, nonCanonical(strings.Split(oddToken, ".")[1])), true, false},
		{"whitespace in the token is left to go-jose, which removes it",
			strings.Replace(good, ".", ". ", 1), true, false},
		{"a line break in the payload is left to go-jose, which removes it",
			strings.Replace(good, ".", ".\n", 1), true, false},
		{"four segments are refused", good + ".", false, false},
		{"two segments are refused", good[:strings.LastIndexByte(good, '.')], false, false},
		{"the empty string is refused", "", false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := &handler{issuer: jwsTestIssuer}
			var got subjectClaims
			kid, ok := h.verifyJWT(rotated, c.token, &got)
			want, wantOK := goJoseVerify(rotated, jwsTestIssuer, c.token)
			if ok != wantOK {
				t.Fatalf("verifyJWT %v, go-jose %v", ok, wantOK)
			}
			if ok != c.accept {
				t.Fatalf("both concluded %v, the case expects %v", ok, c.accept)
			}
			if ok && (got.Subject != want.Subject || got.JWTID != want.JWTID || got.Issuer != want.Issuer || kid == "") {
				t.Fatalf("claims %+v (kid %q), go-jose %+v", got, kid, want)
			}
			_, _, outcome := h.jwsHeaders.of(rotated).verifyServed(c.token)
			if decided := outcome != jwsUndecided; decided != c.fast {
				t.Fatalf("fast path decided %v, want %v", decided, c.fast)
			}
		})
	}

	t.Run("every single-character change of a token is concluded as go-jose concludes", func(t *testing.T) {
		h := &handler{issuer: jwsTestIssuer}
		alphabet := "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.= \n*"
		for i := 0; i < len(good); i += 7 {
			for _, ch := range []byte{alphabet[i%len(alphabet)], alphabet[(i*13+5)%len(alphabet)]} {
				token := good[:i] + string(ch) + good[i+1:]
				var got subjectClaims
				_, ok := h.verifyJWT(rotated, token, &got)
				if _, wantOK := goJoseVerify(rotated, jwsTestIssuer, token); ok != wantOK {
					t.Fatalf("position %d changed to %q: verifyJWT %v, go-jose %v", i, ch, ok, wantOK)
				}
			}
		}
	})
}

// TestTheServedHeadersAreThoseOfTheOpSigner checks the premise of the fast
// path: the header the op package's signer writes for a key is the one
// the fast path looks up.
func TestTheServedHeadersAreThoseOfTheOpSigner(t *testing.T) {
	ks, err := keys.NewKeySet(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var j jwsHeaders
	for _, k := range ks.Keys() {
		signer, err := op.SignerFromKey(k.SigningKey())
		if err != nil {
			t.Fatal(err)
		}
		jws, err := signer.Sign([]byte(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		token := compact(t, jws)
		head := strings.Split(token, ".")[0]
		if j.of(ks).byHeader[head] != k {
			t.Errorf("%s key %s: header %s is not served", k.Algorithm(), k.ID(), segment(t, token, 0))
		}
	}
	if j.of(ks) != j.of(ks) {
		t.Error("the headers of an unchanged key set are built again")
	}
}
