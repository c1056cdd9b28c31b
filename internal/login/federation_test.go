package login_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/connector"
	"github.com/orgkeeper/orgkeeper/internal/connector/upstreamtest"
	"github.com/orgkeeper/orgkeeper/internal/login"
	"github.com/orgkeeper/orgkeeper/internal/session"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

// fedWorld is the test installation with the IdentityProvider "corp" of
// acme on the Fake (offered by acme's login page, routing acme.example),
// and the users the provisioner created so far.
type fedWorld struct {
	t     testing.TB
	fake  *upstreamtest.Fake
	snaps *snapshot.Store
	now   time.Time
	// mode and password are acme's provider's provisioning mode and
	// whether acme keeps password login.
	mode     iamv1.ProvisioningMode
	password bool

	mu sync.Mutex
	// failNext makes the next Provision fail (the API server is away).
	failNext bool
	// staged makes a creation show in two snapshots, as the projection may
	// publish it: first the user without its identity (the status patch not
	// seen yet), then, after a few more loads, with it.
	staged bool
	final  *snapshot.Snapshot
	loads  int
	// frozen stops Provision from publishing a new snapshot.
	frozen bool
	// more changes the input (another provider, say); served, with its
	// real issuer set, by serve.
	more     func(in *snapshot.Input)
	serve    func(s *snapshot.Snapshot)
	users    []iamv1.OrgUser // provisioned or linked
	requests []login.ProvisionRequest
}

const placeholderIssuer = "https://corp.invalid"

func (w *fedWorld) rebuild() {
	w.t.Helper()
	if w.frozen {
		return
	}
	pw := w.password
	snap := world(w.now, func(in *snapshot.Input) {
		// The snapshot refuses plain-http issuers; the Fake's URL is put
		// in below.
		in.IdentityProviders = append(in.IdentityProviders, st.IdP("acme", "corp",
			st.WithIdPDisplayName("Corp SSO"), st.WithIdPDomains("acme.example"),
			st.WithIssuer(placeholderIssuer), st.WithIdPClientID(upstreamtest.FakeClientID),
			st.WithProvisioning(w.mode, "member")))
		for i := range in.Organizations {
			if in.Organizations[i].Name == "acme" {
				in.Organizations[i].Spec.Login = &iamv1.LoginSettings{IdentityProviders: []string{"corp"}, Password: &pw}
			}
		}
		for i := range in.Users {
			for _, u := range w.users {
				if in.Users[i].Namespace == u.Namespace && in.Users[i].Name == u.Name {
					in.Users[i].Status.FederatedIdentities = u.Status.FederatedIdentities
				}
			}
		}
		for _, u := range w.users {
			if !slices.ContainsFunc(in.Users, func(x iamv1.OrgUser) bool { return x.Namespace == u.Namespace && x.Name == u.Name }) {
				in.Users = append(in.Users, u)
			}
		}
		if w.more != nil {
			w.more(in)
		}
	})
	idp := snap.IdentityProvider("acme", "corp")
	if idp == nil {
		w.t.Fatal("the snapshot does not serve acme/corp")
	}
	idp.Issuer = w.fake.URL
	if w.serve != nil {
		w.serve(snap)
	}
	w.snaps.Set(snap)
}

// Provision plays the server's write path and the snapshot that follows it.
func (w *fedWorld) Provision(_ context.Context, req login.ProvisionRequest) (login.ProvisionResult, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.requests = append(w.requests, req)
	if w.failNext {
		w.failNext = false
		return login.ProvisionResult{}, errors.New("the API server is away")
	}
	fi := iamv1.FederatedIdentity{IdentityProvider: req.IdentityProvider, Organization: req.IdentityProviderOrg, Subject: req.Subject}
	var uid string
	switch req.Action {
	case login.ProvisionCreate:
		u := st.User(req.Namespace, "fed-"+req.Subject, req.Email, st.WithEmailVerified(req.EmailVerified),
			st.WithNames(req.Name, req.GivenName, req.FamilyName), st.WithRoles(req.DefaultRoles...), st.WithGroups(req.Groups...),
			st.WithFederatedIdentity(fi.IdentityProvider, fi.Organization, fi.Subject))
		w.users = append(w.users, u)
		uid = string(u.UID)
	case login.ProvisionLink:
		// Only the identity is taken from a linked user (rebuild).
		u := st.User(req.Namespace, req.UserName, req.Email,
			st.WithFederatedIdentity(fi.IdentityProvider, fi.Organization, fi.Subject))
		w.users = append(w.users, u)
		uid = string(u.UID)
	}
	w.rebuild()
	if w.staged && req.Action == login.ProvisionCreate {
		w.final = w.snaps.Load()
		w.users[len(w.users)-1].Status.FederatedIdentities = nil
		w.rebuild()
		w.users[len(w.users)-1].Status.FederatedIdentities = []iamv1.FederatedIdentity{fi}
		w.loads = 0
	}
	return login.ProvisionResult{UserID: uid}, nil
}

