package login_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/connector"
	"github.com/orgkeeper/orgkeeper/internal/connector/upstreamtest"
	"github.com/orgkeeper/orgkeeper/internal/credentials"
	"github.com/orgkeeper/orgkeeper/internal/login"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

// fakeAcceptor plays the write path of an invitation accepted through a
// provider: it records the acceptances, or answers err.
type fakeAcceptor struct {
	mu       sync.Mutex
	err      error
	accepted []login.InvitationAcceptance
}

func (f *fakeAcceptor) AcceptInvitation(_ context.Context, a login.InvitationAcceptance) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.accepted = append(f.accepted, a)
	return nil
}

func (f *fakeAcceptor) all() []login.InvitationAcceptance {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]login.InvitationAcceptance(nil), f.accepted...)
}

// invWorld is acme with its provider "corp" on the Fake (routing
// acme.example), a second provider "partners" on the same Fake that routes
// no domain, both offered by acme's login page, the invited user "ina"
// (ina@acme.example, no password) and "lee", linked to the Fake's account
// when linkLee is set.
type invWorld struct {
	e        *env
	w        *fedWorld
	tokens   *fakeTokens
	acceptor *fakeAcceptor
	// link is ina's invitation link, token its token.
	link, token string
}

func newInvWorld(t *testing.T, linkLee bool) *invWorld {
	t.Helper()
	fake := upstreamtest.NewFake(t)
	fake.Set(func(f *upstreamtest.Fake) {
		f.Public = true
		f.Claims = func(c map[string]any) { c["email"], c["email_verified"] = "Ina@ACME.example", true }
	})
	w := &fedWorld{t: t, fake: fake, mode: iamv1.ProvisioningModeJustInTime, password: true}
	tokens, acceptor := &fakeTokens{}, &fakeAcceptor{}
	w.more = func(in *snapshot.Input) {
		in.IdentityProviders = append(in.IdentityProviders, st.IdP("acme", "partners",
			st.WithIdPDisplayName("Partner Login"), st.WithIssuer(placeholderIssuer), st.WithIdPClientID(upstreamtest.FakeClientID)))
		for i := range in.Organizations {
			if in.Organizations[i].Name == "acme" {
				in.Organizations[i].Spec.Login.IdentityProviders = []string{"corp", "partners"}
			}
		}
		in.Users = append(in.Users, st.User("acme", "ina", "ina@acme.example", st.Invited()))
		if linkLee {
			in.Users = append(in.Users, st.User("acme", "lee", "lee@acme.example",
				st.WithFederatedIdentity("corp", "", upstreamtest.FakeSubject)))
		}
	}
	w.serve = func(s *snapshot.Snapshot) {
		if p := s.IdentityProvider("acme", "partners"); p != nil {
			p.Issuer = fake.URL
		}
	}
	e := newEnvWith(t, func(c *login.Config) {
		c.Connectors = connector.NewRegistry(connector.Config{AllowLoopbackHTTP: true, Timeout: 5 * time.Second})
		c.Provisioner = w
		c.Snapshots = w
		c.Onboarding = login.OnboardingConfig{Tokens: tokens, Acceptor: acceptor}
	})
	w.snaps, w.now = e.snaps, e.clock.Now()
	w.rebuild()
	token, _ := credentials.NewToken(inaID)
	link := login.PathInvitation + "?" + url.Values{"org": {"acme"}, "token": {token}}.Encode()
	return &invWorld{e: e, w: w, tokens: tokens, acceptor: acceptor, link: link, token: token}
}

