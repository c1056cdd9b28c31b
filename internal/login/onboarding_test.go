package login_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/html"

	"github.com/orgkeeper/orgkeeper/internal/credentials"
	"github.com/orgkeeper/orgkeeper/internal/login"
	"github.com/orgkeeper/orgkeeper/internal/session"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

// fakeTokens answers CheckLinkToken with err and records redemptions.
type fakeTokens struct {
	mu       sync.Mutex
	err      error
	checked  []login.LinkToken
	redeemed []string // password hashes
}

func (f *fakeTokens) CheckLinkToken(_ context.Context, t login.LinkToken) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.checked = append(f.checked, t)
	return f.err
}

func (f *fakeTokens) RedeemLinkToken(_ context.Context, t login.LinkToken, hash string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.redeemed = append(f.redeemed, hash)
	return nil
}

type fakeResets struct {
	mu  sync.Mutex
	got []login.ResetRequest
}

func (f *fakeResets) RequestPasswordReset(_ context.Context, r login.ResetRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, r)
	return nil
}

func (f *fakeResets) all() []login.ResetRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]login.ResetRequest(nil), f.got...)
}

// onboardingEnv is an env with the onboarding pages on, and an invited
// user "ina" of acme who has no password yet.
func onboardingEnv(t *testing.T, limits login.MailLimits) (*env, *fakeTokens, *fakeResets) {
	t.Helper()
	tokens, resets := &fakeTokens{}, &fakeResets{}
	e := newEnvWith(t, func(c *login.Config) {
		c.Onboarding = login.OnboardingConfig{Tokens: tokens, Resets: resets, Limits: limits}
	})
	e.snaps.Set(world(e.clock.Now(), func(in *snapshot.Input) {
		in.Users = append(in.Users, st.User("acme", "ina", "ina@acme.example", st.WithEmailVerified(false), st.Invited()))
	}))
	return e, tokens, resets
}

// inaID is the ID of ina, acme's invited user.
var inaID = string(st.UID("user", "acme", "ina"))

func invitationLink(org, uid string) string {
	token, _ := credentials.NewToken(uid)
	return login.PathInvitation + "?" + url.Values{"org": {org}, "token": {token}}.Encode()
}

// resetPage opens acme's password page for id and follows "Forgot
// password?".
func (e *env) resetPage(id string) string {
	e.t.Helper()
	page := e.start(id)
	var href string
	for n := range parseDoc(e.t, page.Body.String()).Descendants() {
		if n.Type == html.ElementNode && n.Data == "a" && strings.HasPrefix(attrs(n)["href"], login.PathReset+"?") {
			href = attrs(n)["href"]
		}
	}
	if href == "" {
		e.t.Fatalf("no Forgot password? link on the password page:\n%s", page.Body)
	}
	form := e.get(href)
	if form.Code != http.StatusOK {
		e.t.Fatalf("reset form: %d\n%s", form.Code, form.Body)
	}
	return form.Body.String()
}

func (e *env) askReset(form, email string) (int, string) {
	e.t.Helper()
	f := parseForm(e.t, form)
	f.values.Set("email", email)
	rec := e.post(f.action, f.values)
	return rec.Code, textOf(e.t, rec.Body.String(), "card")
}

func acmeSignIn(e *env) string {
	return e.authorize(func(ar *session.AuthRequest) { ar.Organization = "acme" })
}

func TestForgotPasswordIsOfferedOnlyWhenMailIsConfigured(t *testing.T) {
	e, _, _ := onboardingEnv(t, login.MailLimits{})
	if body := e.start(acmeSignIn(e)).Body.String(); !strings.Contains(body, "Forgot password?") {
		t.Errorf("no Forgot password? with resets configured")
	}
	plain := newEnv(t)
	if body := plain.start(acmeSignIn(plain)).Body.String(); strings.Contains(body, "Forgot password?") {
		t.Errorf("Forgot password? offered without mail")
	}
	if rec := plain.get(login.PathReset + "?authRequestID=" + acmeSignIn(plain)); rec.Code != http.StatusNotFound {
		t.Errorf("the reset form answered %d without mail", rec.Code)
	}
}