// Load is the handler's SnapshotSource: the store, and in staged mode the
// final snapshot from the sixth load after a creation on (more than the
// next sign-in makes before its callback).
func (w *fedWorld) Load() *snapshot.Snapshot {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.final != nil {
		if w.loads++; w.loads >= 6 {
			w.snaps.Set(w.final)
			w.final = nil
		}
	}
	return w.snaps.Load()
}

func (w *fedWorld) provisioned() []login.ProvisionRequest {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.requests)
}

// newFedEnv is the login handler with upstream sign-in on, acme's provider
// on a Fake, and the fake write path.
func newFedEnv(t testing.TB, mode iamv1.ProvisioningMode, password bool) (*env, *fedWorld) {
	t.Helper()
	fake := upstreamtest.NewFake(t)
	fake.Set(func(f *upstreamtest.Fake) { f.Public = true })
	w := &fedWorld{t: t, fake: fake, mode: mode, password: password}
	e := newEnvWith(t, func(c *login.Config) {
		c.Connectors = connector.NewRegistry(connector.Config{AllowLoopbackHTTP: true, Timeout: 5 * time.Second})
		c.Provisioner = w
		c.ProvisionWait = time.Second
		c.Snapshots = w
	})
	w.snaps, w.now = e.snaps, e.clock.Now()
	w.rebuild()
	return e, w
}

// forms returns the page's forms by action (the last one for repeated
// actions).
func forms(t testing.TB, body string) map[string]form {
	t.Helper()
	out := map[string]form{}
	var cur *form
	doc := parseDoc(t, body)
	for n := range doc.Descendants() {
		if n.Type != 3 { // html.ElementNode
			continue
		}
		switch n.Data {
		case "form":
			f := form{action: attrs(n)["action"], values: url.Values{}, inputs: map[string]map[string]string{}}
			out[f.action] = f
			cur = &f
		case "input":
			if cur != nil {
				a := attrs(n)
				cur.inputs[a["name"]] = a
				cur.values.Set(a["name"], a["value"])
			}
		}
	}
	return out
}

// chooseProvider posts the provider button on the page and returns the
// answer (a redirect to the provider).
func (e *env) chooseProvider(page *httptest.ResponseRecorder, idp string) *httptest.ResponseRecorder {
	e.t.Helper()
	f, ok := forms(e.t, page.Body.String())[login.PathUpstream]
	if !ok {
		e.t.Fatalf("the page has no provider button:\n%s", page.Body.String())
	}
	f.values.Set("idp", idp)
	return e.post(f.action, f.values)
}

// atProvider checks that rec sends the browser to the Fake and returns the
// callback the Fake sends it back with.
func atProvider(t *testing.T, fake *upstreamtest.Fake, rec *httptest.ResponseRecorder) *http.Request {
	t.Helper()
	loc := rec.Header().Get("Location")
	if rec.Code != http.StatusSeeOther || !strings.HasPrefix(loc, fake.URL+"/") {
		t.Fatalf("want a redirect to the provider %s, got %d %q:\n%s", fake.URL, rec.Code, loc, rec.Body.String())
	}
	cb := fake.Authorize(t, loc)
	if want := issuer + login.PathUpstreamCallback; !strings.HasPrefix(cb.URL.String(), want+"?") {
		t.Fatalf("the redirect URI sent is %q, want %q", cb.URL, want)
	}
	return cb
}

func signedIn(t *testing.T, e *env, id string, rec *httptest.ResponseRecorder) session.AuthRequest {
	t.Helper()
	if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/authorize/callback?id=") {
		t.Fatalf("want the redirect to the provider's callback, got %d %q:\n%s", rec.Code, rec.Header().Get("Location"), rec.Body.String())
	}
	ar := e.authRequest(id)
	if !ar.Done || !slices.Contains(ar.AMR, "fed") || ar.UserID == "" {
		t.Fatalf("the auth request is not done by a federated sign-in: %+v", ar)
	}
	return ar
}

func refused(t *testing.T, e *env, id string, rec *httptest.ResponseRecorder, wantText string) {
	t.Helper()
	if rec.Code < 400 || !strings.Contains(rec.Body.String(), wantText) {
		t.Fatalf("want an error page saying %q, got %d:\n%s", wantText, rec.Code, rec.Body.String())
	}
	if ar, err := e.store.GetAuthRequest(context.Background(), id); err == nil && ar.UserID != "" {
		t.Fatalf("the auth request was authenticated: %+v", ar)
	}
}

