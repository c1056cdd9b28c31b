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
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/keys"
	orgoidc "github.com/orgkeeper/orgkeeper/internal/oidc"
	"github.com/orgkeeper/orgkeeper/internal/session"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
)

const sysNS = "orgkeeper-system"

func meta(kind, ns, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("uid-" + kind + "-" + name), Generation: 1,
		CreationTimestamp: metav1.NewTime(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))}
}

// org is a placed Organization (status written as the reconciler would).
func org(name string, path []string, opts ...func(*iamv1.Organization)) iamv1.Organization {
	ns := sysNS
	if len(path) > 1 {
		ns = path[len(path)-2]
	}
	o := iamv1.Organization{ObjectMeta: meta("org", ns, name), Spec: iamv1.OrganizationSpec{DisplayName: "Org " + name}}
	o.Status.Path = path
	o.Status.Namespace = name
	o.Status.Depth = int32(len(path) - 1)
	o.Status.ID = string(o.UID)
	if len(path) > 1 {
		o.Status.Parent = path[len(path)-2]
	}
	for _, f := range opts {
		f(&o)
	}
	return o
}

func user(orgName, name string, opts ...func(*iamv1.OrgUser)) iamv1.OrgUser {
	u := iamv1.OrgUser{ObjectMeta: meta("user", orgName, name), Spec: iamv1.OrgUserSpec{
		Email: name + "@" + orgName + ".example", EmailVerified: true, DisplayName: strings.ToUpper(name[:1]) + name[1:] + " Example",
		GivenName: name, FamilyName: "Example",
	}}
	for _, f := range opts {
		f(&u)
	}
	return u
}

func app(name string, opts ...func(*iamv1.SharedApplication)) iamv1.SharedApplication {
	a := iamv1.SharedApplication{ObjectMeta: meta("app", "platform", name), Spec: iamv1.SharedApplicationSpec{
		DisplayName:  "App " + name,
		ClientType:   iamv1.ClientTypeConfidential,
		RedirectURIs: []string{"https://" + name + ".example/callback"},
		GrantTypes:   []iamv1.GrantType{iamv1.GrantTypeAuthorizationCode, iamv1.GrantTypeRefreshToken},
		Sharing:      &iamv1.ApplicationSharing{Mode: iamv1.SharingModeSelected, Organizations: []string{"acme"}},
	}}
	for _, f := range opts {
		f(&a)
	}
	return a
}

func secretFor(name string) corev1.Secret {
	return corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "platform", Name: snapshot.GeneratedClientSecretName(name)},
		Data:       map[string][]byte{snapshot.ClientSecretKey: []byte(clientSecret(name))},
	}
}

func clientSecret(name string) string { return "secret-of-" + name }

// world is the test installation: a root "platform" with children "acme"
// and "globex"; alice (admin of acme) and bob (globex); applications
// registered in platform.
type world struct {
	suspendAcme  bool
	disableAlice bool
	// squatOrg and squatApp add what an acme admin could create to capture
	// names (squatting_test.go): organization initech below acme, which
	// portal's sharing lists by name, with user mallory; an application
	// "portal" of acme's own.
	squatOrg, squatApp bool
	// edit, when set, changes the input last (for example to set a
	// status field as a reconciler would).
	edit func(*snapshot.Input)
}

func (w world) input(version int64) snapshot.Input {
	acme := org("acme", []string{"platform", "acme"}, func(o *iamv1.Organization) {
		o.Spec.DisplayName = "ACME Corporation"
		o.Spec.Suspended = w.suspendAcme
		// alice's email is verified in tokens only at a domain acme holds.
		o.Spec.Domains = []iamv1.Domain{"acme.example"}
		o.Status.Domains = []iamv1.DomainStatus{{Name: "acme.example", Verified: true}}
	})
	in := snapshot.Input{
		SystemNamespace: sysNS, Version: version, Now: time.Now(),
		Organizations: []iamv1.Organization{
			org("platform", []string{"platform"}),
			acme,
			org("globex", []string{"platform", "globex"}),
		},
		Users: []iamv1.OrgUser{
			user("acme", "alice", func(u *iamv1.OrgUser) {
				u.Spec.Roles = []string{"admin"}
				u.Spec.Groups = []string{"engineering"}
				u.Spec.ApplicationRoles = []iamv1.ApplicationRoleAssignment{{Application: "portal", Roles: []string{"buyer"}}}
				u.Spec.Disabled = w.disableAlice
			}),
			user("globex", "bob"),
		},
		Applications: []iamv1.SharedApplication{
			app("portal", func(a *iamv1.SharedApplication) {
				a.Spec.Roles = []iamv1.ApplicationRole{{Name: "buyer"}}
				a.Spec.PostLogoutRedirectURIs = []string{"https://portal.example/"}
				a.Spec.GrantTypes = append(a.Spec.GrantTypes, iamv1.GrantTypeClientCredentials)
			}),
			app("other"),
			app("spa", func(a *iamv1.SharedApplication) { a.Spec.ClientType = iamv1.ClientTypePublic }),
			app("cli", func(a *iamv1.SharedApplication) {
				a.Spec.ClientType = iamv1.ClientTypePublic
				a.Spec.RedirectURIs = []string{"http://127.0.0.1/callback", "http://[::1]/callback"}
			}),
			app("opaque", func(a *iamv1.SharedApplication) {
				a.Spec.AccessTokenFormat = iamv1.AccessTokenFormatOpaque
				a.Spec.GrantTypes = []iamv1.GrantType{iamv1.GrantTypeClientCredentials}
			}),
		},
		Secrets: []corev1.Secret{secretFor("portal"), secretFor("other"), secretFor("opaque")},
	}
	w.addSquatters(&in)
	if w.edit != nil {
		w.edit(&in)
	}
	return in
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

func (e *env) redeem(clientID, redirectURI, code, verifier string) (int, map[string]any) {
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}}
	if verifier != "" {
		form.Set("code_verifier", verifier)
	}
	secret := ""
	if c := e.snap().Client(clientID); c != nil && !c.IsPublic() {
		secret = clientSecret(clientID)
	} else {
		form.Set("client_id", clientID)
	}
	return e.token(clientID, secret, form)
}

func (e *env) refresh(clientID, refreshToken string) (int, map[string]any) {
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}}
	secret := ""
	if c := e.snap().Client(clientID); c != nil && !c.IsPublic() {
		secret = clientSecret(clientID)
	} else {
		form.Set("client_id", clientID)
	}
	return e.token(clientID, secret, form)
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
