package oidc_test

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/prometheus/client_golang/prometheus"
	crzap "sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/orgkeeper/orgkeeper/internal/audit"
	"github.com/orgkeeper/orgkeeper/internal/keys"
	orgoidc "github.com/orgkeeper/orgkeeper/internal/oidc"
	"github.com/orgkeeper/orgkeeper/internal/telemetry"
)

func BenchmarkClientCredentialsES256(b *testing.B) { benchmarkClientCredentials(b, keys.ES256, false) }

func BenchmarkClientCredentialsRS256(b *testing.B) { benchmarkClientCredentials(b, keys.RS256, false) }

// BenchmarkClientCredentialsES256Observed adds what the server puts around
// the provider (request ID, latency histogram) and the provider's metrics
// and audit lines (JSON, as the manager writes them), to show their cost.
func BenchmarkClientCredentialsES256Observed(b *testing.B) {
	benchmarkClientCredentials(b, keys.ES256, true)
}

// keySetSigningWith is a fresh key set, a key for every algorithm, that
// signs with alg.
func keySetSigningWith(b *testing.B, alg jose.SignatureAlgorithm) *keys.KeySet {
	b.Helper()
	generated, err := keys.NewKeySet(time.Now())
	if err != nil {
		b.Fatal(err)
	}
	pairs := map[jose.SignatureAlgorithm]keys.Pair{}
	for _, a := range keys.Algorithms() {
		p, _ := generated.Pair(a)
		pairs[a] = p
	}
	ks, err := keys.NewKeySetFromPairs(alg, pairs)
	if err != nil {
		b.Fatal(err)
	}
	return ks
}

// benchmarkClientCredentials issues machine tokens for an organization over
// keep-alive connections to an httptest.Server, in parallel.
func benchmarkClientCredentials(b *testing.B, alg jose.SignatureAlgorithm, observed bool) {
	ks := keySetSigningWith(b, alg)
	var opts []envOption
	var m *telemetry.Metrics
	if observed {
		var err error
		if m, err = telemetry.New(telemetry.Options{Registerer: prometheus.NewRegistry(), MaxOrganizations: 100, MaxClients: 100}); err != nil {
			b.Fatal(err)
		}
		sink := audit.NewLogSink(crzap.New(crzap.WriteTo(io.Discard), crzap.UseDevMode(false)))
		opts = append(opts, func(_ *env, c *orgoidc.Config) { c.Metrics, c.Audit = m, sink })
	}
	e := newEnvWithKeys(b, world{}, ks, opts...)
	issuer := e.issuer
	if observed {
		// As internal/server wraps the provider.
		wrapped := httptest.NewServer(audit.Middleware(nil, m.InstrumentHTTP(e.srv.Config.Handler)))
		b.Cleanup(wrapped.Close)
		issuer = wrapped.URL
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	body := url.Values{"grant_type": {"client_credentials"}, "organization": {"acme"}}.Encode()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if !postToken(b, client, issuer, body, "portal") {
				return
			}
		}
	})
	rate := float64(b.N) / time.Since(start).Seconds()
	b.StopTimer()
	b.ReportMetric(rate, "tokens/s")
	// The targets compare with the raw signing rate of the same key on one
	// goroutine, measured in this run so that machine noise hits both.
	b.ReportMetric(rate/rawSignRate(b, ks), "ratio_to_raw_sign")
}

// rawSignRate is signatures per second of the key set's signing key over a
// SHA-256 digest, on one goroutine, for about half a second.
func rawSignRate(b *testing.B, ks *keys.KeySet) float64 {
	key, ok := ks.Key(mustSigningKeyID(b, ks))
	if !ok {
		b.Fatal("the signing key is not in the key set")
	}
	digest := sha256.Sum256([]byte("orgkeeper raw signing rate"))
	n, start := 0, time.Now()
	for time.Since(start) < 500*time.Millisecond {
		if _, err := key.Signer().Sign(rand.Reader, digest[:], crypto.SHA256); err != nil {
			b.Fatal(err)
		}
		n++
	}
	return float64(n) / time.Since(start).Seconds()
}

func mustSigningKeyID(b *testing.B, ks *keys.KeySet) string {
	sk, err := ks.SigningKey()
	if err != nil {
		b.Fatal(err)
	}
	return sk.ID()
}
