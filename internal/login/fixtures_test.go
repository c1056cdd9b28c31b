package login_test

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/html"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/credentials"
	"github.com/orgkeeper/orgkeeper/internal/login"
	"github.com/orgkeeper/orgkeeper/internal/session"
	"github.com/orgkeeper/orgkeeper/internal/session/sessiontest"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
)

const (
	systemNS    = "orgkeeper-system"
	issuer      = "https://id.example"
	redirectURI = "https://portal.example/callback"
	password    = "correct horse battery staple"
	clientIP    = "192.0.2.10"
)

// passwordHash is made once, with the production parameters.
var passwordHash = sync.OnceValue(func() string {
	h, err := credentials.Hash(password)
	if err != nil {
		panic(err)
	}
	return h
})

type orgOption func(*iamv1.Organization)

func withDomains(domains ...string) orgOption {
	return func(o *iamv1.Organization) {
		for _, d := range domains {
			o.Spec.Domains = append(o.Spec.Domains, iamv1.Domain(d))
			o.Status.Domains = append(o.Status.Domains, iamv1.DomainStatus{Name: iamv1.Domain(d), Verified: true})
		}
	}
}

func withDisplayName(n string) orgOption {
	return func(o *iamv1.Organization) { o.Spec.DisplayName = n }
}

func withPrimaryColor(c string) orgOption {
	return func(o *iamv1.Organization) {
		if o.Spec.Branding == nil {
			o.Spec.Branding = &iamv1.Branding{}
		}
		o.Spec.Branding.PrimaryColor = iamv1.Color(c)
	}
}

func suspended() orgOption { return func(o *iamv1.Organization) { o.Spec.Suspended = true } }

func withMFA(p iamv1.MFAPolicy) orgOption {
	return func(o *iamv1.Organization) { o.Spec.Login = &iamv1.LoginSettings{MFA: p} }
}

// org is a placed Organization under the root "platform" (or the root
// itself when name is "platform").
func org(name string, opts ...orgOption) iamv1.Organization {
	ns, path := "platform", []string{"platform", name}
	if name == "platform" {
		ns, path = systemNS, []string{"platform"}
	}
	o := iamv1.Organization{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, UID: types.UID("org-" + name), Generation: 1,
			CreationTimestamp: metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))},
		Spec:   iamv1.OrganizationSpec{DisplayName: strings.ToUpper(name[:1]) + name[1:] + " Inc."},
		Status: iamv1.OrganizationStatus{Namespace: name, Path: path},
	}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

type userOption func(*iamv1.OrgUser)

func disabled() userOption { return func(u *iamv1.OrgUser) { u.Spec.Disabled = true } }

func lockedUntil(t time.Time) userOption {
	return func(u *iamv1.OrgUser) { u.Status.LockedUntil = &metav1.Time{Time: t} }
}

func withUsername(n string) userOption { return func(u *iamv1.OrgUser) { u.Spec.Username = n } }

// user is an OrgUser with the test password, and its credential Secret.
func user(orgName, name, email string, opts ...userOption) (iamv1.OrgUser, corev1.Secret) {
	u := iamv1.OrgUser{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: orgName, UID: types.UID("user-" + orgName + "-" + name), Generation: 1},
		Spec:       iamv1.OrgUserSpec{Email: email, EmailVerified: true},
	}
	for _, opt := range opts {
		opt(&u)
	}
	sec := corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: systemNS, Name: snapshot.CredentialSecretName(string(u.UID))},
		Data:       map[string][]byte{snapshot.CredentialPasswordKey: []byte(passwordHash())},
	}
	return u, sec
}

