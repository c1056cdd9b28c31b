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

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/credentials"
	"github.com/orgkeeper/orgkeeper/internal/login"
	"github.com/orgkeeper/orgkeeper/internal/session"
	"github.com/orgkeeper/orgkeeper/internal/session/sessiontest"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

const (
	// systemNS is the world's system namespace.
	systemNS    = st.SystemNamespace
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

// world is the test installation, built from snapshottest's objects: the
// application "portal" is shared with acme, globex, umbrella (suspended),
// evil and strict (login.mfa Required), not with initech; every user has
// the test password. Changes, if any, edit the input before it is built.
func world(now time.Time, changes ...func(*snapshot.Input)) *snapshot.Snapshot {
	child := st.WithParent("platform")
	objects := []any{
		st.Org("platform"),
		st.Org("acme", child, st.WithDomains("acme.example"), st.WithDisplayName("ACME Corporation"),
			st.WithBranding(iamv1.Branding{PrimaryColor: "#0B5FFF"})),
		st.Org("globex", child, st.WithDomains("globex.example")),
		st.Org("initech", child, st.WithDomains("initech.example")),
		st.Org("umbrella", child, st.WithDomains("umbrella.example"), st.Suspended()),
		st.Org("evil", child, st.WithDisplayName(`<script>alert("x")</script>`)),
		st.Org("strict", child, st.WithDomains("strict.example"), st.WithMFA(iamv1.MFARequired)),
		st.App("platform", "portal", st.WithAppDisplayName("Partner Portal"), st.Public(), st.WithRedirectURIs(redirectURI),
			st.SharedWith(false, "acme", "globex", "umbrella", "evil", "strict")),
	}
	for _, u := range []iamv1.OrgUser{
		st.User("acme", "alice", "alice@acme.example", st.WithUsername("alice")),
		st.User("acme", "bob", "bob@acme.example", st.Disabled()),
		st.User("acme", "carol", "carol@acme.example", st.LockedUntil(now.Add(time.Hour))),
		st.User("globex", "gina", "gina@globex.example"),
		st.User("initech", "ivan", "ivan@initech.example"),
		st.User("umbrella", "uma", "uma@umbrella.example"),
		st.User("evil", "eve", "eve@evil.example"),
		st.User("strict", "sam", "sam@strict.example"),
	} {
		objects = append(objects, u, st.CredentialSecret(u.UID, passwordHash(), ""))
	}
	in := st.World(objects...)
	in.Now = now
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
