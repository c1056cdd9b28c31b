package oidc

import (
	"syscall"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/orgkeeper/orgkeeper/internal/keys"
)

// BenchmarkVerifySubjectToken is the verification of one subject token
// in process, without HTTP: verifyJWT (the fast path for the issuer's own
// tokens) against go-jose's parse and verify, and the signature check
// alone, the floor of both. The claims are those of an access token the
// issuer gives an administrator. Besides wall time per verification it
// reports the process's CPU time per verification, which other load on the
// machine hardly changes.
func BenchmarkVerifySubjectToken(b *testing.B) {
	ks, err := keys.NewKeySet(time.Now())
	if err != nil {
		b.Fatal(err)
	}
	payload := []byte(`{"act":null,"amr":["pwd"],"aud":["switcher"],"client_id":"switcher","email":"alice@acme.example",` +
		`"email_verified":true,"exp":4102444800,"family_name":"Example","given_name":"alice",` +
		`"groups":["orgkeeper:org:acme:admins"],"iat":1796137435,"iss":"` + jwsTestIssuer + `",` +
		`"jti":"eyJpIjoib0FqWU1vZ2ZLNXg2ZjRBdmd6d0V6QSIsImMiOiJzd2l0Y2hlciIsIm8iOiJ1aWQtb3JnLWFjbWUiLCJzIjpbIm9wZW5pZCIsInByb2ZpbGUiLCJlbWFpbCJdLCJtIjpbInB3ZCJdLCJ0IjoxNzk2MTM3NDM1LCJ4IjoxNzk2MTM4MzM1fQ",` +
		`"name":"Alice Example","nbf":1796137435,"org_handle":"acme","org_id":"uid-org-acme","org_name":"Org acme",` +
		`"org_path":["platform","acme"],"preferred_username":"alice@acme.example","roles":[],"scope":"openid profile email",` +
		`"sub":"uid-user-acme-alice"}`)
	for _, alg := range []jose.SignatureAlgorithm{keys.ES256, keys.RS256} {
		p, _ := ks.Pair(alg)
		k := p.Current
		jws, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: k.Signer(), KeyID: k.ID()}},
			(&jose.SignerOptions{}).WithType("JWT"))
		if err != nil {
			b.Fatal(err)
		}
		signed, err := jws.Sign(payload)
		if err != nil {
			b.Fatal(err)
		}
		token, _ := signed.CompactSerialize()
		h := &handler{issuer: jwsTestIssuer}
		b.Run(string(alg)+"/FastPath", func(b *testing.B) {
			defer reportCPU(b)()
			for b.Loop() {
				var c subjectClaims
				if _, ok := h.verifyJWT(ks, token, &c); !ok {
					b.Fatal("refused")
				}
			}
		})
		b.Run(string(alg)+"/GoJose", func(b *testing.B) {
			defer reportCPU(b)()
			for b.Loop() {
				if _, ok := goJoseVerify(ks, jwsTestIssuer, token); !ok {
					b.Fatal("refused")
				}
			}
		})
		b.Run(string(alg)+"/SignatureOnly", func(b *testing.B) {
			served := h.jwsHeaders.of(ks)
			defer reportCPU(b)()
			for b.Loop() {
				if _, _, outcome := served.verifyServed(token); outcome != jwsValid {
					b.Fatal("refused")
				}
			}
		})
	}
}

// reportCPU starts measuring the process's CPU time; the function it
// returns reports it per iteration as cpu-ns/op.
func reportCPU(b *testing.B) func() {
	start := processCPUTime(b)
	return func() {
		b.ReportMetric(float64(processCPUTime(b)-start)/float64(b.N), "cpu-ns/op")
	}
}

func processCPUTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
