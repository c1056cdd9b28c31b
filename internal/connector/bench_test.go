package connector_test

import (
	"testing"

	"github.com/orgkeeper/orgkeeper/internal/connector"
	"github.com/orgkeeper/orgkeeper/internal/connector/upstreamtest"
)

// BenchmarkSignInAtAnInProcessUpstream is Begin plus Finish (callback
// checks, token request, ID token verification, mapping) against the Fake
// on loopback: the latency Orgkeeper adds to a federated sign-in, plus the
// Fake's own small cost (ES256 signing, one local round trip).
func BenchmarkSignInAtAnInProcessUpstream(b *testing.B) {
	f := upstreamtest.NewFake(b)
	conn, err := connector.New(f.IdentityProvider("acme", "fake"), testConfig())
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	for b.Loop() {
		authURL, pending, err := conn.Begin(ctx, connector.BeginRequest{RedirectURI: fakeCallback})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := conn.Finish(ctx, pending, f.Authorize(b, authURL)); err != nil {
			b.Fatal(err)
		}
	}
}
