package login_test

import (
	"context"
	"net/http"
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
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

// fakeRegistrations keeps registrations in memory, like apiwrite's pending
// Secrets: by token hash, bound to their organization, used once.
type fakeRegistrations struct {
	mu        sync.Mutex
	now       func() time.Time
	requests  []login.RegistrationRequest
	pending   map[string]login.RegistrationRequest
	confirmed []login.PendingRegistration
}

func (f *fakeRegistrations) RequestRegistration(_ context.Context, r login.RegistrationRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r)
	f.pending[r.TokenHash] = r
	return nil
}

func (f *fakeRegistrations) lookup(org, token string) (login.RegistrationRequest, error) {
	r, ok := f.pending[credentials.TokenHash(token)]
	if !ok || r.Org != org {
		return r, login.ErrLinkInvalid
	}
	if !f.now().Before(r.ExpiresAt) {
		return r, login.ErrLinkExpired
	}
	return r, nil
}

func (f *fakeRegistrations) CheckRegistration(_ context.Context, org, token string) (login.PendingRegistration, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, err := f.lookup(org, token)
	return login.PendingRegistration{Org: r.Org, Email: r.Email, DisplayName: r.DisplayName}, err
}

func (f *fakeRegistrations) ConfirmRegistration(_ context.Context, org, token string) (login.PendingRegistration, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, err := f.lookup(org, token)
	p := login.PendingRegistration{Org: r.Org, Email: r.Email, DisplayName: r.DisplayName}
	if err != nil {
		return p, err
	}
	delete(f.pending, credentials.TokenHash(token))
	f.confirmed = append(f.confirmed, p)
	return p, nil
}

func (f *fakeRegistrations) all() []login.RegistrationRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]login.RegistrationRequest(nil), f.requests...)
}

// selfRegWorld is the test world with acme's login.selfRegistration on
// (unless off) and a domain that acme claims but has not verified.
func selfRegWorld(now time.Time, on bool) *snapshot.Snapshot {
	return world(now, func(in *snapshot.Input) {
		for i := range in.Organizations {
			o := &in.Organizations[i]
			if o.Name != "acme" {
				continue
			}
			o.Spec.Login = &iamv1.LoginSettings{SelfRegistration: &on}
			o.Spec.Domains = append(o.Spec.Domains, "pending.example")
			o.Status.Domains = append(o.Status.Domains, iamv1.DomainStatus{Name: "pending.example", Reason: iamv1.DomainPending})
		}
	})
}

func selfRegEnv(t *testing.T, limits login.MailLimits) (*env, *fakeRegistrations) {
	t.Helper()
	regs := &fakeRegistrations{pending: map[string]login.RegistrationRequest{}}
	e := newEnvWith(t, func(c *login.Config) {
		c.Onboarding = login.OnboardingConfig{Tokens: &fakeTokens{}, Resets: &fakeResets{}, Registrations: regs, Limits: limits}
	})
	regs.now = e.clock.Now
	e.snaps.Set(selfRegWorld(e.clock.Now(), true))
	return e, regs
}

// createAccountHref is the password page's "Create account" link, or "".
func (e *env) createAccountHref(id string) string {
	e.t.Helper()
	for n := range parseDoc(e.t, e.start(id).Body.String()).Descendants() {
		if n.Type == html.ElementNode && n.Data == "a" && strings.HasPrefix(attrs(n)["href"], login.PathRegister+"?") {
			return attrs(n)["href"]
		}
	}
	return ""
}

// register fills the registration form of a new acme sign-in and posts it.
func (e *env) register(name, email, password string) (int, string) {
	e.t.Helper()
	href := e.createAccountHref(acmeSignIn(e))
	if href == "" {
		e.t.Fatal("no Create account link on acme's password page")
	}
	page := e.get(href)
	if page.Code != http.StatusOK {
		e.t.Fatalf("registration form: %d\n%s", page.Code, page.Body)
	}
	rec := e.submit(page, map[string]string{"name": name, "email": email, "password": password, "confirm": password})
	return rec.Code, textOf(e.t, rec.Body.String(), "card")
}

const newPassword = "correct horse battery staple"

func TestCreateAccountIsOfferedOnlyWhereSelfRegistrationIsOn(t *testing.T) {
	e, _ := selfRegEnv(t, login.MailLimits{})
	if e.createAccountHref(acmeSignIn(e)) == "" {
		t.Error("no Create account with acme's selfRegistration on")
	}
	globex := e.authorize(func(ar *session.AuthRequest) { ar.Organization = "globex" })
	if e.createAccountHref(globex) != "" {
		t.Error("Create account offered for globex, whose selfRegistration is off")
	}
	if rec := e.get(login.PathRegister + "?authRequestID=" + globex); rec.Code != http.StatusNotFound {
		t.Errorf("globex's registration form answered %d, want 404", rec.Code)
	}
	e.snaps.Set(selfRegWorld(e.clock.Now(), false))
	if e.createAccountHref(acmeSignIn(e)) != "" {
		t.Error("Create account offered after acme turned selfRegistration off")
	}
}