// choose opens the invitation page and presses idp's button.
func (iw *invWorld) choose(t *testing.T, idp string) *httptest.ResponseRecorder {
	t.Helper()
	page := iw.e.get(iw.link)
	if page.Code != http.StatusOK {
		t.Fatalf("the invitation page: %d\n%s", page.Code, page.Body)
	}
	var f form
	found := false
	for n := range parseDoc(t, page.Body.String()).Descendants() {
		if n.Type == 3 && n.Data == "form" && attrs(n)["action"] == login.PathInvitationUpstream {
			f = form{action: login.PathInvitationUpstream, values: url.Values{}}
			for c := range n.Descendants() {
				if c.Type == 3 && c.Data == "input" {
					f.values.Set(attrs(c)["name"], attrs(c)["value"])
				}
			}
			if f.values.Get("idp") == idp {
				found = true
				break
			}
		}
	}
	if !found {
		t.Fatalf("the invitation page has no button for %s:\n%s", idp, page.Body)
	}
	return iw.e.post(f.action, f.values)
}

// throughProvider presses idp's button and signs in at the Fake; it
// returns the provider's callback request.
func (iw *invWorld) throughProvider(t *testing.T, idp string) *http.Request {
	t.Helper()
	return atProvider(t, iw.w.fake, iw.choose(t, idp))
}

func noAcceptance(t *testing.T, iw *invWorld) {
	t.Helper()
	if got := iw.acceptor.all(); len(got) != 0 {
		t.Fatalf("the invitation was accepted: %+v", got)
	}
}

func wantPage(t *testing.T, rec *httptest.ResponseRecorder, status int, text string) {
	t.Helper()
	if rec.Code != status || !strings.Contains(rec.Body.String(), text) {
		t.Fatalf("want %d with %q, got %d:\n%s", status, text, rec.Code, rec.Body.String())
	}
}

func TestTheInvitationPageOffersTheOrganizationsProvidersBesideThePassword(t *testing.T) {
	iw := newInvWorld(t, false)
	page := iw.e.get(iw.link).Body.String()
	for _, want := range []string{`name="password"`, "Continue with Corp SSO", "Continue with Partner Login"} {
		if !strings.Contains(page, want) {
			t.Fatalf("the invitation page lacks %q:\n%s", want, page)
		}
	}
}

func TestTheInvitationPageOffersNoProviderWithoutAnAcceptor(t *testing.T) {
	e, _, _ := onboardingEnv(t, login.MailLimits{})
	page := e.get(invitationLink("acme", "user-acme-ina")).Body.String()
	if strings.Contains(page, login.PathInvitationUpstream) {
		t.Fatalf("buttons without a way to accept through them:\n%s", page)
	}
}

func TestAnInvitationIsAcceptedOnceThroughTheProviderTheAddressRoutesTo(t *testing.T) {
	iw := newInvWorld(t, false)
	cb := iw.throughProvider(t, "corp")
	rec := iw.e.do(cb)
	wantPage(t, rec, http.StatusOK, "Your account is ready")
	if !strings.Contains(rec.Body.String(), "Corp SSO") || !strings.Contains(rec.Body.String(), "ina@acme.example") {
		t.Fatalf("the ready page should say how to sign in:\n%s", rec.Body)
	}
	got := iw.acceptor.all()
	want := login.InvitationAcceptance{Org: "acme", UserName: "ina", UserID: inaID, TokenHash: credentials.TokenHash(iw.token),
		IdentityProvider: "corp", Subject: upstreamtest.FakeSubject}
	if len(got) != 1 || got[0] != want {
		t.Fatalf("acceptances %+v, want exactly %+v", got, want)
	}

	// The same answer again (a reload, a replay) finds no sign-in.
	again := httptest.NewRequest(http.MethodGet, cb.URL.String(), nil)
	wantPage(t, iw.e.do(again), http.StatusBadRequest, "This sign-in has ended")
	if len(iw.acceptor.all()) != 1 {
		t.Fatal("a replayed answer accepted the invitation again")
	}
}