func TestTheResetFormAnswersAlikeForKnownUnknownAndDisabledAccounts(t *testing.T) {
	e, _, resets := onboardingEnv(t, login.MailLimits{})
	form := e.resetPage(acmeSignIn(e))
	answers := map[string]string{}
	for _, email := range []string{"alice@acme.example", "nobody@acme.example", "bob@acme.example", "gina@globex.example"} {
		code, text := e.askReset(form, email)
		if code != http.StatusOK {
			t.Fatalf("%s: status %d", email, code)
		}
		answers[email] = strings.ReplaceAll(text, email, "<email>")
	}
	for email, a := range answers {
		if a != answers["alice@acme.example"] {
			t.Errorf("the answer for %s differs from a real account's:\n%s\n---\n%s", email, a, answers["alice@acme.example"])
		}
	}
	got := resets.all()
	if len(got) != 1 || got[0].Email != "alice@acme.example" || got[0].Org != "acme" {
		t.Fatalf("queued %+v, want one reset for alice (not the disabled bob, not globex's gina)", got)
	}
	u, err := url.Parse(got[0].Link)
	if err != nil || u.Path != login.PathResetConfirm || u.Query().Get("org") != "acme" {
		t.Fatalf("link %q", got[0].Link)
	}
	if credentials.TokenHash(u.Query().Get("token")) != got[0].TokenHash {
		t.Errorf("the stored hash is not the mailed token's")
	}
	if got[0].ExpiresAt.Sub(e.clock.Now()) != login.DefaultResetTTL {
		t.Errorf("expires %v", got[0].ExpiresAt)
	}
}

func TestResetMailIsLimitedPerRecipientPerOrganizationAndPerAddress(t *testing.T) {
	t.Run("a flood mails one victim three times", func(t *testing.T) {
		e, _, resets := onboardingEnv(t, login.MailLimits{})
		form := e.resetPage(acmeSignIn(e))
		_, first := e.askReset(form, "alice@acme.example")
		for i := range 9 {
			if code, text := e.askReset(form, "alice@acme.example"); code != http.StatusOK || text != first {
				t.Fatalf("request %d: %d, answered differently", i+2, code)
			}
		}
		if n := len(resets.all()); n != 3 {
			t.Errorf("%d mails queued for one address, want 3", n)
		}
	})
	t.Run("an organization's budget holds across recipients", func(t *testing.T) {
		e, _, resets := onboardingEnv(t, login.MailLimits{PerOrganization: 1})
		form := e.resetPage(acmeSignIn(e))
		e.askReset(form, "alice@acme.example")
		e.askReset(form, "carol@acme.example")
		if n := len(resets.all()); n != 1 {
			t.Errorf("%d mails queued, want 1", n)
		}
	})
	t.Run("one address is refused openly once over its budget; another is not", func(t *testing.T) {
		e, _, _ := onboardingEnv(t, login.MailLimits{PerAddress: 2})
		form := e.resetPage(acmeSignIn(e))
		for range 2 {
			if code, _ := e.askReset(form, "nobody@acme.example"); code != http.StatusOK {
				t.Fatalf("status %d within the budget", code)
			}
		}
		if code, _ := e.askReset(form, "nobody@acme.example"); code != http.StatusTooManyRequests {
			t.Errorf("over the budget: %d, want 429", code)
		}
		other := e.otherBrowser()
		other.peer = "198.51.100.7:1234"
		if code, _ := other.askReset(other.resetPage(acmeSignIn(other)), "nobody@acme.example"); code != http.StatusOK {
			t.Errorf("another address: %d", code)
		}
	})
}

func TestTheResetFormRefusesMalformedInputWithAClearMessage(t *testing.T) {
	e, _, resets := onboardingEnv(t, login.MailLimits{})
	form := e.resetPage(acmeSignIn(e))
	for _, bad := range []string{"", "not-an-address", "alice@acme.example, bob@acme.example", "alice@acme.example\r\nBcc: x@y.example",
		strings.Repeat("a", 250) + "@acme.example"} {
		if code, text := e.askReset(form, bad); code != http.StatusUnprocessableEntity || !strings.Contains(text, "Enter one email address") {
			t.Errorf("%.40q: %d %q", bad, code, text)
		}
	}
	f := parseForm(t, form)
	f.values.Set("email", strings.Repeat("x", 20<<10))
	if rec := e.post(f.action, f.values); rec.Code != http.StatusForbidden {
		t.Errorf("an oversized form: %d", rec.Code)
	}
	if n := len(resets.all()); n != 0 {
		t.Errorf("%d mails queued for malformed input", n)
	}
}