func TestRegistrationTakesOnlyTheOrganizationsVerifiedDomains(t *testing.T) {
	e, regs := selfRegEnv(t, login.MailLimits{})
	for _, email := range []string{
		"gina2@globex.example",    // another organization's verified domain
		"pat@pending.example",     // acme's, not verified
		"someone@nowhere.example", // nobody's
		"sub@x.acme.example",      // a subdomain is not the domain
	} {
		code, _ := e.register("Pat Doe", email, newPassword)
		if code != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d, want 422", email, code)
		}
	}
	if got := regs.all(); len(got) != 0 {
		t.Errorf("registrations queued for foreign domains: %+v", got)
	}
	if code, _ := e.register("Pat Doe", "pat@acme.example", newPassword); code != http.StatusOK {
		t.Fatalf("acme address: %d", code)
	}
	got := regs.all()
	if len(got) != 1 || got[0].Org != "acme" || got[0].Email != "pat@acme.example" || got[0].DisplayName != "Pat Doe" {
		t.Fatalf("queued %+v", got)
	}
	if ok, _ := credentials.Verify(got[0].PasswordHash, newPassword); !ok {
		t.Error("the queued password hash does not verify the password")
	}
	if strings.Contains(got[0].Link, got[0].TokenHash) || !strings.HasPrefix(got[0].Link, "https://") {
		t.Errorf("link %q", got[0].Link)
	}
}

func TestRegistrationAnswersAlikeWhetherTheAddressHasAnAccount(t *testing.T) {
	e, regs := selfRegEnv(t, login.MailLimits{})
	codeOld, textOld := e.register("Alice", "alice@acme.example", newPassword)
	codeNew, textNew := e.register("Nina", "nina@acme.example", newPassword)
	if codeOld != codeNew || strings.ReplaceAll(textOld, "alice@", "X@") != strings.ReplaceAll(textNew, "nina@", "X@") {
		t.Errorf("answers differ:\n%d %q\n%d %q", codeOld, textOld, codeNew, textNew)
	}
	got := regs.all()
	if len(got) != 1 || got[0].Email != "nina@acme.example" {
		t.Errorf("queued %+v, want only nina's", got)
	}
}

func TestRegistrationFormRefusesBadInputClearly(t *testing.T) {
	e, regs := selfRegEnv(t, login.MailLimits{})
	cases := map[string][3]string{
		"no name":         {"", "pat@acme.example", newPassword},
		"long name":       {strings.Repeat("n", 257), "pat@acme.example", newPassword},
		"control in name": {"Pat\x00", "pat@acme.example", newPassword},
		"two addresses":   {"Pat", "pat@acme.example, eve@acme.example", newPassword},
		"weak password":   {"Pat", "pat@acme.example", "password1234"},
		"short password":  {"Pat", "pat@acme.example", "short"},
	}
	for name, c := range cases {
		if code, _ := e.register(c[0], c[1], c[2]); code != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d, want 422", name, code)
		}
	}
	if got := regs.all(); len(got) != 0 {
		t.Errorf("queued %+v", got)
	}
}

func TestRegistrationMailIsLimitedPerRecipient(t *testing.T) {
	e, regs := selfRegEnv(t, login.MailLimits{PerAddress: 100, PerRecipient: 2})
	for range 4 {
		if code, _ := e.register("Pat", "pat@acme.example", newPassword); code != http.StatusOK {
			t.Fatalf("answer %d", code)
		}
	}
	if got := len(regs.all()); got != 2 {
		t.Errorf("%d mails to one address, want 2", got)
	}
}

func TestRegistrationFormNeedsCSRFAndTheBrowserThatBegan(t *testing.T) {
	e, regs := selfRegEnv(t, login.MailLimits{})
	id := acmeSignIn(e)
	page := e.get(e.createAccountHref(id))
	f := parseForm(t, page.Body.String())
	for k, v := range map[string]string{"name": "Pat", "email": "pat@acme.example", "password": newPassword, "confirm": newPassword} {
		f.values.Set(k, v)
	}
	forged := url.Values{}
	for k, v := range f.values {
		forged[k] = v
	}
	forged.Set("csrf_token", "forged")
	if rec := e.post(f.action, forged); rec.Code != http.StatusForbidden {
		t.Errorf("forged CSRF token: %d", rec.Code)
	}
	if rec := e.otherBrowser().post(f.action, f.values); rec.Code == http.StatusOK {
		t.Errorf("another browser's post was taken")
	}
	if got := regs.all(); len(got) != 0 {
		t.Errorf("queued %+v", got)
	}
}

