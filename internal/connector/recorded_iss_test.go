package connector_test

import (
	"net/url"
	"testing"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/connector"
	"github.com/orgkeeper/orgkeeper/internal/connector/upstreamtest"
)

// The RFC 9207 promise recorded by the reconciler in status.discovery is
// kept: with the recorded endpoints (no document fetched), a response
// without iss is still a mix-up; without the promise it is accepted.
func TestRecordedIssPromiseRequiresIss(t *testing.T) {
	for _, promised := range []bool{true, false} {
		f := upstreamtest.NewFake(t)
		f.Set(func(f *upstreamtest.Fake) { f.Callback = func(q url.Values) { q.Del("iss") } })
		idp := f.IdentityProvider("acme", "fake")
		idp.Discovery = iamv1.IdentityProviderDiscovery{
			AuthorizationEndpoint: f.URL + "/authorize", TokenEndpoint: f.URL + "/token",
			JWKSURI: f.URL + "/keys", UserinfoEndpoint: f.URL + "/userinfo",
			AuthorizationResponseIssParameterSupported: promised,
		}
		conn, err := connector.New(idp, testConfig())
		if err != nil {
			t.Fatal(err)
		}
		_, err = signInAtFake(t, conn, f)
		switch {
		case promised && !isReason(err, connector.ErrMixUp):
			t.Errorf("promised iss, response without it: want MixUp, got %v", err)
		case !promised && err != nil:
			t.Errorf("no promise, response without iss: %v", err)
		}
		if n := f.Hits("/.well-known/openid-configuration"); n != 0 {
			t.Errorf("discovery fetched %d times although status.discovery was recorded", n)
		}
	}
}

// A provider that starts (or stops) promising iss gets a new connector: the
// promise is part of the recorded discovery a connector is built from.
func TestRegistryRebuildsWhenTheIssPromiseChanges(t *testing.T) {
	f := upstreamtest.NewFake(t)
	idp := f.IdentityProvider("acme", "fake")
	idp.Discovery = iamv1.IdentityProviderDiscovery{
		AuthorizationEndpoint: f.URL + "/authorize", TokenEndpoint: f.URL + "/token", JWKSURI: f.URL + "/keys",
	}
	reg := connector.NewRegistry(testConfig())
	before, err := reg.Connector(idp)
	if err != nil {
		t.Fatal(err)
	}
	promised := *idp
	promised.Discovery.AuthorizationResponseIssParameterSupported = true
	after, err := reg.Connector(&promised)
	if err != nil {
		t.Fatal(err)
	}
	if after == before {
		t.Error("the connector built without the iss promise is still used after status.discovery recorded it")
	}
}