func TestAFirstSignInThroughTheProviderCreatesTheUserAndTheSecondReusesIt(t *testing.T) {
	e, w := newFedEnv(t, iamv1.ProvisioningModeJustInTime, true)
	id := e.authorize(func(a *session.AuthRequest) { a.Organization = "acme" })
	page := e.start(id)
	if !strings.Contains(page.Body.String(), "Sign in with Corp SSO") || !strings.Contains(page.Body.String(), `action="/login/password"`) {
		t.Fatalf("acme's page should offer its provider next to the password form:\n%s", page.Body.String())
	}
	cb := atProvider(t, w.fake, e.chooseProvider(page, "corp"))
	ar := signedIn(t, e, id, e.do(cb))
	reqs := w.provisioned()
	if len(reqs) != 1 || reqs[0].Action != login.ProvisionCreate || reqs[0].Namespace != "acme" ||
		reqs[0].Subject != upstreamtest.FakeSubject || reqs[0].Email != "pat@fake.example" ||
		!slices.Equal(reqs[0].DefaultRoles, []string{"member"}) || reqs[0].IdentityProvider != "corp" {
		t.Fatalf("want one creation in acme with the claims and default roles, got %+v", reqs)
	}
	if ar.UserID != string(st.UID("user", "acme", "fed-"+upstreamtest.FakeSubject)) || ar.Organization != "acme" {
		t.Fatalf("signed in as %q of %q", ar.UserID, ar.Organization)
	}

	// The second sign-in (a new browser) finds the user by its identity.
	e2 := e.otherBrowser()
	id2 := e2.authorize(func(a *session.AuthRequest) { a.Organization = "acme" })
	cb2 := atProvider(t, w.fake, e2.chooseProvider(e2.start(id2), "corp"))
	ar2 := signedIn(t, e2, id2, e2.do(cb2))
	if ar2.UserID != ar.UserID {
		t.Fatalf("the second sign-in is user %q, want %q", ar2.UserID, ar.UserID)
	}
	if n := len(w.provisioned()); n != 1 {
		t.Fatalf("the second sign-in wrote %d times; want no write", n-1)
	}
}

func TestAnEmailAtAProvidersDomainGoesStraightToIt(t *testing.T) {
	e, w := newFedEnv(t, iamv1.ProvisioningModeJustInTime, true)
	// From login_hint, without the organization page.
	id := e.authorize(func(a *session.AuthRequest) { a.LoginHint = "pat@acme.example" })
	rec := e.start(id)
	atProvider(t, w.fake, rec)
	if u, _ := url.Parse(rec.Header().Get("Location")); u.Query().Get("login_hint") != "pat@acme.example" {
		t.Fatalf("the provider should get the login_hint, got %q", rec.Header().Get("Location"))
	}
	// From the identifier form.
	id2 := e.authorize()
	page := e.start(id2)
	atProvider(t, w.fake, e.submit(page, map[string]string{"username": "someone@acme.example"}))
}

func TestAutoRedirectWithOneProviderAndNoPasswordSkipsThePage(t *testing.T) {
	e, w := newFedEnv(t, iamv1.ProvisioningModeJustInTime, false)
	snap := e.snaps.Load()
	// Without autoRedirect, the page shows only the button.
	id := e.authorize(func(a *session.AuthRequest) { a.Organization = "acme" })
	page := e.start(id)
	if strings.Contains(page.Body.String(), `action="/login/password"`) || !strings.Contains(page.Body.String(), "Sign in with Corp SSO") {
		t.Fatalf("with password off the page should show the provider only:\n%s", page.Body.String())
	}
	snap.Org("acme").Login.AutoRedirect = true
	id2 := e.authorize(func(a *session.AuthRequest) { a.Organization = "acme" })
	atProvider(t, w.fake, e.start(id2))
}

