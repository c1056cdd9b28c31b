package login_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orgkeeper/orgkeeper/internal/clientip"
	"github.com/orgkeeper/orgkeeper/internal/login"
	"github.com/orgkeeper/orgkeeper/internal/session"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

// Regression tests for the security review of issue 6 (login side).

const wrongBrowserHeading = "This sign-in was started in another browser"

func TestASignInLinkOpenedInAnotherBrowserIsRefusedAtEveryStep(t *testing.T) {
	attacker := newEnv(t)
	id := attacker.authorize(func(a *session.AuthRequest) { a.Organization = "acme" })

	// The victim is signed in already (SSO) and follows the attacker's
	// /login link: without the binding cookie nothing happens.
	victim := attacker.otherBrowser()
	own := victim.authorize(func(a *session.AuthRequest) { a.Organization = "acme" })
	wantCallback(t, victim, victim.login(own), own)
	page := victim.start(id)
	wantStatus(t, page, http.StatusForbidden)
	if h := heading(t, page.Body.String()); h != wrongBrowserHeading {
		t.Fatalf("heading %q, want the wrong-browser page", h)
	}
	if ar := attacker.authRequest(id); ar.Done || ar.UserID != "" {
		t.Fatalf("the victim's SSO session completed the attacker's auth request: %+v", ar)
	}

	// Nor can the victim post the password form for it (their browser has
	// no CSRF token for it either).
	form := parseForm(t, victim.start(victim.authorize(func(a *session.AuthRequest) { a.Organization = "acme"; a.Prompt = []string{"login"} })).Body.String())
	form.values.Set("authRequestID", id)
	form.values.Set("username", "alice@acme.example")
	form.values.Set("password", password)
	rec := victim.post(login.PathPassword, form.values)
	if h := heading(t, rec.Body.String()); rec.Code != http.StatusForbidden || (h != wrongBrowserHeading && h != "Request refused") {
		t.Fatalf("a password post for another browser's auth request got %d %q", rec.Code, h)
	}
	if ar := attacker.authRequest(id); ar.Done || ar.UserID != "" {
		t.Fatalf("the auth request was completed from another browser: %+v", ar)
	}

	// The browser that started it signs in as usual.
	wantCallback(t, attacker, attacker.login(id), id)
}

func TestTheOrganizationTheClientAskedForIsFinal(t *testing.T) {
	e := newEnv(t)
	id := e.authorize(func(a *session.AuthRequest) { a.Organization = "acme" })
	page := e.start(id)
	f := wantPasswordPage(t, page.Body.String())
	csrf := f.values.Get("csrf_token")

	for _, form := range []url.Values{
		{"organization": {"globex"}},
		{"username": {"gina@globex.example"}},
		{"username": {"gina@globex.example"}, "organization": {"globex"}},
	} {
		form.Set("authRequestID", id)
		form.Set("csrf_token", csrf)
		rec := e.post(login.PathIdentifier, form)
		if got := e.authRequest(id).Organization; got != "acme" {
			t.Fatalf("the identifier form %v switched the organization to %q", form, got)
		}
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/login?authRequestID="+url.QueryEscape(id) {
			t.Errorf("the identifier form %v: got %d %q, want the way back to the current step", form, rec.Code, rec.Header().Get("Location"))
		}
	}
	// A globex user's credentials are not acme's.
	rec := e.submit(page, map[string]string{"username": "gina@globex.example", "password": password})
	if e.authRequest(id).Done {
		t.Fatal("a user of another organization signed in")
	}
	if msg := textOf(t, rec.Body.String(), "error"); msg != "The email or password is wrong." {
		t.Errorf("message %q", msg)
	}
}

