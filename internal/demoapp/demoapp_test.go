package demoapp

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/keys"
	orgoidc "github.com/orgkeeper/orgkeeper/internal/oidc"
	"github.com/orgkeeper/orgkeeper/internal/session"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

// These tests run the real issuer (internal/oidc) on httptest with a
// snapshot of two organizations, and drive the demo application with a
// browser-like client (cookie jar, following redirects). The login UI is
// replaced by what it does once the user has authenticated: it marks the
// auth request done, as internal/oidc's own tests do.

const (
	clientID  = "demo-app"
	loginHost = "login.test"
)

// secret is the demo application's client secret, the one st.World
// generates for it.
var secret = st.GeneratedClientSecret(clientID)

type env struct {
	t        *testing.T
	issuer   *httptest.Server
	demo     *httptest.Server
	app      *app
	snaps    *snapshot.Store
	sessions *session.Memory
	up       atomic.Bool  // the issuer answers; otherwise 503
	browser  *http.Client // follows redirects, stops at the login UI
	noFollow *http.Client // same cookies, never follows
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, snaps: &snapshot.Store{}, sessions: session.NewMemory()}
	e.up.Store(true)
	ks, err := keys.NewKeySet(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var provider, demo http.Handler
	e.issuer = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !e.up.Load() {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		provider.ServeHTTP(w, r)
	}))
	t.Cleanup(e.issuer.Close)
	e.demo = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { demo.ServeHTTP(w, r) }))
	t.Cleanup(e.demo.Close)
	provider, err = orgoidc.NewProvider(orgoidc.Config{
		Issuer:            e.issuer.URL,
		Snapshots:         e.snaps,
		Sessions:          e.sessions,
		Keys:              orgoidc.StaticKeys{Set: ks},
		LoginURL:          func(id string) string { return "https://" + loginHost + "/login?id=" + url.QueryEscape(id) },
		AllowInsecure:     true,
		SessionCookieName: "orgkeeper_session",
		BindingCookieName: "orgkeeper_authreq",
	})
	if err != nil {
		t.Fatal(err)
	}
	e.setSnapshot()
	e.app, err = newApp(context.Background(), Config{
		Issuer:       e.issuer.URL,
		ClientID:     clientID,
		ClientSecret: secret,
		RedirectURL:  e.demo.URL + "/callback",
		HTTPClient:   e.issuer.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	demo = e.app.routes()
	jar, _ := cookiejar.New(nil)
	e.browser = &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if req.URL.Host == loginHost {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	e.noFollow = &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return e
}

// setSnapshot serves platform (root), acme and globex; alice of acme has
// the buyer role of the demo application, which is shared with acme only.
func (e *env) setSnapshot() {
	in := st.World(
		st.Org("platform", st.WithDisplayName("Platform")),
		st.Org("acme", st.WithParent("platform"), st.WithDisplayName("ACME Corporation")),
		st.Org("globex", st.WithParent("platform"), st.WithDisplayName("Globex")),
		st.User("acme", "alice", "alice@acme.example", st.WithNames("alice Example", "", ""),
			st.WithGroups("purchasing"), st.WithApplicationRoles(clientID, "buyer")),
		st.User("globex", "bob", "bob@globex.example", st.WithNames("bob Example", "", "")),
		st.App("platform", clientID, st.WithAppDisplayName("Demo Application"),
			st.WithRedirectURIs(e.demo.URL+"/callback"), st.WithPostLogoutRedirectURIs(e.demo.URL+"/"),
			st.WithGrantTypes(iamv1.GrantTypeAuthorizationCode, iamv1.GrantTypeRefreshToken),
			st.DefiningRoles("buyer"), st.SharedWith(false, "acme")),
	)
	in.Now = time.Now() // the issuer and the demo application run on the real clock
	e.snaps.Set(st.MustBuild(e.t, in))
}

// get is a GET by the browser; it returns the last response and its body.
func (e *env) get(c *http.Client, u string) (*http.Response, string) {
	e.t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, readBody(e.t, resp)
}

func (e *env) post(u string) (*http.Response, string) {
	e.t.Helper()
	resp, err := e.browser.PostForm(u, url.Values{})
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, readBody(e.t, resp)
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// startLogin follows /login through the issuer's /authorize to the login UI
// and returns the auth request's ID.
func (e *env) startLogin(hint string) string {
	e.t.Helper()
	resp, body := e.get(e.browser, e.demo.URL+"/login?hint="+url.QueryEscape(hint))
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || loc.Host != loginHost {
		e.t.Fatalf("/login: want a redirect to the login UI, got %d %q\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	return loc.Query().Get("id")
}

// authenticate is what the login UI does once the user has signed in, then
// the issuer's callback: it returns the authorization response (the
// redirect to the demo application's /callback), not yet followed.
func (e *env) authenticate(id, orgName, email string) *url.URL {
	e.t.Helper()
	u := e.snaps.Load().UserByLogin(orgName, email)
	if u == nil {
		e.t.Fatalf("no user %s in %s", email, orgName)
	}
	// The callback wants the SSO cookie of the session that signed in.
	s, err := e.sessions.CreateLoginSession(context.Background(), session.LoginSession{UserID: u.ID, OrgID: u.Org.ID, AuthTime: time.Now()})
	if err != nil {
		e.t.Fatal(err)
	}
	iss, _ := url.Parse(e.issuer.URL)
	e.browser.Jar.SetCookies(iss, []*http.Cookie{{Name: "orgkeeper_session", Value: s.ID, Path: "/"}})
	_, err = e.sessions.UpdateAuthRequest(context.Background(), id, func(r *session.AuthRequest) error {
		r.UserID, r.OrgID, r.AuthTime, r.AMR, r.Done = u.ID, u.Org.ID, s.AuthTime, []string{"pwd"}, true
		r.LoginSessionID = session.HashSecret(s.ID)
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	resp, _ := e.get(e.noFollow, orgoidc.CallbackURL(e.issuer.URL, id))
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(loc.String(), e.demo.URL+"/callback?") {
		e.t.Fatalf("issuer callback: want a redirect to the demo application, got %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc
}

// signIn runs the whole flow for alice and returns the /me page.
func (e *env) signIn() string {
	e.t.Helper()
	id := e.startLogin("acme")
	resp, body := e.get(e.browser, e.authenticate(id, "acme", "alice@acme.example").String())
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/me" {
		e.t.Fatalf("callback: want /me, got %d at %s\n%s", resp.StatusCode, resp.Request.URL, body)
	}
	return body
}

func (e *env) signedIn() bool {
	e.t.Helper()
	resp, _ := e.get(e.noFollow, e.demo.URL+"/me")
	return resp.StatusCode == http.StatusOK
}

func mustContain(t *testing.T, where, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s does not contain %q:\n%s", where, w, body)
		}
	}
}

func TestSignInRefreshAndSignOutThroughTheRealIssuer(t *testing.T) {
	e := newEnv(t)

	me := e.signIn()
	mustContain(t, "/me", me,
		`<tr class="org"><th>org_handle</th><td>acme</td></tr>`,
		`<tr class="org"><th>org_name</th><td>ACME Corporation</td></tr>`,
		`<tr class="org"><th>org_path</th><td>platform, acme</td></tr>`,
		`<tr class="org"><th>roles</th><td>buyer</td></tr>`,
		`<th>email</th><td>alice@acme.example</td>`,
		`<th>amr</th><td>pwd</td>`,
		"access token expires",
	)
	if _, after, ok := strings.Cut(me, "<h2>Userinfo</h2>"); !ok || !strings.Contains(after, `<th>org_handle</th><td>acme</td>`) {
		t.Errorf("/me does not show the userinfo response with org_handle:\n%s", me)
	}

	resp, body := e.post(e.demo.URL + "/refresh")
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/me" {
		t.Fatalf("/refresh: %d at %s\n%s", resp.StatusCode, resp.Request.URL, body)
	}
	mustContain(t, "/me after refresh", body, "Tokens refreshed", "<strong>rotated</strong>", `<th>org_handle</th><td>acme</td>`)

	// RP-initiated logout: the issuer's end-session endpoint sends the
	// browser back to the registered post-logout URI.
	resp, body = e.post(e.demo.URL + "/logout")
	if resp.StatusCode != http.StatusOK || resp.Request.URL.String() != e.demo.URL+"/" {
		t.Fatalf("/logout: want the home page after the issuer, got %d at %s\n%s", resp.StatusCode, resp.Request.URL, body)
	}
	if resp.Request.Response == nil || !strings.HasPrefix(resp.Request.Response.Request.URL.String(), e.issuer.URL) {
		t.Errorf("/logout did not go through the issuer")
	}
	if e.signedIn() {
		t.Error("still signed in after /logout")
	}
}

func TestTheHintBecomesLoginHintOrOrganization(t *testing.T) {
	e := newEnv(t)
	for hint, want := range map[string]func(session.AuthRequest) string{
		"acme":               func(r session.AuthRequest) string { return r.Organization },
		"alice@acme.example": func(r session.AuthRequest) string { return r.LoginHint },
	} {
		id := e.startLogin(hint)
		ar, err := e.sessions.GetAuthRequest(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if got := want(ar); got != hint {
			t.Errorf("hint %q reached the issuer as %q", hint, got)
		}
		if ar.CodeChallengeMethod != "S256" || ar.CodeChallenge == "" || ar.Nonce == "" {
			t.Errorf("hint %q: PKCE %q %q, nonce %q", hint, ar.CodeChallengeMethod, ar.CodeChallenge, ar.Nonce)
		}
	}
}

func TestDiscoveryIsLazyAndRetriedUntilTheIssuerServes(t *testing.T) {
	e := newEnv(t)
	e.up.Store(false)

	resp, body := e.get(e.browser, e.demo.URL+"/")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("home page while the issuer is down: %d", resp.StatusCode)
	}
	mustContain(t, "home page", body, "Sign in")

	resp, body = e.get(e.browser, e.demo.URL+"/login")
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("/login while the issuer is down: %d", resp.StatusCode)
	}
	mustContain(t, "/login while the issuer is down", body, "The issuer is not reachable yet", "orgkeeper dev ready")

	e.up.Store(true)
	if id := e.startLogin(""); id == "" {
		t.Fatal("no auth request ID")
	}
}

func TestTheCallbackRejectsResponsesItCannotTrust(t *testing.T) {
	cases := []struct {
		name   string
		tamper func(e *env, q url.Values)
		status int
		title  string
	}{
		{"a state that is not the one this browser sent is refused", func(_ *env, q url.Values) { q.Set("state", "forged") },
			http.StatusBadRequest, "The state parameter does not match"},
		{"an iss parameter naming another issuer is refused (mix-up)", func(_ *env, q url.Values) { q.Set("iss", "https://evil.example") },
			http.StatusBadRequest, "The response comes from the wrong issuer"},
		{"a missing iss parameter is refused because discovery announces it", func(_ *env, q url.Values) { q.Del("iss") },
			http.StatusBadRequest, "The response comes from the wrong issuer"},
		{"an ID token whose nonce is not the one sent is refused", func(e *env, _ url.Values) { e.forgetNonces() },
			http.StatusBadGateway, "nonce"},
		{"a callback without a pending sign-in is refused", func(e *env, _ url.Values) { e.forgetLogins() },
			http.StatusBadRequest, "This sign-in is unknown or expired"},
		{"a code that does not exist is refused by the token endpoint", func(_ *env, q url.Values) { q.Set("code", "nope") },
			http.StatusBadGateway, "The code could not be exchanged for tokens"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			loc := e.authenticate(e.startLogin("acme"), "acme", "alice@acme.example")
			q := loc.Query()
			tc.tamper(e, q)
			loc.RawQuery = q.Encode()
			resp, body := e.get(e.browser, loc.String())
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
			}
			mustContain(t, "error page", body, tc.title)
			if e.signedIn() {
				t.Error("the browser is signed in")
			}
		})
	}
}

func TestAnErrorResponseOfTheIssuerIsShownWithItsDescription(t *testing.T) {
	e := newEnv(t)
	// bob is of globex, which the demo application is not shared with.
	loc := e.authenticate(e.startLogin("globex"), "globex", "bob@globex.example")
	if loc.Query().Get("error") != "access_denied" {
		t.Fatalf("authorization response: %v", loc.Query())
	}
	resp, body := e.get(e.browser, loc.String())
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status %d", resp.StatusCode)
	}
	mustContain(t, "error page", body, "The issuer did not sign you in", "<td>access_denied</td>", "error_description")
	if e.signedIn() {
		t.Error("the browser is signed in")
	}
}

func TestClaimValuesAreEscaped(t *testing.T) {
	a, err := newApp(context.Background(), Config{Issuer: "https://issuer.example", ClientID: "c", RedirectURL: "http://127.0.0.1:9090/callback"})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	a.render(rec, http.StatusOK, "me", meData{IDToken: claimRows(map[string]any{"name": "<script>alert(1)</script>"})})
	if strings.Contains(rec.Body.String(), "<script>") {
		t.Fatalf("claim not escaped:\n%s", rec.Body)
	}
}

func TestNewRefusesAnIncompleteConfig(t *testing.T) {
	ok := Config{Issuer: "https://issuer.example", ClientID: "c", RedirectURL: "http://127.0.0.1:9090/callback"}
	for name, mutate := range map[string]func(*Config){
		"an issuer that is not an absolute URL":      func(c *Config) { c.Issuer = "issuer.example" },
		"no client ID":                               func(c *Config) { c.ClientID = "" },
		"a redirect URL whose path is not /callback": func(c *Config) { c.RedirectURL = "http://127.0.0.1:9090/cb" },
		"a relative post-logout URL":                 func(c *Config) { c.PostLogoutRedirectURL = "/" },
	} {
		c := ok
		mutate(&c)
		if _, err := New(context.Background(), c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := New(context.Background(), ok); err != nil {
		t.Errorf("a complete config: %v", err)
	}
}

// forgetNonces replaces the nonce of every pending sign-in, as if the ID
// token had been minted for another sign-in.
func (e *env) forgetNonces() {
	s := e.app.logins
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range s.m {
		v.v.nonce = "another-nonce"
		s.m[k] = v
	}
}

func (e *env) forgetLogins() {
	s := e.app.logins
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.m)
}