func TestAProviderOfAcmeNeverSignsSomeoneInToGlobex(t *testing.T) {
	e, w := newFedEnv(t, iamv1.ProvisioningModeJustInTime, true)
	// The button of acme's provider posted for globex's sign-in.
	id := e.authorize(func(a *session.AuthRequest) { a.Organization = "acme" })
	acmePage := e.start(id)
	gid := e.authorize(func(a *session.AuthRequest) { a.Organization = "globex" })
	globexPage := e.start(gid)
	f := forms(t, acmePage.Body.String())[login.PathUpstream]
	g := forms(t, globexPage.Body.String())[login.PathPassword]
	f.values.Set("authRequestID", gid)
	f.values.Set("csrf_token", g.values.Get("csrf_token"))
	rec := e.post(f.action, f.values)
	if rec.Code == http.StatusSeeOther {
		t.Fatalf("globex's sign-in was sent to acme's provider: %q", rec.Header().Get("Location"))
	}
	// A pending sign-in at acme's provider planted in globex's auth request.
	cb := atProvider(t, w.fake, e.chooseProvider(e.start(id), "corp"))
	pending := e.authRequest(id).Upstream
	if _, err := e.store.UpdateAuthRequest(context.Background(), gid, func(a *session.AuthRequest) error {
		a.Upstream = pending
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	e.cookies[login.UpstreamCookieName(true)] = &http.Cookie{Name: login.UpstreamCookieName(true), Value: gid}
	refused(t, e, gid, e.do(cb), "does not belong to a sign-in started in this browser")
	if n := len(w.provisioned()); n != 0 {
		t.Fatalf("globex got %d writes from acme's provider", n)
	}
}

func TestAnUnverifiedUpstreamEmailDoesNotLinkAnExistingUser(t *testing.T) {
	for _, verified := range []bool{false, true} {
		e, w := newFedEnv(t, iamv1.ProvisioningModeJustInTime, true)
		w.fake.Set(func(f *upstreamtest.Fake) {
			f.Claims = func(c map[string]any) { c["email"], c["email_verified"] = "alice@acme.example", verified }
		})
		id := e.authorize(func(a *session.AuthRequest) { a.Organization = "acme" })
		cb := atProvider(t, w.fake, e.chooseProvider(e.start(id), "corp"))
		rec := e.do(cb)
		if !verified {
			refused(t, e, id, rec, "not connected")
			if n := len(w.provisioned()); n != 0 {
				t.Fatalf("an unverified email made %d writes", n)
			}
			continue
		}
		ar := signedIn(t, e, id, rec)
		if reqs := w.provisioned(); len(reqs) != 1 || reqs[0].Action != login.ProvisionLink || reqs[0].UserName != "alice" || ar.UserID != string(st.UID("user", "acme", "alice")) {
			t.Fatalf("a verified email should link alice, got %+v (user %q)", reqs, ar.UserID)
		}
	}
}

func TestExistingUsersOnlyRefusesAnUnknownPerson(t *testing.T) {
	e, w := newFedEnv(t, iamv1.ProvisioningModeExistingUsersOnly, true)
	id := e.authorize(func(a *session.AuthRequest) { a.Organization = "acme" })
	cb := atProvider(t, w.fake, e.chooseProvider(e.start(id), "corp"))
	rec := e.do(cb)
	refused(t, e, id, rec, "does not create accounts")
	if !strings.Contains(rec.Body.String(), "error=access_denied") {
		t.Fatalf("the page should offer the way back with access_denied:\n%s", rec.Body.String())
	}
}

func TestAReplayedCallbackDoesNotSignIn(t *testing.T) {
	e, w := newFedEnv(t, iamv1.ProvisioningModeJustInTime, true)
	id := e.authorize(func(a *session.AuthRequest) { a.Organization = "acme" })
	cb := atProvider(t, w.fake, e.chooseProvider(e.start(id), "corp"))
	// The first answer is used, but the account cannot be written yet: the
	// sign-in stays open in this browser.
	w.mu.Lock()
	w.failNext = true
	w.mu.Unlock()
	if rec := e.do(cb); !strings.Contains(rec.Body.String(), "being prepared") {
		t.Fatalf("want the page saying the account is being prepared, got %d:\n%s", rec.Code, rec.Body.String())
	}
	// The same answer again finds no pending sign-in: it does not even
	// reach the provider's token endpoint.
	replay := httptest.NewRequest(http.MethodGet, cb.URL.String(), nil)
	refused(t, e, id, e.do(replay), "already used")
	if n := w.fake.Hits("/token"); n != 1 {
		t.Fatalf("the token endpoint was called %d times; a replayed callback must not redeem again", n)
	}
	if n := len(w.provisioned()); n != 1 {
		t.Fatalf("%d provisioning attempts; the replay must not make one", n)
	}
}

func TestTheCallbackInAnotherBrowserIsRefused(t *testing.T) {
	e, w := newFedEnv(t, iamv1.ProvisioningModeJustInTime, true)
	id := e.authorize(func(a *session.AuthRequest) { a.Organization = "acme" })
	cb := atProvider(t, w.fake, e.chooseProvider(e.start(id), "corp"))
	other := e.otherBrowser()
	other.cookies[login.UpstreamCookieName(true)] = &http.Cookie{Name: login.UpstreamCookieName(true), Value: id}
	refused(t, other, id, other.do(cb), "another browser")
	if e.authRequest(id).Upstream.State == "" {
		t.Fatal("the other browser consumed the pending sign-in")
	}
}

func TestAnUpstreamErrorEndsOnTheBrandedPageWithAnOAuthError(t *testing.T) {
	e, w := newFedEnv(t, iamv1.ProvisioningModeJustInTime, true)
	w.fake.Set(func(f *upstreamtest.Fake) {
		f.Callback = func(q url.Values) {
			q.Del("code")
			q.Set("error", "access_denied")
			q.Set("error_description", "user cancelled")
		}
	})
	id := e.authorize(func(a *session.AuthRequest) { a.Organization = "acme" })
	cb := atProvider(t, w.fake, e.chooseProvider(e.start(id), "corp"))
	rec := e.do(cb)
	refused(t, e, id, rec, "user cancelled")
	if !strings.Contains(rec.Body.String(), "ACME Corporation") || !strings.Contains(rec.Body.String(), "error=access_denied") {
		t.Fatalf("want acme's page with the way back:\n%s", rec.Body.String())
	}
}

func TestAProviderThatIsDownEndsOnTheBrandedPageWithTemporarilyUnavailable(t *testing.T) {
	e, w := newFedEnv(t, iamv1.ProvisioningModeJustInTime, true)
	w.fake.Set(func(f *upstreamtest.Fake) {
		f.Handlers["/.well-known/openid-configuration"] = func(rw http.ResponseWriter, _ *http.Request) {
			rw.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	id := e.authorize(func(a *session.AuthRequest) { a.Organization = "acme" })
	rec := e.chooseProvider(e.start(id), "corp")
	refused(t, e, id, rec, "did not answer in time")
	if !strings.Contains(rec.Body.String(), "error=temporarily_unavailable") || !strings.Contains(rec.Body.String(), "ACME Corporation") {
		t.Fatalf("want acme's page with the way back as temporarily_unavailable:\n%s", rec.Body.String())
	}
}

func TestAnInheritedProviderSignsInToTheDescendantAndRecordsItsOwner(t *testing.T) {
	e, w := newFedEnv(t, iamv1.ProvisioningModeJustInTime, true)
	// platform's inheritable provider, offered by globex.
	snap := world(e.clock.Now(), func(in *snapshot.Input) {
		in.IdentityProviders = append(in.IdentityProviders, st.IdP("platform", "group-sso",
			st.WithIdPDisplayName("Group SSO"), st.Inheritable(),
			st.WithIssuer(placeholderIssuer), st.WithIdPClientID(upstreamtest.FakeClientID)))
		for i := range in.Organizations {
			if in.Organizations[i].Name == "globex" {
				in.Organizations[i].Spec.Login = &iamv1.LoginSettings{IdentityProviders: []string{"group-sso"}}
			}
		}
	})
	snap.IdentityProvider("globex", "group-sso").Issuer = w.fake.URL
	e.snaps.Set(snap)
	w.frozen = true // the fake write path rebuilds acme's world, not this one
	id := e.authorize(func(a *session.AuthRequest) { a.Organization = "globex" })
	cb := atProvider(t, w.fake, e.chooseProvider(e.start(id), "group-sso"))
	e.do(cb)
	reqs := w.provisioned()
	if len(reqs) != 1 || reqs[0].Namespace != "globex" || reqs[0].IdentityProviderOrg != "platform" || reqs[0].IdentityProvider != "group-sso" {
		t.Fatalf("want one creation in globex of an identity at platform's provider, got %+v", reqs)
	}
}

func TestTheSignInRightAfterProvisioningFindsTheUserByItsIdentity(t *testing.T) {
	e, w := newFedEnv(t, iamv1.ProvisioningModeJustInTime, true)
	w.staged = true
	id := e.authorize(func(a *session.AuthRequest) { a.Organization = "acme" })
	signedIn(t, e, id, e.do(atProvider(t, w.fake, e.chooseProvider(e.start(id), "corp"))))
	// The first sign-in waited until the snapshot served the user with its
	// identity, so the next one finds it by the identity, not by the email
	// (which, unverified, would be refused).
	e2 := e.otherBrowser()
	id2 := e2.authorize(func(a *session.AuthRequest) { a.Organization = "acme" })
	signedIn(t, e2, id2, e2.do(atProvider(t, w.fake, e2.chooseProvider(e2.start(id2), "corp"))))
}
