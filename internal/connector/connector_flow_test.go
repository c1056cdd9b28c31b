package connector_test

import (
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/connector"
	"github.com/orgkeeper/orgkeeper/internal/connector/upstreamtest/orgkeeperidp"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
)

// The whole authorization code flow with PKCE against a real provider:
// Orgkeeper's own issuer, signed into through its login pages.

const callbackURL = "https://orgkeeper.example/login/idp/callback"

var (
	alice = orgkeeperidp.User{Name: "alice", Password: "correct horse battery staple", Groups: []string{"engineering", "oncall"}}
	bob   = orgkeeperidp.User{Name: "bob", Password: "another long password"}
)

func testConfig() connector.Config {
	return connector.Config{AllowLoopbackHTTP: true, Timeout: 5 * time.Second}
}

func TestASignInThroughARealUpstreamYieldsTheMappedIdentity(t *testing.T) {
	up := orgkeeperidp.New(t, callbackURL, alice, bob)
	idp := up.IdentityProvider("acme", "corp-sso")
	conn, err := connector.New(idp, testConfig())
	if err != nil {
		t.Fatal(err)
	}

	authURL, pending, err := conn.Begin(t.Context(), connector.BeginRequest{RedirectURI: callbackURL, LoginHint: alice.Email()})
	if err != nil {
		t.Fatal(err)
	}
	q := mustQuery(t, authURL)
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") != pending.Nonce || q.Get("state") != pending.State {
		t.Fatalf("the authorization request lacks PKCE, nonce or state: %s", authURL)
	}
	if pending.CodeVerifier == "" || pending.IdP != conn.Key() || pending.Issuer != up.URL || pending.RedirectURI != callbackURL {
		t.Fatalf("pending state: %+v", pending)
	}

	callback := up.SignIn(t, authURL, alice)
	if callback.URL.Query().Get("iss") != up.URL {
		t.Fatalf("the upstream's response carries no iss (RFC 9207): %s", callback.URL)
	}
	id, err := conn.Finish(t.Context(), pending, callback)
	if err != nil {
		t.Fatal(err)
	}
	if id.Subject == "" || id.Email != alice.Email() || !id.EmailVerified || id.Name != "alice" ||
		!slices.Equal(id.Groups, alice.Groups) || id.Issuer != up.URL || id.IdPKey != conn.Key() {
		t.Fatalf("identity: %+v", id)
	}

	// The same callback again (the login step deleted the pending state, so
	// a replay comes with another pending state, or none): refused.
	if _, err := conn.Finish(t.Context(), connector.PendingState{}, callback); !isReason(err, connector.ErrStateMismatch) {
		t.Fatalf("a replayed callback without pending state: %v", err)
	}
	_, other, err := conn.Begin(t.Context(), connector.BeginRequest{RedirectURI: callbackURL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Finish(t.Context(), other, callback); !isReason(err, connector.ErrStateMismatch) {
		t.Fatalf("a callback of another sign-in: %v", err)
	}
}

func TestTheNextSignInVerifiesAfterTheUpstreamRotatesItsKeys(t *testing.T) {
	up := orgkeeperidp.New(t, callbackURL, alice)
	clock := &testClock{}
	cfg := testConfig()
	cfg.Now = clock.Now
	conn, err := connector.New(up.IdentityProvider("acme", "corp-sso"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	signIn := func() error {
		authURL, pending, err := conn.Begin(t.Context(), connector.BeginRequest{RedirectURI: callbackURL, LoginHint: alice.Email()})
		if err != nil {
			t.Fatal(err)
		}
		_, err = conn.Finish(t.Context(), pending, up.SignIn(t, authURL, alice))
		return err
	}
	if err := signIn(); err != nil {
		t.Fatal(err)
	}
	up.RotateKeys(t)
	// The keys were fetched just now: an unknown kid is not refetched
	// before the refresh interval, so that forged kids cannot make the
	// connector hammer the upstream.
	if err := signIn(); !isReason(err, connector.ErrBadSignature) {
		t.Fatalf("an unknown key within the refresh interval: want BadSignature, got %v", err)
	}
	clock.Advance(time.Minute)
	if err := signIn(); err != nil {
		t.Fatalf("after the upstream rotated its keys: %v", err)
	}
}

func TestTheRegistryReusesAConnectorUntilTheProviderChanges(t *testing.T) {
	up := orgkeeperidp.New(t, callbackURL)
	reg := connector.NewRegistry(testConfig())
	idp := up.IdentityProvider("acme", "corp-sso")
	first, err := reg.Connector(idp)
	if err != nil {
		t.Fatal(err)
	}
	same := *idp
	if c, _ := reg.Connector(&same); c != first {
		t.Errorf("the same provider version got a new connector")
	}
	for name, change := range map[string]func(*snapshot.IdentityProvider){
		"a new generation":    func(i *snapshot.IdentityProvider) { i.Generation++ },
		"a new client secret": func(i *snapshot.IdentityProvider) { i.ClientSecret = "rotated" },
		"a recorded discovery": func(i *snapshot.IdentityProvider) {
			i.Discovery = iamv1.IdentityProviderDiscovery{AuthorizationEndpoint: up.URL + "/authorize", TokenEndpoint: up.URL + "/oauth/token", JWKSURI: up.URL + "/keys"}
		},
	} {
		changed := *idp
		change(&changed)
		if c, err := reg.Connector(&changed); err != nil || c == first {
			t.Errorf("%s: want a new connector, got the old one (%v)", name, err)
		}
	}
}

func TestTheRegistryForgetsProvidersNoLongerServed(t *testing.T) {
	up := orgkeeperidp.New(t, callbackURL)
	reg := connector.NewRegistry(testConfig())
	idp := up.IdentityProvider("acme", "corp-sso")
	first, err := reg.Connector(idp)
	if err != nil {
		t.Fatal(err)
	}
	reg.Forget(func(types.UID) bool { return true })
	if c, _ := reg.Connector(idp); c != first {
		t.Error("a kept provider lost its connector")
	}
	reg.Forget(func(uid types.UID) bool { return uid != idp.UID })
	if c, _ := reg.Connector(idp); c == first {
		t.Error("a forgotten provider kept its connector")
	}
}

type testClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

func mustQuery(t *testing.T, raw string) url.Values {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

func isReason(err error, target *connector.Error) bool {
	e, ok := err.(*connector.Error)
	return ok && e.Reason == target.Reason
}

var _ = http.MethodGet