func TestAnOrganizationRequiringMFARefusesPasswordOnlySignIn(t *testing.T) {
	e := newEnv(t)
	id := e.authorize(func(a *session.AuthRequest) { a.Organization = "strict" })
	rec := e.submit(e.start(id), map[string]string{"username": "sam@strict.example", "password": password})
	wantMFARefusal(t, e, rec, id)
	if _, ok := e.cookies[login.SessionCookieName(true)]; ok {
		t.Error("a refused sign-in started an SSO session")
	}

	// Nor does an SSO session made with a password alone pass (a session
	// from before the policy changed).
	s, err := e.store.CreateLoginSession(context.Background(), session.LoginSession{
		UserID: string(st.UID("user", "strict", "sam")), OrgID: string(st.UID("org", "platform", "strict")), AuthTime: e.clock.Now(), AMR: []string{"pwd"}})
	if err != nil {
		t.Fatal(err)
	}
	name := login.SessionCookieName(true)
	e.cookies[name] = &http.Cookie{Name: name, Value: s.ID}
	id = e.authorize(func(a *session.AuthRequest) { a.Organization = "strict" })
	wantMFARefusal(t, e, e.start(id), id)

	// Optional keeps working with amr [pwd] (acme's effective policy is
	// the default, Optional).
	if got := e.snaps.Load().Org("acme").Login.MFA; got != "Optional" {
		t.Fatalf("acme's effective MFA policy is %s; the test wants Optional", got)
	}
	id = e.authorize(func(a *session.AuthRequest) { a.Organization = "acme" })
	wantCallback(t, e, e.login(id), id)
}

func wantMFARefusal(t *testing.T, e *env, rec *httptest.ResponseRecorder, id string) {
	t.Helper()
	wantStatus(t, rec, http.StatusForbidden)
	body := rec.Body.String()
	if h := heading(t, body); h != "Two-step verification required" {
		t.Fatalf("heading %q, want the MFA page:\n%s", h, body)
	}
	back, err := url.Parse(link(t, body))
	if err != nil || !strings.HasPrefix(back.String(), redirectURI+"?") || back.Query().Get("error") != "access_denied" || back.Query().Get("state") != "st-123" {
		t.Errorf("the way back to the client is %q, want access_denied with state", link(t, body))
	}
	if _, err := e.store.GetAuthRequest(context.Background(), id); err == nil {
		t.Error("the refused auth request is still pending")
	}
}

func TestSSOIsNotReusedOnceTheUsersSessionsWereRevoked(t *testing.T) {
	e := newEnv(t)
	id := e.authorize(func(a *session.AuthRequest) { a.Organization = "acme" })
	wantCallback(t, e, e.login(id), id)

	// Alice is disabled and enabled again: the users stream writes
	// status.sessionsRevokedAt, after her sign-in.
	e.clock.Advance(time.Minute)
	revokedAt := metav1.NewTime(e.clock.Now())
	e.snaps.Set(world(e.clock.Now(), func(in *snapshot.Input) {
		for i := range in.Users {
			if in.Users[i].Name == "alice" {
				in.Users[i].Status.SessionsRevokedAt = &revokedAt
			}
		}
	}))
	e.clock.Advance(time.Minute)

	id = e.authorize(func(a *session.AuthRequest) { a.Organization = "acme" })
	page := e.start(id)
	wantStatus(t, page, http.StatusOK)
	wantPasswordPage(t, page.Body.String())
	if e.authRequest(id).Done {
		t.Fatal("a revoked SSO session completed the auth request")
	}
	// Signing in again makes a session that is not revoked, and SSO works.
	wantCallback(t, e, e.submit(page, map[string]string{"username": "alice@acme.example", "password": password}), id)
	id = e.authorize(func(a *session.AuthRequest) { a.Organization = "acme" })
	wantCallback(t, e, e.start(id), id)
}

// gate is a PasswordVerifier that counts verifications and holds each one
// until every request of a batch has either reached it or been answered.
// Then a lockout that counts failures only after verifying lets the whole
// batch be verified, deterministically, and one that reserves attempts
// first lets exactly its limit through.
type gate struct {
	mu               sync.Mutex
	verified, waited int
	answered, batch  int
	open             chan struct{}
}

func newGate(batch int) *gate { return &gate{batch: batch, open: make(chan struct{})} }

func (g *gate) Verify(_, pw string) (bool, error) {
	g.mu.Lock()
	g.verified++
	g.waited++
	g.check()
	g.mu.Unlock()
	<-g.open
	return pw == password, nil
}

func (g *gate) done() {
	g.mu.Lock()
	g.answered++
	g.check()
	g.mu.Unlock()
}

func (g *gate) check() {
	if g.waited+g.answered == g.batch {
		select {
		case <-g.open:
		default:
			close(g.open)
		}
	}
}

func (g *gate) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.verified
}