// confirmLink registers pat and returns the mailed link's path and query.
func confirmLink(t *testing.T, e *env, regs *fakeRegistrations) string {
	t.Helper()
	if code, _ := e.register("Pat", "pat@acme.example", newPassword); code != http.StatusOK {
		t.Fatalf("register: %d", code)
	}
	got := regs.all()
	u, err := url.Parse(got[len(got)-1].Link)
	if err != nil {
		t.Fatal(err)
	}
	return u.RequestURI()
}

func TestConfirmationLinkCreatesTheAccountOnceOnPost(t *testing.T) {
	e, regs := selfRegEnv(t, login.MailLimits{})
	link := confirmLink(t, e, regs)
	// A mail scanner opens the link: nothing is created.
	page := e.otherBrowser().get(link)
	if page.Code != http.StatusOK || len(regs.confirmed) != 0 {
		t.Fatalf("GET: %d, confirmed %v", page.Code, regs.confirmed)
	}
	page = e.get(link)
	rec := e.submit(page, nil)
	if rec.Code != http.StatusOK || heading(t, rec.Body.String()) != "Your account is ready" {
		t.Fatalf("confirm: %d\n%s", rec.Code, rec.Body)
	}
	if len(regs.confirmed) != 1 || regs.confirmed[0].Email != "pat@acme.example" {
		t.Fatalf("confirmed %+v", regs.confirmed)
	}
	// Replayed: the registration is gone.
	if rec := e.submit(page, nil); rec.Code != http.StatusBadRequest {
		t.Errorf("replayed confirmation: %d", rec.Code)
	}
	if len(regs.confirmed) != 1 {
		t.Errorf("confirmed twice")
	}
}

func TestConfirmationLinkRefusals(t *testing.T) {
	e, regs := selfRegEnv(t, login.MailLimits{})
	link := confirmLink(t, e, regs)
	u, _ := url.Parse(link)
	q := u.Query()
	token := q.Get("token")

	forged := url.Values{"org": {"acme"}, "token": {token[:len(token)-2] + "AA"}}
	if rec := e.get(login.PathRegisterConfirm + "?" + forged.Encode()); rec.Code != http.StatusBadRequest {
		t.Errorf("forged token: %d", rec.Code)
	}
	userToken, _ := credentials.NewToken("user-acme-alice")
	if rec := e.get(login.PathRegisterConfirm + "?" + url.Values{"org": {"acme"}, "token": {userToken}}.Encode()); rec.Code != http.StatusBadRequest {
		t.Errorf("an invitation-shaped token: %d", rec.Code)
	}
	other := url.Values{"org": {"globex"}, "token": {token}}
	if rec := e.get(login.PathRegisterConfirm + "?" + other.Encode()); rec.Code != http.StatusBadRequest {
		t.Errorf("acme's link under globex: %d", rec.Code)
	}
	// The organization turned registration off after the mail.
	e.snaps.Set(selfRegWorld(e.clock.Now(), false))
	if rec := e.get(link); rec.Code != http.StatusForbidden {
		t.Errorf("after selfRegistration was turned off: %d", rec.Code)
	}
	e.snaps.Set(selfRegWorld(e.clock.Now(), true))
	e.clock.Advance(login.DefaultRegistrationTTL + time.Second)
	e.snaps.Set(selfRegWorld(e.clock.Now(), true))
	if rec := e.get(link); rec.Code != http.StatusGone {
		t.Errorf("expired link: %d", rec.Code)
	}
	if len(regs.confirmed) != 0 {
		t.Errorf("confirmed %+v", regs.confirmed)
	}
}

func TestConfirmationLinkOfAnAddressThatGotAnAccountMeanwhileCreatesNothing(t *testing.T) {
	e, regs := selfRegEnv(t, login.MailLimits{})
	link := confirmLink(t, e, regs)
	// An admin invited the same address before the person followed the link.
	e.snaps.Set(world(e.clock.Now(), func(in *snapshot.Input) {
		for i := range in.Organizations {
			if o := &in.Organizations[i]; o.Name == "acme" {
				on := true
				o.Spec.Login = &iamv1.LoginSettings{SelfRegistration: &on}
			}
		}
		in.Users = append(in.Users, st.User("acme", "pat", "pat@acme.example"))
	}))
	page := e.get(link)
	if page.Code != http.StatusConflict || heading(t, page.Body.String()) != "You already have an account" {
		t.Fatalf("GET: %d %q", page.Code, heading(t, page.Body.String()))
	}
	if len(regs.confirmed) != 0 {
		t.Errorf("confirmed %+v", regs.confirmed)
	}
}