// world is the test installation: the application "portal" is shared with
// acme, globex, umbrella (suspended), evil and strict (login.mfa Required),
// not with initech. Changes, if any, edit the input before it is built.
func world(now time.Time, changes ...func(*snapshot.Input)) *snapshot.Snapshot {
	in := snapshot.Input{
		SystemNamespace: systemNS, Version: 1, Now: now,
		Organizations: []iamv1.Organization{
			org("platform"),
			org("acme", withDomains("acme.example"), withDisplayName("ACME Corporation"), withPrimaryColor("#0B5FFF")),
			org("globex", withDomains("globex.example")),
			org("initech", withDomains("initech.example")),
			org("umbrella", withDomains("umbrella.example"), suspended()),
			org("evil", withDisplayName(`<script>alert("x")</script>`)),
			org("strict", withDomains("strict.example"), withMFA(iamv1.MFARequired)),
		},
		Applications: []iamv1.SharedApplication{{
			ObjectMeta: metav1.ObjectMeta{Name: "portal", Namespace: "platform", UID: "app-portal", Generation: 1},
			Spec: iamv1.SharedApplicationSpec{
				DisplayName:  "Partner Portal",
				ClientType:   iamv1.ClientTypePublic,
				RedirectURIs: []string{redirectURI},
				Sharing: &iamv1.ApplicationSharing{Mode: iamv1.SharingModeSelected,
					Organizations: []string{"acme", "globex", "umbrella", "evil", "strict"}},
			},
		}},
	}
	add := func(u iamv1.OrgUser, s corev1.Secret) {
		in.Users = append(in.Users, u)
		in.Secrets = append(in.Secrets, s)
	}
	add(user("acme", "alice", "alice@acme.example", withUsername("alice")))
	add(user("acme", "bob", "bob@acme.example", disabled()))
	add(user("acme", "carol", "carol@acme.example", lockedUntil(now.Add(time.Hour))))
	add(user("globex", "gina", "gina@globex.example"))
	add(user("initech", "ivan", "ivan@initech.example"))
	add(user("umbrella", "uma", "uma@umbrella.example"))
	add(user("evil", "eve", "eve@evil.example"))
	add(user("strict", "sam", "sam@strict.example"))
	for _, c := range changes {
		c(&in)
	}
	snap, _ := snapshot.Build(in)
	return snap
}

// lockouts records what the handler reports.
type lockouts struct {
	mu  sync.Mutex
	got []login.Lockout
}

func (l *lockouts) RecordLockout(_ context.Context, lo login.Lockout) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.got = append(l.got, lo)
	return nil
}

func (l *lockouts) all() []login.Lockout {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]login.Lockout(nil), l.got...)
}

// env is one handler with its stores, a fake clock and a browser's cookies.
type env struct {
	t        testing.TB
	h        *login.Handler
	snaps    *snapshot.Store
	store    *session.Memory
	clock    *sessiontest.FakeClock
	lockouts *lockouts
	cookies  map[string]*http.Cookie
	// peer and forwardedFor, if set, are the RemoteAddr and the
	// X-Forwarded-For header of the browser's requests.
	peer, forwardedFor string
	// binding is the browser's binding cookie value, as the provider sets
	// it at /authorize.
	binding string
}

func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvWith(t, nil)
}

// newEnvWith is newEnv with changes to the configuration.
func newEnvWith(t testing.TB, configure func(*login.Config)) *env {
	t.Helper()
	clock := sessiontest.NewFakeClock(time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC))
	store := session.NewMemory(session.WithClock(clock.Now))
	var snaps snapshot.Store
	snaps.Set(world(clock.Now()))
	rec := &lockouts{}
	cfg := login.Config{
		Issuer:    issuer,
		Snapshots: &snaps,
		Sessions:  store,
		CallbackURL: func(_ context.Context, id string) string {
			return "/authorize/callback?id=" + url.QueryEscape(id)
		},
		Lockouts:  rec,
		DummyHash: passwordHash(),
		Now:       clock.Now,
	}
	if configure != nil {
		configure(&cfg)
	}
	h, err := login.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, h: h, snaps: &snaps, store: store, binding: rand.Text(), clock: clock, lockouts: rec, cookies: map[string]*http.Cookie{}}
}

// authorize stores an auth request as the provider would at /authorize,
// bound to the test browser (which gets the binding cookie).
func (e *env) authorize(mods ...func(*session.AuthRequest)) string {
	e.t.Helper()
	ar := session.AuthRequest{
		ClientID: "portal", RedirectURI: redirectURI, ResponseType: "code",
		Scopes: []string{"openid"}, State: "st-123", Nonce: "n",
		BrowserBinding: session.HashSecret(e.binding),
	}
	name := login.BindingCookieName(strings.HasPrefix(issuer, "https:"))
	e.cookies[name] = &http.Cookie{Name: name, Value: e.binding}
	for _, m := range mods {
		m(&ar)
	}
	ar.OrganizationRequested = ar.Organization != ""
	ar, err := e.store.CreateAuthRequest(context.Background(), ar)
	if err != nil {
		e.t.Fatal(err)
	}
	return ar.ID
}