func TestParallelGuessesCannotGetPastTheLockout(t *testing.T) {
	const guesses = 100
	g := newGate(guesses)
	e := newEnvWith(t, func(c *login.Config) {
		c.Verifier = g
		c.MaxConcurrentVerifications = 2 * guesses
	})
	id := e.authorize(func(a *session.AuthRequest) { a.Organization = "acme" })
	form := parseForm(t, e.start(id).Body.String()).values
	post := func(pw string) *httptest.ResponseRecorder {
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		f.Set("username", "alice@acme.example")
		f.Set("password", pw)
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, e.prepare(httptestPost(login.PathPassword, f)))
		return rec
	}

	var wg sync.WaitGroup
	for i := range guesses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer g.done()
			post("wrong-" + strconv.Itoa(i))
		}()
	}
	wg.Wait()
	if n := g.count(); n > 5 {
		t.Fatalf("%d of %d parallel guesses were verified; the limit is 5", n, guesses)
	}
	// The account is locked now: the right password is not even verified.
	before := g.count()
	g.batch = -1 // the gate is open
	rec := post(password)
	if e.authRequest(id).Done {
		t.Fatal("the right password signed in after the limit was reached")
	}
	wantStatus(t, rec, http.StatusTooManyRequests)
	if g.count() != before {
		t.Error("a locked account's password was verified")
	}
}

func TestAnAddressLimitBehindATrustedProxyDoesNotLockOutOtherClients(t *testing.T) {
	proxies := clientip.New(netip.MustParsePrefix("10.0.0.0/8"))
	e := newEnvWith(t, func(c *login.Config) { c.ClientIP = proxies.ClientIP })
	e.peer = "10.0.0.1:4711"

	// 50 bad guesses from one client, for 50 accounts (so that no account
	// lock is involved), reach the per-address limit.
	attacker := e.otherBrowser()
	attacker.forwardedFor = "203.0.113.66"
	var last *httptest.ResponseRecorder
	for i := range 50 {
		id := attacker.authorize(func(a *session.AuthRequest) { a.Organization = "acme" })
		last = attacker.submit(attacker.start(id), map[string]string{"username": "user" + strconv.Itoa(i) + "@acme.example", "password": "guess"})
	}
	wantStatus(t, last, http.StatusTooManyRequests)
	id := attacker.authorize(func(a *session.AuthRequest) { a.Organization = "acme" })
	wantStatus(t, attacker.submit(attacker.start(id), map[string]string{"username": "alice@acme.example", "password": password}), http.StatusTooManyRequests)

	// Alice comes through the same proxy from her own address.
	alice := e.otherBrowser()
	alice.forwardedFor = "198.51.100.7"
	id = alice.authorize(func(a *session.AuthRequest) { a.Organization = "acme" })
	wantCallback(t, alice, alice.login(id), id)

	// The attacker, connecting directly and naming another address in
	// X-Forwarded-For, is taken at his own address: still refused.
	direct := e.otherBrowser()
	direct.peer = "203.0.113.66:5000"
	direct.forwardedFor = "198.51.100.99"
	id = direct.authorize(func(a *session.AuthRequest) { a.Organization = "acme" })
	wantStatus(t, direct.submit(direct.start(id), map[string]string{"username": "alice@acme.example", "password": password}), http.StatusTooManyRequests)
}

func TestPromptNoneInAnOrganizationRequiringMFAAnswersTheClientWithoutAPage(t *testing.T) {
	e := newEnv(t)
	s, err := e.store.CreateLoginSession(context.Background(), session.LoginSession{
		UserID: string(st.UID("user", "strict", "sam")), OrgID: string(st.UID("org", "platform", "strict")), AuthTime: e.clock.Now(), AMR: []string{"pwd"}})
	if err != nil {
		t.Fatal(err)
	}
	name := login.SessionCookieName(true)
	e.cookies[name] = &http.Cookie{Name: name, Value: s.ID}
	id := e.authorize(func(a *session.AuthRequest) { a.Organization = "strict"; a.Prompt = []string{"none"} })
	rec := e.start(id)
	loc, err := url.Parse(rec.Header().Get("Location"))
	if rec.Code != http.StatusSeeOther || err != nil || loc.Query().Get("error") != "access_denied" || !strings.HasPrefix(loc.String(), redirectURI) {
		t.Fatalf("prompt=none with MFA Required: got %d %q, want access_denied at the client", rec.Code, rec.Header().Get("Location"))
	}
}
