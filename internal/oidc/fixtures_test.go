package oidc_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
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

// sysNS is the world's system namespace.
const sysNS = st.SystemNamespace

// clientSecret is the client secret of a confidential application of the
// world (the one the SharedApplication reconciler would generate).
func clientSecret(name string) string { return st.GeneratedClientSecret(name) }

// world is the test installation: a root "platform" with children "acme"
// and "globex"; alice (admin of acme) and bob (globex); applications
// registered in platform. Its objects come from snapshottest; the fields
// say how a test's installation differs.
type world struct {
	suspendAcme  bool
	disableAlice bool
	// squatOrg and squatApp add what an acme admin could create to capture
	// names (squatting_test.go): organization initech below acme, which
	// portal's sharing lists by name, with user mallory; an application
	// "portal" of acme's own.
	squatOrg, squatApp bool
	// orgs, users and apps add snapshottest options to the world's object
	// of that name.
	orgs  map[string][]st.OrgOption
	users map[string][]st.UserOption
	apps  map[string][]st.AppOption
	// extra objects (snapshottest builders) join the world after its own,
	// so they are younger.
	extra []any
	// edit, when set, changes the input last (for example to remove an
	// object).
	edit func(*snapshot.Input)
}

func (w world) input(version int64) snapshot.Input {
	acme := []st.OrgOption{st.WithParent("platform"), st.WithDisplayName("ACME Corporation"),
		// alice's email is verified in tokens only at a domain acme holds.
		st.WithDomains("acme.example")}
	if w.suspendAcme {
		acme = append(acme, st.Suspended())
	}
	alice := []st.UserOption{st.WithNames("Alice Example", "alice", "Example"),
		st.WithRoles("admin"), st.WithGroups("engineering"), st.WithApplicationRoles("portal", "buyer")}
	if w.disableAlice {
		alice = append(alice, st.Disabled())
	}
	// Every application is registered in platform and shared with acme.
	shared := []st.AppOption{st.SharedWith(false, "acme"),
		st.WithGrantTypes(iamv1.GrantTypeAuthorizationCode, iamv1.GrantTypeRefreshToken)}
	app := func(name string, opts ...st.AppOption) iamv1.SharedApplication {
		return st.App("platform", name, append(append(append([]st.AppOption{}, shared...), opts...), w.apps[name]...)...)
	}
	var objects []any
	if w.squatApp {
		objects = append(objects, squattingApp()...) // older than the root's portal
	}
	objects = append(objects,
		st.Org("platform", w.orgs["platform"]...),
		st.Org("acme", append(acme, w.orgs["acme"]...)...),
		st.Org("globex", append([]st.OrgOption{st.WithParent("platform")}, w.orgs["globex"]...)...),
		st.User("acme", "alice", "alice@acme.example", append(alice, w.users["alice"]...)...),
		st.User("globex", "bob", "bob@globex.example", append([]st.UserOption{st.WithNames("Bob Example", "bob", "Example")}, w.users["bob"]...)...),
		app("portal", st.DefiningRoles("buyer"), st.WithPostLogoutRedirectURIs("https://portal.example/"),
			st.WithGrantTypes(iamv1.GrantTypeAuthorizationCode, iamv1.GrantTypeRefreshToken, iamv1.GrantTypeClientCredentials)),
		app("other"),
		app("spa", st.Public()),
		app("cli", st.Public(), st.WithRedirectURIs("http://127.0.0.1/callback", "http://[::1]/callback")),
		app("opaque", st.WithAccessTokenFormat(iamv1.AccessTokenFormatOpaque), st.WithGrantTypes(iamv1.GrantTypeClientCredentials)),
	)
	objects = append(objects, w.extra...)
	if w.squatOrg {
		objects = append(objects, squattingOrg()...)
	}
	in := st.World(objects...)
	in.Version, in.Now = version, time.Now()
	w.mustName(in)
	if w.squatOrg {
		shareWithSquattingOrg(&in)
	}
	if w.edit != nil {
		w.edit(&in)
	}
	return in
}