func TestTheProvidersAnswerInAnotherBrowserIsRefusedAndLeavesTheSignInToTheFirst(t *testing.T) {
	iw := newInvWorld(t, false)
	cb := iw.throughProvider(t, "corp")

	// The victim's callback URL reaches an attacker, who even has the
	// upstream cookie's value (it names the record, it proves nothing).
	other := iw.e.otherBrowser()
	name := login.UpstreamCookieName(strings.HasPrefix(issuer, "https:"))
	other.cookies[name] = &http.Cookie{Name: name, Value: iw.e.cookies[name].Value}
	// and a binding cookie of its own (from a sign-in it began itself).
	bind := login.InvitationBindingCookieName(strings.HasPrefix(issuer, "https:"))
	other.cookies[bind] = &http.Cookie{Name: bind, Value: "attackers-own-secret-0123456789abcdefghijklm"}
	wantPage(t, other.do(httptest.NewRequest(http.MethodGet, cb.URL.String(), nil)), http.StatusForbidden, "started in another browser")
	noAcceptance(t, iw)

	// Without any cookie, nothing is even looked up.
	bare := iw.e.otherBrowser()
	if rec := bare.do(httptest.NewRequest(http.MethodGet, cb.URL.String(), nil)); rec.Code < 400 {
		t.Fatalf("a callback without cookies: %d", rec.Code)
	}
	noAcceptance(t, iw)

	wantPage(t, iw.e.do(cb), http.StatusOK, "Your account is ready")
	if len(iw.acceptor.all()) != 1 {
		t.Fatal("the browser that began the sign-in could not finish it")
	}
}

func TestAnUpstreamAccountOfAnotherAddressDoesNotAcceptTheInvitation(t *testing.T) {
	iw := newInvWorld(t, false)
	iw.w.fake.Set(func(f *upstreamtest.Fake) {
		f.Claims = func(c map[string]any) { c["email"], c["email_verified"] = "mallory@acme.example", true }
	})
	rec := iw.e.do(iw.throughProvider(t, "corp"))
	wantPage(t, rec, http.StatusForbidden, "this invitation is for ina@acme.example")
	noAcceptance(t, iw)
	// The invitation stays open.
	wantPage(t, iw.e.get(iw.link), http.StatusOK, "Accept your invitation")
}

func TestAnAddressTheProviderDoesNotVouchForDoesNotAcceptTheInvitation(t *testing.T) {
	t.Run("the provider says the address is unverified", func(t *testing.T) {
		iw := newInvWorld(t, false)
		iw.w.fake.Set(func(f *upstreamtest.Fake) {
			f.Claims = func(c map[string]any) { c["email"], c["email_verified"] = "ina@acme.example", false }
		})
		wantPage(t, iw.e.do(iw.throughProvider(t, "corp")), http.StatusForbidden, "did not confirm")
		noAcceptance(t, iw)
	})
	t.Run("another provider than the one the domain routes to says it is verified", func(t *testing.T) {
		iw := newInvWorld(t, false)
		wantPage(t, iw.e.do(iw.throughProvider(t, "partners")), http.StatusForbidden, "Partner Login did not confirm")
		noAcceptance(t, iw)
	})
	t.Run("the provider sends no address", func(t *testing.T) {
		iw := newInvWorld(t, false)
		iw.w.fake.Set(func(f *upstreamtest.Fake) {
			drop := func(c map[string]any) { delete(c, "email"); delete(c, "email_verified") }
			f.Claims, f.Userinfo = drop, drop
		})
		wantPage(t, iw.e.do(iw.throughProvider(t, "corp")), http.StatusForbidden, "did not send your email address")
		noAcceptance(t, iw)
	})
}

func TestAnUpstreamAccountLinkedToAnotherUserDoesNotAcceptTheInvitation(t *testing.T) {
	iw := newInvWorld(t, true)
	wantPage(t, iw.e.do(iw.throughProvider(t, "corp")), http.StatusForbidden, "already connected to another user")
	noAcceptance(t, iw)
}

