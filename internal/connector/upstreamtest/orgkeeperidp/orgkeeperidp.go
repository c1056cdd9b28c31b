// Package orgkeeperidp runs Orgkeeper's own issuer (internal/server with a
// snapshot and real keys from internal/keys) on 127.0.0.1 as an upstream
// identity provider for tests: an organization's corporate provider, signed
// into through its real login pages. It is apart from upstreamtest because
// it imports internal/server (and so internal/login): tests inside
// internal/login can use upstreamtest's Fake without an import cycle.
package orgkeeperidp

import (
	"crypto/x509"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orgkeeper/orgkeeper/internal/connector/upstreamtest"
	"github.com/orgkeeper/orgkeeper/internal/credentials"
	"github.com/orgkeeper/orgkeeper/internal/keys"
	"github.com/orgkeeper/orgkeeper/internal/server"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

// The upstream Orgkeeper's fixed names.
const (
	// Org is the upstream's one organization; its users' emails are in
	// Domain, which it has verified.
	Org    = "corp"
	Domain = "corp.example"
	// ClientID is the application that stands for the Orgkeeper under
	// test at the upstream.
	ClientID = "orgkeeper"
)

// ClientSecret is ClientID's secret at the upstream.
var ClientSecret = st.GeneratedClientSecret(ClientID)

// User is an account at the upstream.
type User struct {
	// Name is the OrgUser's name; the email is Name@Domain.
	Name     string
	Password string
	Groups   []string
}

// Email is the user's email address.
func (u User) Email() string { return u.Name + "@" + Domain }

// Provider is Orgkeeper's issuer running as an upstream provider.
type Provider struct {
	// URL is the issuer.
	URL string
	// Certificate is the https upstream's certificate (NewTLS), nil on
	// plain http. It is httptest's test certificate, the same as
	// upstreamtest.NewTLSFake's, so a client that trusts one trusts both.
	Certificate *x509.Certificate
	keys        atomic.Pointer[keys.KeySet]
}

// New starts the upstream on 127.0.0.1 with users, and the
// application ClientID whose one redirect URI is redirectURI. It stops at
// the end of the test.
func New(t testing.TB, redirectURI string, users ...User) *Provider {
	t.Helper()
	return start(t, false, redirectURI, users)
}

// NewTLS is New on https, for tests that go through the snapshot, which
// serves https providers only, and for browsers, which keep the two
// issuers' cookies apart by their names (secure cookies have the __Host-
// prefix).
func NewTLS(t testing.TB, redirectURI string, users ...User) *Provider {
	t.Helper()
	return start(t, true, redirectURI, users)
}

func start(t testing.TB, tls bool, redirectURI string, users []User) *Provider {
	t.Helper()
	objects := []any{
		st.Org(Org, st.WithDomains(Domain)),
		st.App(Org, ClientID, st.SharedWithAll(), st.WithRedirectURIs(redirectURI)),
	}
	for _, u := range users {
		hash, err := credentials.Hash(u.Password)
		if err != nil {
			t.Fatal(err)
		}
		objects = append(objects,
			st.User(Org, u.Name, u.Email(), st.WithGroups(u.Groups...)),
			st.CredentialSecret(st.UID("user", Org, u.Name), hash, ""))
	}
	in := st.World(objects...)
	in.Now = time.Now()
	snaps := &snapshot.Store{}
	snaps.Set(st.MustBuild(t, in))

	u := &Provider{}
	u.RotateKeys(t)
	var h http.Handler
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	if tls {
		srv.StartTLS()
		u.Certificate = srv.Certificate()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	u.URL = srv.URL
	s, err := server.New(server.Config{Issuer: srv.URL, Snapshots: snaps, Keys: u})
	if err != nil {
		t.Fatal(err)
	}
	h = s.Handler()
	return u
}

// KeySet is the upstream's current signing keys (oidc.KeySetGetter).
func (u *Provider) KeySet() *keys.KeySet { return u.keys.Load() }

// RotateKeys replaces every signing key by a new one; the JWKS publishes
// only the new keys from now on.
func (u *Provider) RotateKeys(t testing.TB) {
	t.Helper()
	ks, err := keys.NewKeySet(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	u.keys.Store(ks)
}

// IdentityProvider is an IdentityProvider of organization namespace that
// uses this upstream, as the snapshot serves it.
func (u *Provider) IdentityProvider(namespace, name string) *snapshot.IdentityProvider {
	return upstreamtest.OIDCIdentityProvider(namespace, name, "Corp SSO", u.URL, ClientID, ClientSecret)
}

// SignIn is a browser that opens authURL (the connector's redirect to the
// upstream), signs in on the upstream's password page as user and follows
// the upstream's redirects up to the redirect URI. It returns the request
// the browser then sends to that redirect URI (the callback).
func (u *Provider) SignIn(t testing.TB, authURL string, user User) *http.Request {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(target string) (*http.Response, string) {
		t.Helper()
		resp, err := c.Get(target)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body)
	}
	resolve := func(base *http.Response, loc string) string {
		l, err := base.Request.URL.Parse(loc)
		if err != nil {
			t.Fatal(err)
		}
		return l.String()
	}
	// /authorize -> the login page (login_hint routes to the organization).
	resp, body := get(authURL)
	for i := 0; i < 5 && resp.StatusCode/100 == 3; i++ {
		resp, body = get(resolve(resp, resp.Header.Get("Location")))
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `action="/login/password"`) {
		t.Fatalf("upstream: want its password page, got %d\n%s", resp.StatusCode, body)
	}
	form := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(body, -1) {
		form.Set(m[1], unescape(m[2]))
	}
	form.Set("username", user.Email())
	form.Set("password", user.Password)
	post, err := c.PostForm(u.URL+"/login/password", form)
	if err != nil {
		t.Fatal(err)
	}
	post.Body.Close()
	resp = post
	// -> the upstream's callback -> the redirect URI with code, state, iss.
	for i := 0; i < 5 && resp.StatusCode/100 == 3; i++ {
		next := resolve(resp, resp.Header.Get("Location"))
		if !strings.HasPrefix(next, u.URL) {
			req := httptest.NewRequest(http.MethodGet, next, nil)
			return req
		}
		resp, _ = get(next)
	}
	t.Fatalf("upstream: the sign-in did not end at the redirect URI (last answer %d %q)", resp.StatusCode, resp.Header.Get("Location"))
	return nil
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([a-zA-Z_]+)" value="([^"]*)">`)

func unescape(s string) string {
	return strings.NewReplacer("&#43;", "+", "&#61;", "=", "&amp;", "&", "&#34;", `"`, "&#39;", "'").Replace(s)
}