func TestLinkPagesEndBadTokensOnAClearPageAndShowTheFormForAGoodOne(t *testing.T) {
	e, tokens, _ := onboardingEnv(t, login.MailLimits{})
	for name, path := range map[string]string{
		"malformed token":           login.PathInvitation + "?org=acme&token=abc",
		"no token":                  login.PathInvitation + "?org=acme",
		"unknown organization":      invitationLink("nowhere", inaID),
		"another organization's":    invitationLink("globex", inaID),
		"unknown user":              invitationLink("acme", "user-acme-nobody"),
		"a user who has a password": invitationLink("acme", "user-acme-alice"),
		"an oversized token":        login.PathInvitation + "?org=acme&token=" + strings.Repeat("a", 500),
	} {
		rec := e.get(path)
		if rec.Code != http.StatusBadRequest || heading(t, rec.Body.String()) != "This link is not valid" {
			t.Errorf("%s: %d %q", name, rec.Code, heading(t, rec.Body.String()))
		}
	}
	if len(tokens.checked) != 0 {
		t.Errorf("tokens that name no user of the organization were looked up: %+v", tokens.checked)
	}
	link := invitationLink("acme", inaID)
	tokens.err = login.ErrLinkInvalid
	if rec := e.get(link); rec.Code != http.StatusBadRequest {
		t.Errorf("a forged token: %d", rec.Code)
	}
	tokens.err = login.ErrLinkExpired
	if rec := e.get(link); rec.Code != http.StatusGone || heading(t, rec.Body.String()) != "This link has expired" {
		t.Errorf("an expired token: %d", rec.Code)
	}
	tokens.err = nil
	rec := e.get(link)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "ina@acme.example") {
		t.Fatalf("a good token: %d\n%s", rec.Code, rec.Body)
	}
	if c := tokens.checked[len(tokens.checked)-1]; c.Org != "acme" || c.UserName != "ina" || c.Purpose != login.LinkInvitation {
		t.Errorf("checked %+v", c)
	}
}

func TestALinkPostNeedsItsFormsCSRFTokenAndAGoodPassword(t *testing.T) {
	e, tokens, _ := onboardingEnv(t, login.MailLimits{})
	page := e.get(invitationLink("acme", inaID))
	f := parseForm(t, page.Body.String())

	forged := url.Values{}
	for k, v := range f.values {
		forged[k] = v
	}
	forged.Set("csrf_token", "forged")
	forged.Set("password", "violet orchid marmalade")
	forged.Set("confirm", "violet orchid marmalade")
	if rec := e.post(f.action, forged); rec.Code != http.StatusForbidden {
		t.Errorf("a forged CSRF token: %d", rec.Code)
	}
	// The CSRF token is bound to the link: another link's form does not
	// carry over.
	other := parseForm(t, e.get(invitationLink("acme", inaID)).Body.String())
	swapped := url.Values{}
	for k, v := range f.values {
		swapped[k] = v
	}
	swapped.Set("token", other.values.Get("token"))
	swapped.Set("password", "violet orchid marmalade")
	swapped.Set("confirm", "violet orchid marmalade")
	if rec := e.post(f.action, swapped); rec.Code != http.StatusForbidden {
		t.Errorf("a CSRF token of another link: %d", rec.Code)
	}

	for pw, want := range map[string]string{"short": "at least 12", "ina@acme.example1": "email address", "qwertyuiop123": "most common"} {
		f.values.Set("password", pw)
		f.values.Set("confirm", pw)
		rec := e.post(f.action, f.values)
		if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(textOf(t, rec.Body.String(), "error"), want) {
			t.Errorf("%q: %d %q", pw, rec.Code, textOf(t, rec.Body.String(), "error"))
		}
	}
	if len(tokens.redeemed) != 0 {
		t.Fatalf("a refused password was stored")
	}
	f.values.Set("password", "violet orchid marmalade")
	f.values.Set("confirm", "violet orchid marmalade")
	rec := e.post(f.action, f.values)
	if rec.Code != http.StatusOK || heading(t, rec.Body.String()) != "Your account is ready" {
		t.Fatalf("%d %q", rec.Code, heading(t, rec.Body.String()))
	}
	if len(tokens.redeemed) != 1 {
		t.Fatalf("redeemed %d times", len(tokens.redeemed))
	}
	if ok, err := credentials.Verify(tokens.redeemed[0], "violet orchid marmalade"); err != nil || !ok {
		t.Errorf("the stored hash does not verify the password: %v", err)
	}
}

func TestLinkPagesAreLimitedPerAddress(t *testing.T) {
	e, _, _ := onboardingEnv(t, login.MailLimits{LinkAttempts: 3})
	for i := range 3 {
		if rec := e.get(invitationLink("acme", inaID)); rec.Code != http.StatusOK {
			t.Fatalf("attempt %d: %d", i+1, rec.Code)
		}
	}
	if rec := e.get(invitationLink("acme", inaID)); rec.Code != http.StatusTooManyRequests {
		t.Errorf("over the budget: %d", rec.Code)
	}
}