func TestAProvidersFailureEndsOnTheOrganizationsPageAndTheInvitationStaysOpen(t *testing.T) {
	iw := newInvWorld(t, false)
	iw.w.fake.Set(func(f *upstreamtest.Fake) {
		f.Callback = func(q url.Values) {
			q.Del("code")
			q.Set("error", "access_denied")
		}
	})
	rec := iw.e.do(iw.throughProvider(t, "corp"))
	wantPage(t, rec, http.StatusForbidden, "Your invitation is still open")
	if !strings.Contains(rec.Body.String(), "#0B5FFF") {
		t.Fatalf("the page is not acme's:\n%s", rec.Body)
	}
	noAcceptance(t, iw)
	wantPage(t, iw.e.get(iw.link), http.StatusOK, "Accept your invitation")
}

func TestTheProviderButtonNeedsAnOpenInvitationOfTheOrganizationAndItsCSRFToken(t *testing.T) {
	t.Run("expired", func(t *testing.T) {
		iw := newInvWorld(t, false)
		page := iw.e.get(iw.link)
		iw.tokens.err = login.ErrLinkExpired
		f := forms(t, page.Body.String())[login.PathInvitationUpstream]
		wantPage(t, iw.e.post(f.action, f.values), http.StatusGone, "This link has expired")
	})
	t.Run("used or replaced", func(t *testing.T) {
		iw := newInvWorld(t, false)
		page := iw.e.get(iw.link)
		iw.tokens.err = login.ErrLinkInvalid
		f := forms(t, page.Body.String())[login.PathInvitationUpstream]
		wantPage(t, iw.e.post(f.action, f.values), http.StatusBadRequest, "This link is not valid")
	})
	t.Run("another organization's token", func(t *testing.T) {
		iw := newInvWorld(t, false)
		page := iw.e.get(iw.link)
		f := forms(t, page.Body.String())[login.PathInvitationUpstream]
		f.values.Set("org", "globex")
		// The CSRF token is bound to the token, not the organization, so
		// this reaches the token's check.
		wantPage(t, iw.e.post(f.action, f.values), http.StatusBadRequest, "This link is not valid")
	})
	t.Run("no CSRF token", func(t *testing.T) {
		iw := newInvWorld(t, false)
		page := iw.e.get(iw.link)
		f := forms(t, page.Body.String())[login.PathInvitationUpstream]
		f.values.Del("csrf_token")
		wantPage(t, iw.e.post(f.action, f.values), http.StatusForbidden, "Request refused")
	})
	t.Run("a provider the organization does not offer", func(t *testing.T) {
		iw := newInvWorld(t, false)
		page := iw.e.get(iw.link)
		f := forms(t, page.Body.String())[login.PathInvitationUpstream]
		f.values.Set("idp", "elsewhere")
		wantPage(t, iw.e.post(f.action, f.values), http.StatusForbidden, "No sign-in method available")
	})
}

func TestAnInvitationUsedMeanwhileEndsOnTheLinkPagesAtTheCallback(t *testing.T) {
	for _, c := range []struct {
		err    error
		status int
		text   string
	}{
		{login.ErrLinkInvalid, http.StatusBadRequest, "This link is not valid"},
		{login.ErrLinkExpired, http.StatusGone, "This link has expired"},
		{login.ErrInvitationLinkPending, http.StatusAccepted, "Your invitation is accepted"},
		{errors.New("the API server is away"), http.StatusServiceUnavailable, ""},
	} {
		t.Run(c.err.Error(), func(t *testing.T) {
			iw := newInvWorld(t, false)
			cb := iw.throughProvider(t, "corp")
			iw.acceptor.err = c.err
			wantPage(t, iw.e.do(cb), c.status, c.text)
		})
	}
}

func TestTheInvitationsRecordIsNoSignInOfAnApplication(t *testing.T) {
	iw := newInvWorld(t, false)
	iw.throughProvider(t, "corp")
	id := strings.TrimPrefix(iw.e.cookies[login.UpstreamCookieName(strings.HasPrefix(issuer, "https:"))].Value, "invitation.")
	if rec := iw.e.start(id); rec.Code < 400 {
		t.Fatalf("the record opened a sign-in page: %d\n%s", rec.Code, rec.Body)
	}
}
