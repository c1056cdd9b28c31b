package server_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/credentials"
	"github.com/orgkeeper/orgkeeper/internal/keys"
	"github.com/orgkeeper/orgkeeper/internal/oidc"
	"github.com/orgkeeper/orgkeeper/internal/server"
	"github.com/orgkeeper/orgkeeper/internal/session"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

// The server's tests run the real provider and login pages, as one
// handler, on an httptest server: each browser is an http.Client with its
// own cookie jar that does not follow redirects.

const (
	// sysNS is the world's system namespace.
	sysNS       = st.SystemNamespace
	redirectURI = "https://portal.example/callback"
	password    = "correct horse battery staple"
)

// issuer is a running server.
type issuer struct {
	t        testing.TB
	url      string
	sessions *session.Memory
}

// world is the issuer's world: the root platform, acme with alice (password
// password), and the confidential client portal shared with acme.
func world(t testing.TB) *snapshot.Snapshot {
	t.Helper()
	hash, err := credentials.Hash(password)
	if err != nil {
		t.Fatal(err)
	}
	alice := st.User("acme", "alice", "alice@acme.example")
	return st.MustBuild(t, st.World(
		st.Org("platform"),
		st.Org("acme", st.WithParent("platform")),
		alice, st.CredentialSecret(alice.UID, hash, ""),
		st.App("platform", "portal", st.WithRedirectURIs(redirectURI),
			st.WithGrantTypes(iamv1.GrantTypeAuthorizationCode), st.SharedWith(false, "acme")),
	))
}

func newIssuer(t testing.TB) *issuer {
	t.Helper()
	return newIssuerWith(t, nil)
}

// newIssuerWith is newIssuer with configure applied to the server's Config
// (when not nil) before the server is made.
func newIssuerWith(t testing.TB, configure func(*server.Config)) *issuer {
	t.Helper()
	ks, err := keys.NewKeySet(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	snaps := &snapshot.Store{}
	snaps.Set(world(t))
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	sessions := session.NewMemory()
	cfg := server.Config{Issuer: srv.URL, Snapshots: snaps, Keys: oidc.StaticKeys{Set: ks}, Sessions: sessions}
	if configure != nil {
		configure(&cfg)
	}
	s, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h = s.Handler()
	return &issuer{t: t, url: srv.URL, sessions: sessions}
}

// browser is one browser: its own cookies, redirects not followed.
type browser struct {
	t   testing.TB
	iss *issuer
	c   *http.Client
}

func (i *issuer) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: i.t, iss: i, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

type page struct {
	status   int
	location string
	body     string
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(body)}
}

// get fetches a URL or a path of the issuer.
func (b *browser) get(u string) page {
	b.t.Helper()
	if strings.HasPrefix(u, "/") {
		u = b.iss.url + u
	}
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.iss.url+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// authorize starts a sign-in to portal for acme and returns the login
// URL it is sent to.
func (b *browser) authorize(state string, extra ...string) string {
	b.t.Helper()
	q := url.Values{"client_id": {"portal"}, "redirect_uri": {redirectURI}, "response_type": {"code"},
		"scope": {"openid"}, "state": {state}, "organization": {"acme"}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	p := b.get("/authorize?" + q.Encode())
	if p.status != http.StatusFound || !strings.HasPrefix(p.location, "/login?authRequestID=") {
		b.t.Fatalf("authorize: want a redirect to the login pages, got %d %q", p.status, p.location)
	}
	return p.location
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([a-zA-Z_]+)" value="([^"]*)">`)

// signIn shows the login link's password page and submits alice's
// password; it returns the answer (a redirect to the callback when it
// worked).
func (b *browser) signIn(loginURL string) page {
	b.t.Helper()
	p := b.get(loginURL)
	if p.status != http.StatusOK || !strings.Contains(p.body, `action="/login/password"`) {
		b.t.Fatalf("want the password page, got %d %q\n%s", p.status, p.location, p.body)
	}
	form := url.Values{"username": {"alice@acme.example"}, "password": {password}}
	for _, m := range hiddenInput.FindAllStringSubmatch(p.body, -1) {
		form.Set(m[1], unescape(m[2]))
	}
	return b.post("/login/password", form)
}

func unescape(s string) string {
	return strings.NewReplacer("&#43;", "+", "&#61;", "=", "&amp;", "&").Replace(s)
}

// code returns the code of an authorization response, or "".
func code(t testing.TB, p page) string {
	t.Helper()
	u, err := url.Parse(p.location)
	if err != nil || p.location == "" {
		return ""
	}
	return u.Query().Get("code")
}

func authRequestID(t testing.TB, loginURL string) string {
	t.Helper()
	u, err := url.Parse(loginURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("authRequestID")
}