func (e *env) authRequest(id string) session.AuthRequest {
	e.t.Helper()
	ar, err := e.store.GetAuthRequest(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return ar
}

// otherBrowser is another browser on the same server: same handler, store
// and clock, its own cookies.
func (e *env) otherBrowser() *env {
	o := *e
	o.cookies = map[string]*http.Cookie{}
	o.binding = rand.Text()
	return &o
}

// prepare gives req the browser's address and cookies.
func (e *env) prepare(req *http.Request) *http.Request {
	req.RemoteAddr = clientIP + ":4711"
	if e.peer != "" {
		req.RemoteAddr = e.peer
	}
	if e.forwardedFor != "" {
		req.Header.Set("X-Forwarded-For", e.forwardedFor)
	}
	for _, c := range e.cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	return req
}

func (e *env) do(req *http.Request) *httptest.ResponseRecorder {
	e.prepare(req)
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		if c.MaxAge < 0 {
			delete(e.cookies, c.Name)
		} else {
			e.cookies[c.Name] = c
		}
	}
	return rec
}

func (e *env) get(path string) *httptest.ResponseRecorder {
	return e.do(httptest.NewRequest(http.MethodGet, path, nil))
}

func (e *env) start(id string) *httptest.ResponseRecorder {
	return e.get("/login?authRequestID=" + url.QueryEscape(id))
}

func (e *env) post(path string, form url.Values) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return e.do(req)
}

// submit fills the page's form with values and posts it.
func (e *env) submit(page *httptest.ResponseRecorder, values map[string]string) *httptest.ResponseRecorder {
	e.t.Helper()
	f := parseForm(e.t, page.Body.String())
	for k, v := range values {
		if _, ok := f.inputs[k]; !ok {
			e.t.Fatalf("the form has no input %q; it has %v", k, f.inputs)
		}
		f.values.Set(k, v)
	}
	return e.post(f.action, f.values)
}

// login signs alice in through the password page of acme.
func (e *env) login(id string) *httptest.ResponseRecorder {
	e.t.Helper()
	page := e.start(id)
	return e.submit(page, map[string]string{"username": "alice@acme.example", "password": password})
}

type form struct {
	action string
	values url.Values
	// inputs maps input names to their attributes.
	inputs map[string]map[string]string
}

func attrs(n *html.Node) map[string]string {
	m := map[string]string{}
	for _, a := range n.Attr {
		m[a.Key] = a.Val
	}
	return m
}

func parseDoc(t testing.TB, body string) *html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// parseForm returns the page's only form.
func parseForm(t testing.TB, body string) form {
	t.Helper()
	var forms []form
	for n := range parseDoc(t, body).Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		switch n.Data {
		case "form":
			forms = append(forms, form{action: attrs(n)["action"], values: url.Values{}, inputs: map[string]map[string]string{}})
		case "input":
			if len(forms) == 0 {
				continue
			}
			a := attrs(n)
			f := forms[len(forms)-1]
			f.inputs[a["name"]] = a
			f.values.Set(a["name"], a["value"])
		}
	}
	if len(forms) != 1 {
		t.Fatalf("want one form on the page, found %d:\n%s", len(forms), body)
	}
	return forms[0]
}

// textOf returns the text of the first element with the class, or "".
func textOf(t testing.TB, body, class string) string {
	t.Helper()
	for n := range parseDoc(t, body).Descendants() {
		if n.Type == html.ElementNode && strings.Contains(" "+attrs(n)["class"]+" ", " "+class+" ") {
			var sb strings.Builder
			for c := range n.Descendants() {
				if c.Type == html.TextNode {
					sb.WriteString(c.Data)
				}
			}
			return strings.TrimSpace(sb.String())
		}
	}
	return ""
}

// heading returns the h1's text.
func heading(t testing.TB, body string) string {
	t.Helper()
	for n := range parseDoc(t, body).Descendants() {
		if n.Type == html.ElementNode && n.Data == "h1" && n.FirstChild != nil {
			return strings.TrimSpace(n.FirstChild.Data)
		}
	}
	return ""
}

// link returns the href of the first <a>.
func link(t testing.TB, body string) string {
	t.Helper()
	for n := range parseDoc(t, body).Descendants() {
		if n.Type == html.ElementNode && n.Data == "a" {
			return attrs(n)["href"]
		}
	}
	return ""
}

func httptestPost(path string, form url.Values) *http.Request {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}
