package connector_test

import (
	"bytes"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/connector"
	"github.com/orgkeeper/orgkeeper/internal/connector/upstreamtest"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
)

func TestClaimsAreTakenThroughTheProvidersClaimMappings(t *testing.T) {
	tests := []struct {
		name     string
		mappings func(m *iamv1.ClaimMappings)
		claims   func(c map[string]any)
		userinfo func(c map[string]any)
		check    func(t *testing.T, id connector.Identity, f *upstreamtest.Fake)
		err      *connector.Error
	}{
		{
			name: "custom claim names are read instead of the standard ones",
			mappings: func(m *iamv1.ClaimMappings) {
				m.Subject, m.Email, m.Groups, m.Name = "oid", "mail", "roles", "displayName"
			},
			claims: func(c map[string]any) {
				c["oid"], c["mail"], c["roles"], c["displayName"] = "00u-object-id", "pat@corp.example", []string{"admins", "dev"}, "Pat from Corp"
			},
			check: func(t *testing.T, id connector.Identity, _ *upstreamtest.Fake) {
				if id.Subject != "00u-object-id" || id.Email != "pat@corp.example" || id.Name != "Pat from Corp" || !slices.Equal(id.Groups, []string{"admins", "dev"}) {
					t.Errorf("identity: %+v", id)
				}
			},
		},
		{
			name:   "email_verified sent as the string true counts as verified",
			claims: func(c map[string]any) { c["email_verified"] = "true" },
			check: func(t *testing.T, id connector.Identity, _ *upstreamtest.Fake) {
				if !id.EmailVerified {
					t.Error("not verified")
				}
			},
		},
		{
			name:   "email_verified that is absent or not a boolean counts as unverified",
			claims: func(c map[string]any) { c["email_verified"] = 1 },
			check: func(t *testing.T, id connector.Identity, _ *upstreamtest.Fake) {
				if id.EmailVerified {
					t.Error("verified")
				}
			},
		},
		{
			name:     "a numeric subject claim is read as its decimal text",
			mappings: func(m *iamv1.ClaimMappings) { m.Subject = "user_id" },
			claims:   func(c map[string]any) { c["user_id"] = 12345678901234 },
			check: func(t *testing.T, id connector.Identity, _ *upstreamtest.Fake) {
				if id.Subject != "12345678901234" {
					t.Errorf("subject %q", id.Subject)
				}
			},
		},
		{
			name:   "a single group sent as a string is one group, and non-strings are dropped",
			claims: func(c map[string]any) { c["groups"] = "staff" },
			check: func(t *testing.T, id connector.Identity, _ *upstreamtest.Fake) {
				if !slices.Equal(id.Groups, []string{"staff"}) {
					t.Errorf("groups %q", id.Groups)
				}
			},
		},
		{
			name: "groups are bounded in number and length",
			claims: func(c map[string]any) {
				g := []any{strings.Repeat("g", 300), 7}
				for i := range 1000 {
					g = append(g, "group-"+strings.Repeat("x", i%10))
				}
				c["groups"] = g
			},
			check: func(t *testing.T, id connector.Identity, _ *upstreamtest.Fake) {
				if len(id.Groups) != 256 || slices.ContainsFunc(id.Groups, func(g string) bool { return len(g) > 256 }) {
					t.Errorf("%d groups", len(id.Groups))
				}
			},
		},
		{
			name:   "a long name is cut, not refused",
			claims: func(c map[string]any) { c["name"] = strings.Repeat("é", 300) },
			check: func(t *testing.T, id connector.Identity, _ *upstreamtest.Fake) {
				if len(id.Name) > 256 || !strings.HasPrefix(strings.Repeat("é", 300), id.Name) {
					t.Errorf("name of %d bytes", len(id.Name))
				}
			},
		},
		{
			name:   "a subject longer than the bound is refused rather than cut into another account",
			claims: func(c map[string]any) { c["sub"] = strings.Repeat("s", 300) },
			err:    connector.ErrInvalidToken,
		},
		{
			name:     "a mapped subject claim longer than the bound is refused too",
			mappings: func(m *iamv1.ClaimMappings) { m.Subject = "oid" },
			claims:   func(c map[string]any) { c["oid"] = strings.Repeat("o", 300) },
			err:      connector.ErrInvalidToken,
		},
		{
			name:     "a mapped subject claim that is missing everywhere is refused",
			mappings: func(m *iamv1.ClaimMappings) { m.Subject = "oid" },
			err:      connector.ErrInvalidToken,
		},
		{
			name:   "claims missing from the ID token are taken from userinfo",
			claims: func(c map[string]any) { delete(c, "groups"); delete(c, "email") },
			userinfo: func(c map[string]any) {
				c["groups"], c["email"] = []string{"from-userinfo"}, "userinfo@fake.example"
			},
			check: func(t *testing.T, id connector.Identity, f *upstreamtest.Fake) {
				if !slices.Equal(id.Groups, []string{"from-userinfo"}) || id.Email != "userinfo@fake.example" || f.Hits("/userinfo") != 1 {
					t.Errorf("identity %+v, %d userinfo requests", id, f.Hits("/userinfo"))
				}
			},
		},
		{
			name:     "the ID token's claims win over userinfo's",
			claims:   func(c map[string]any) { delete(c, "groups") },
			userinfo: func(c map[string]any) { c["email"] = "other@fake.example" },
			check: func(t *testing.T, id connector.Identity, _ *upstreamtest.Fake) {
				if id.Email != "pat@fake.example" {
					t.Errorf("email %q", id.Email)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := upstreamtest.NewFake(t)
			f.Set(func(f *upstreamtest.Fake) { f.Claims, f.Userinfo = tt.claims, tt.userinfo })
			idp := f.IdentityProvider("acme", "fake")
			if tt.mappings != nil {
				tt.mappings(&idp.ClaimMappings)
			}
			conn, err := connector.New(idp, testConfig())
			if err != nil {
				t.Fatal(err)
			}
			id, err := signInAtFake(t, conn, f)
			if tt.err != nil {
				if !isReason(err, tt.err) {
					t.Fatalf("want %s, got %+v, %v", tt.err.Reason, id, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, id, f)
		})
	}
}

func TestBeginUsesTheInjectedRandomSourceAndKeepsTheEndpointsQuery(t *testing.T) {
	f := upstreamtest.NewFake(t)
	f.Set(func(f *upstreamtest.Fake) {
		f.Discovery = func(d map[string]any) { d["authorization_endpoint"] = f.URL + "/authorize?p=B2C_1_signin" }
	})
	cfg := testConfig()
	cfg.Rand = bytes.NewReader(bytes.Repeat([]byte{7}, 96))
	conn, err := connector.New(f.IdentityProvider("acme", "fake"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	authURL, pending, err := conn.Begin(t.Context(), connector.BeginRequest{RedirectURI: fakeCallback, LoginHint: "pat@fake.example"})
	if err != nil {
		t.Fatal(err)
	}
	want := "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc"
	if pending.State != want || pending.Nonce != want || pending.CodeVerifier != want {
		t.Errorf("pending: %+v", pending)
	}
	q := mustQuery(t, authURL)
	if q.Get("p") != "B2C_1_signin" || q.Get("login_hint") != "pat@fake.example" || q.Get("scope") != "openid email profile" || q.Get("client_id") != upstreamtest.FakeClientID {
		t.Errorf("authorization URL: %s", authURL)
	}
	// The source is exhausted: Begin fails cleanly.
	if _, _, err := conn.Begin(t.Context(), connector.BeginRequest{RedirectURI: fakeCallback}); err == nil {
		t.Error("Begin without random bytes succeeded")
	}
}

func TestRecordedDiscoveryIsUsedWithoutFetchingTheDocument(t *testing.T) {
	f := upstreamtest.NewFake(t)
	idp := f.IdentityProvider("acme", "fake")
	idp.Discovery = iamv1.IdentityProviderDiscovery{
		AuthorizationEndpoint: f.URL + "/authorize", TokenEndpoint: f.URL + "/token",
		JWKSURI: f.URL + "/keys", UserinfoEndpoint: f.URL + "/userinfo",
	}
	conn, err := connector.New(idp, testConfig())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := signInAtFake(t, conn, f); err != nil {
		t.Fatal(err)
	}
	if n := f.Hits("/.well-known/openid-configuration"); n != 0 {
		t.Errorf("discovery fetched %d times although status.discovery was recorded", n)
	}
	idp.Discovery.TokenEndpoint = "http://token.example/token"
	if _, err := connector.New(idp, testConfig()); !isReason(err, connector.ErrMisconfigured) {
		t.Errorf("a recorded plain http token endpoint: %v", err)
	}
}

func TestAProviderThatIsDownIsNotAskedAgainAtEveryLogin(t *testing.T) {
	f := upstreamtest.NewFake(t)
	f.Set(func(f *upstreamtest.Fake) {
		f.Handlers["/.well-known/openid-configuration"] = func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "down", http.StatusServiceUnavailable)
		}
	})
	clock := &testClock{}
	cfg := testConfig()
	cfg.Now = clock.Now
	conn, err := connector.New(f.IdentityProvider("acme", "fake"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if _, _, err := conn.Begin(t.Context(), connector.BeginRequest{RedirectURI: fakeCallback}); !isReason(err, connector.ErrUnavailable) {
			t.Fatalf("want Unavailable, got %v", err)
		}
	}
	if n := f.Hits("/.well-known/openid-configuration"); n != 1 {
		t.Errorf("10 logins asked the down provider %d times; want 1 per refresh interval", n)
	}
	// It comes back: after the interval, the next login works.
	f.Set(func(f *upstreamtest.Fake) { delete(f.Handlers, "/.well-known/openid-configuration") })
	clock.Advance(time.Minute)
	if _, err := signInAtFake(t, conn, f); err != nil {
		t.Fatalf("after the provider came back: %v", err)
	}
}

func TestAPublicClientSendsItsIDInTheBodyAndAlwaysUsesPKCE(t *testing.T) {
	f := upstreamtest.NewFake(t)
	f.Set(func(f *upstreamtest.Fake) { f.Public = true })
	idp := f.IdentityProvider("acme", "fake")
	idp.ClientSecret, idp.PKCE = "", false
	conn, err := connector.New(idp, testConfig())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := signInAtFake(t, conn, f); err != nil {
		t.Fatal(err)
	}
}

func TestFinishSurvivesAnyCallbackRequest(t *testing.T) {
	f := upstreamtest.NewFake(t)
	conn, err := connector.New(f.IdentityProvider("acme", "fake"), testConfig())
	if err != nil {
		t.Fatal(err)
	}
	_, pending, err := conn.Begin(t.Context(), connector.BeginRequest{RedirectURI: fakeCallback})
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range []string{"", "%zz", "state=%00", "code=" + strings.Repeat("c", 20000) + "&state=" + url.QueryEscape(pending.State),
		"state=" + url.QueryEscape(pending.State) + "&code=" + strings.Repeat("c", 5000)} {
		r := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/cb", RawQuery: raw}}
		if _, err := conn.Finish(t.Context(), pending, r); err == nil {
			t.Errorf("query %.40q was accepted", raw)
		}
	}
	if _, err := conn.Finish(t.Context(), pending, nil); err == nil {
		t.Error("a nil request was accepted")
	}
	var nilIdP *snapshot.IdentityProvider
	if _, err := connector.New(nilIdP, testConfig()); err == nil {
		t.Error("New(nil) succeeded")
	}
}

func TestDiscoverAppliesTheConnectorsRulesForTheReconciler(t *testing.T) {
	f := upstreamtest.NewFake(t)
	d, err := connector.Discover(t.Context(), f.URL, testConfig())
	if err != nil {
		t.Fatal(err)
	}
	if d.Endpoints.TokenEndpoint != f.URL+"/token" || d.Endpoints.JWKSURI != f.URL+"/keys" || !d.IssParameterSupported {
		t.Errorf("discovery: %+v", d)
	}
	if _, err := connector.Discover(t.Context(), f.URL, connector.Config{}); !isReason(err, connector.ErrMisconfigured) {
		t.Errorf("a plain http issuer without AllowLoopbackHTTP: %v", err)
	}
	f.Set(func(f *upstreamtest.Fake) { f.Discovery = func(d map[string]any) { d["issuer"] = f.URL + "/" } })
	if _, err := connector.Discover(t.Context(), f.URL, testConfig()); !isReason(err, connector.ErrMisconfigured) {
		t.Errorf("a document naming another issuer (a trailing slash): %v", err)
	}
	f.Set(func(f *upstreamtest.Fake) {
		f.Handlers["/.well-known/openid-configuration"] = func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "down", http.StatusBadGateway) }
	})
	if _, err := connector.Discover(t.Context(), f.URL, testConfig()); !isReason(err, connector.ErrUnavailable) {
		t.Errorf("a provider that is down: %v", err)
	}
}

func TestADiscoveredDocumentIsFetchedAgainAfterTheKeyMaxAge(t *testing.T) {
	f := upstreamtest.NewFake(t)
	clock := &testClock{}
	cfg := testConfig()
	cfg.Now = clock.Now
	f.Set(func(f *upstreamtest.Fake) { f.Now = clock.Now })
	conn, err := connector.New(f.IdentityProvider("acme", "fake"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	signIn := func() {
		t.Helper()
		if _, err := signInAtFake(t, conn, f); err != nil {
			t.Fatal(err)
		}
	}
	signIn()
	signIn()
	if n := f.Hits("/.well-known/openid-configuration"); n != 1 {
		t.Fatalf("two sign-ins fetched discovery %d times; want once", n)
	}
	clock.Advance(2 * time.Hour)
	signIn()
	if n := f.Hits("/.well-known/openid-configuration"); n != 2 {
		t.Errorf("after the max age: %d discovery fetches; want 2", n)
	}
	// The provider's discovery fails later: the document fetched before
	// keeps serving.
	f.Set(func(f *upstreamtest.Fake) {
		f.Handlers["/.well-known/openid-configuration"] = func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "down", http.StatusBadGateway) }
	})
	clock.Advance(2 * time.Hour)
	signIn()
}