// mustName panics when orgs, users or apps name an object the world does not
// have: a test whose options went nowhere would test the default world.
func (w world) mustName(in snapshot.Input) {
	missing := func(kind, name string) {
		panic(fmt.Sprintf("world: options for %s %q, which the world does not have", kind, name))
	}
	for n := range w.orgs {
		if !slices.ContainsFunc(in.Organizations, func(o iamv1.Organization) bool { return o.Name == n }) {
			missing("organization", n)
		}
	}
	for n := range w.users {
		if !slices.ContainsFunc(in.Users, func(u iamv1.OrgUser) bool { return u.Name == n }) {
			missing("user", n)
		}
	}
	for n := range w.apps {
		if !slices.ContainsFunc(in.Applications, func(a iamv1.SharedApplication) bool { return a.Name == n }) {
			missing("application", n)
		}
	}
}

// env is a running issuer.
type env struct {
	t        testing.TB
	srv      *httptest.Server
	issuer   string
	snaps    *snapshot.Store
	sessions *session.Memory
	keys     *keys.KeySet
	version  atomic.Int64
	http     *http.Client // does not follow redirects
}

func newEnv(t testing.TB, w world, opts ...envOption) *env {
	t.Helper()
	ks, err := keys.NewKeySet(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return newEnvWithKeys(t, w, ks, opts...)
}

// envOption changes the provider's configuration; the env's issuer,
// snapshots and sessions are set when it runs.
type envOption func(*env, *orgoidc.Config)

func newEnvWithKeys(t testing.TB, w world, ks *keys.KeySet, opts ...envOption) *env {
	t.Helper()
	e := &env{t: t, snaps: &snapshot.Store{}, sessions: session.NewMemory(), keys: ks}
	e.setWorld(w)
	var h http.Handler
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(e.srv.Close)
	e.issuer = e.srv.URL
	var err error
	cfg := orgoidc.Config{
		Issuer:            e.issuer,
		Snapshots:         e.snaps,
		Sessions:          e.sessions,
		Keys:              orgoidc.StaticKeys{Set: ks},
		LoginURL:          func(id string) string { return "https://login.test/login?id=" + url.QueryEscape(id) },
		AllowInsecure:     true,
		SessionCookieName: sessionCookie,
		BindingCookieName: bindingCookie,
	}
	for _, o := range opts {
		o(e, &cfg)
	}
	h, err = orgoidc.NewProvider(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The client is the browser: its jar keeps the binding cookie that
	// /authorize sets and the SSO cookie that login sets.
	jar, _ := cookiejar.New(nil)
	e.http = &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return e
}

func (e *env) setWorld(w world) {
	snap, problems := snapshot.Build(w.input(e.version.Add(1)))
	for _, p := range problems {
		e.t.Logf("snapshot problem: %s: %s", p.Object, p.Message)
	}
	e.snaps.Set(snap)
}

func (e *env) snap() *snapshot.Snapshot { return e.snaps.Load() }

func (e *env) userID(org, name string) string {
	u := e.snap().UserByLogin(org, name+"@"+org+".example")
	if u == nil {
		e.t.Fatalf("no user %s/%s", org, name)
	}
	return u.ID
}

// authorize sends the browser to /authorize and returns the response.
func (e *env) authorize(params url.Values) *http.Response {
	e.t.Helper()
	resp, err := e.http.Get(e.issuer + "/authorize?" + params.Encode())
	if err != nil {
		e.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// authRequestID expects a redirect to the login UI and returns the ID.
func (e *env) authRequestID(resp *http.Response) string {
	e.t.Helper()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || loc.Host != "login.test" {
		e.t.Fatalf("authorize: want redirect to the login UI, got %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc.Query().Get("id")
}

// Cookie names of the test issuer (plain http: no __Host- prefix).
const (
	sessionCookie = "orgkeeper_session"
	bindingCookie = "orgkeeper_authreq"
)

// login is what internal/login does once the user has authenticated in
// e.http's browser: start a login session, set its cookie, complete the
// auth request.
func (e *env) login(id, userID string) {
	e.t.Helper()
	e.loginIn(e.http.Jar, id, userID)
}

// loginIn is login in the browser whose cookies are jar.
func (e *env) loginIn(jar http.CookieJar, id, userID string) {
	e.t.Helper()
	e.loginAt(jar, id, userID, time.Now())
}

// loginAt is loginIn with a sign-in that happened at authTime.
func (e *env) loginAt(jar http.CookieJar, id, userID string, authTime time.Time) {
	e.t.Helper()
	ctx := context.Background()
	u := e.snap().UserByID(userID)
	s, err := e.sessions.CreateLoginSession(ctx, session.LoginSession{UserID: u.ID, OrgID: u.Org.ID, AuthTime: authTime, AMR: []string{"pwd"}})
	if err != nil {
		e.t.Fatal(err)
	}
	iss, _ := url.Parse(e.issuer)
	jar.SetCookies(iss, []*http.Cookie{{Name: sessionCookie, Value: s.ID, Path: "/"}})
	_, err = e.sessions.UpdateAuthRequest(ctx, id, func(r *session.AuthRequest) error {
		r.UserID = u.ID
		r.OrgID = u.Org.ID
		r.AuthTime = s.AuthTime
		r.AMR = []string{"pwd"}
		r.LoginSessionID = session.HashSecret(s.ID)
		r.Done = true
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// callback follows the login UI's redirect to the callback and returns the
// redirect to the client.
func (e *env) callback(id string) *url.URL {
	e.t.Helper()
	resp, err := e.http.Get(orgoidc.CallbackURL(e.issuer, id))
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		e.t.Fatalf("callback: status %d", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		e.t.Fatal(err)
	}
	return loc
}

// codeFor runs authorize, login and callback and returns the code.
func (e *env) codeFor(clientID, redirectURI, userID, verifier string, scopes ...string) string {
	e.t.Helper()
	p := authParams(clientID, redirectURI, scopes...)
	if verifier != "" {
		p.Set("code_challenge", s256(verifier))
		p.Set("code_challenge_method", "S256")
	}
	id := e.authRequestID(e.authorize(p))
	e.login(id, userID)
	loc := e.callback(id)
	code := loc.Query().Get("code")
	if code == "" {
		e.t.Fatalf("callback: no code in %s", loc)
	}
	return code
}

func authParams(clientID, redirectURI string, scopes ...string) url.Values {
	if len(scopes) == 0 {
		scopes = []string{"openid", "profile", "email", "offline_access"}
	}
	return url.Values{
		"client_id":     {clientID},
		"redirect_uri":  {redirectURI},
		"response_type": {"code"},
		"scope":         {strings.Join(scopes, " ")},
		"state":         {"xyz"},
		"nonce":         {"n-0S6"},
	}
}

func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"

// token posts to the token endpoint; clientID "" means no authentication.
func (e *env) token(clientID, secret string, form url.Values) (int, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.issuer+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if secret != "" {
		req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	}
	resp, err := e.http.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		e.t.Fatalf("token: %d, undecodable body: %v", resp.StatusCode, err)
	}
	return resp.StatusCode, body
}

// tokenAs posts form to the token endpoint as clientID, authenticated as
// its type requires: HTTP Basic for Confidential, client_id alone for
// Public (and for a client the snapshot does not know).
func (e *env) tokenAs(clientID string, form url.Values) (int, map[string]any) {
	secret := ""
	if c := e.snap().Client(clientID); c != nil && !c.IsPublic() {
		secret = clientSecret(clientID)
	} else {
		form.Set("client_id", clientID)
	}
	return e.token(clientID, secret, form)
}

func (e *env) redeem(clientID, redirectURI, code, verifier string) (int, map[string]any) {
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}}
	if verifier != "" {
		form.Set("code_verifier", verifier)
	}
	return e.tokenAs(clientID, form)
}

func (e *env) refresh(clientID, refreshToken string) (int, map[string]any) {
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}}
	return e.tokenAs(clientID, form)
}

// jwtClaims decodes a JWT's payload without verifying it (the relying-party
// test verifies signatures).
func jwtClaims(t testing.TB, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", token)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func str(v any) string { return fmt.Sprint(v) }

func sessionFor(userID string) session.LoginSession { return session.LoginSession{UserID: userID} }
