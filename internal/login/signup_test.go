package login_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/orgkeeper/orgkeeper/internal/credentials"
	"github.com/orgkeeper/orgkeeper/internal/login"
)

// fakeSignups is the write path of signups, in memory.
type fakeSignups struct {
	mu       sync.Mutex
	settings login.SignupSettings
	taken    map[string]bool
	started  []login.SignupRequest
	open     map[string]login.SignupRequest // by token hash
	created  []string
	complete error // returned by CompleteSignup when set
}

func (f *fakeSignups) SignupSettings(context.Context) (login.SignupSettings, error) {
	return f.settings, nil
}

func (f *fakeSignups) HandleAvailable(_ context.Context, h string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.taken[h] {
		return login.ErrHandleTaken
	}
	return nil
}

func (f *fakeSignups) StartSignup(_ context.Context, r login.SignupRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.started = append(f.started, r)
	f.open[r.TokenHash] = r
	return nil
}

func (f *fakeSignups) CheckSignup(_ context.Context, token string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.open[credentials.TokenHash(token)]; !ok {
		return login.ErrLinkInvalid
	}
	return nil
}

func (f *fakeSignups) CompleteSignup(_ context.Context, token string) (login.SignupResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.open[credentials.TokenHash(token)]
	if !ok {
		return login.SignupResult{}, login.ErrLinkInvalid
	}
	if f.complete != nil {
		return login.SignupResult{}, f.complete
	}
	delete(f.open, credentials.TokenHash(token))
	f.created = append(f.created, r.Handle)
	return login.SignupResult{Handle: r.Handle, DisplayName: r.DisplayName, Email: r.Email, Pending: f.settings.Manual}, nil
}

func signupEnv(t *testing.T, enabled bool, limits login.MailLimits) (*env, *fakeSignups) {
	t.Helper()
	f := &fakeSignups{settings: login.SignupSettings{Enabled: enabled, Root: "platform", Manual: true},
		taken: map[string]bool{"acme": true}, open: map[string]login.SignupRequest{}}
	e := newEnvWith(t, func(c *login.Config) {
		c.Signup = login.SignupConfig{Signups: f}
		c.Onboarding.Limits = limits
	})
	return e, f
}

func signupForm(handle, email string) map[string]string {
	return map[string]string{"displayName": "Initech Corporation", "handle": handle, "adminName": "Peter Gibbons",
		"email": email, "password": password, "confirm": password}
}

// mailedToken is the token in the link of the last signup mail.
func (f *fakeSignups) mailedToken(t *testing.T) string {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.started) == 0 {
		t.Fatal("no signup was stored")
	}
	u, err := url.Parse(f.started[len(f.started)-1].Link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("token")
}

func TestSignupIsNotFoundUnlessTheRootEnablesIt(t *testing.T) {
	off, _ := signupEnv(t, false, login.MailLimits{})
	if rec := off.get(login.PathSignup); rec.Code != http.StatusNotFound || heading(t, rec.Body.String()) != "Signup is not available" {
		t.Fatalf("selfService disabled: %d %q", rec.Code, heading(t, rec.Body.String()))
	}
	none := newEnv(t) // no mail, no write path
	if rec := none.get(login.PathSignup); rec.Code != http.StatusNotFound {
		t.Fatalf("no signup backend: %d", rec.Code)
	}
	on, _ := signupEnv(t, true, login.MailLimits{})
	if rec := on.get(login.PathSignup); rec.Code != http.StatusOK {
		t.Fatalf("selfService enabled: %d\n%s", rec.Code, rec.Body)
	}
}

func TestSignupMailsALinkThatCreatesTheOrganizationOnlyWhenPosted(t *testing.T) {
	e, f := signupEnv(t, true, login.MailLimits{})
	rec := e.submit(e.get(login.PathSignup), signupForm("initech", "peter@initech.example"))
	if rec.Code != http.StatusOK || heading(t, rec.Body.String()) != "Check your email" {
		t.Fatalf("signup: %d\n%s", rec.Code, rec.Body)
	}
	r := f.started[0]
	if r.Handle != "initech" || r.Email != "peter@initech.example" || r.Root != "platform" {
		t.Fatalf("stored %+v", r)
	}
	if strings.Contains(r.PasswordHash, password) || !strings.HasPrefix(r.PasswordHash, "$argon2id$") {
		t.Fatalf("the pending signup must keep the password's hash only, got %q", r.PasswordHash)
	}
	token := f.mailedToken(t)
	if r.TokenHash != credentials.TokenHash(token) || !strings.HasPrefix(r.Link, issuer+login.PathSignupConfirm+"?") {
		t.Fatalf("link %q / hash %q", r.Link, r.TokenHash)
	}
	// Opening the link (a person, or a mail scanner) creates nothing.
	page := e.get(login.PathSignupConfirm + "?token=" + url.QueryEscape(token))
	if page.Code != http.StatusOK || len(f.created) != 0 {
		t.Fatalf("GET of the link: %d, created %v", page.Code, f.created)
	}
	done := e.submit(page, nil)
	if done.Code != http.StatusOK || heading(t, done.Body.String()) != "Initech Corporation is created" || len(f.created) != 1 {
		t.Fatalf("confirm: %d %q created %v", done.Code, heading(t, done.Body.String()), f.created)
	}
	if !strings.Contains(done.Body.String(), "waits for approval") {
		t.Fatalf("approval Manual must say the organization waits:\n%s", done.Body)
	}
	// The link works once.
	again := e.get(login.PathSignupConfirm + "?token=" + url.QueryEscape(token))
	if again.Code != http.StatusBadRequest || heading(t, again.Body.String()) != "This link is not valid" {
		t.Fatalf("second use: %d %q", again.Code, heading(t, again.Body.String()))
	}
}

func TestSignupConfirmationNeedsTheFormsCSRFToken(t *testing.T) {
	e, f := signupEnv(t, true, login.MailLimits{})
	e.submit(e.get(login.PathSignup), signupForm("initech", "peter@initech.example"))
	token := f.mailedToken(t)
	rec := e.post(login.PathSignupConfirm, url.Values{"token": {token}})
	if rec.Code != http.StatusForbidden || len(f.created) != 0 {
		t.Fatalf("confirm without CSRF token: %d, created %v", rec.Code, f.created)
	}
}

func TestSignupRefusesTakenReservedAndMalformedInputWithAClearMessage(t *testing.T) {
	long := strings.Repeat("x", 129)
	for _, tc := range []struct {
		name   string
		change map[string]string
		want   string
	}{
		{"taken handle", map[string]string{"handle": "acme"}, "The handle acme is taken. Choose another one."},
		{"reserved handle", map[string]string{"handle": "kube-system"}, "The handle cannot be used"},
		{"default namespace", map[string]string{"handle": "default"}, "The handle cannot be used"},
		{"not a label", map[string]string{"handle": "Init_Tech"}, "The handle cannot be used"},
		{"long display name", map[string]string{"displayName": long}, "at most 128 characters"},
		{"long admin name", map[string]string{"adminName": long}, "at most 128 characters"},
		{"bad email", map[string]string{"email": "Peter <peter@initech.example>"}, "Enter a valid email address"},
		{"long email", map[string]string{"email": strings.Repeat("a", 250) + "@initech.example"}, "Enter a valid email address"},
		{"weak password", map[string]string{"password": "initech", "confirm": "initech"}, "12 characters"},
		{"different passwords", map[string]string{"confirm": password + "!"}, "not the same"},
		{"missing field", map[string]string{"adminName": " "}, "Fill in every field."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, f := signupEnv(t, true, login.MailLimits{})
			form := signupForm("initech", "peter@initech.example")
			for k, v := range tc.change {
				form[k] = v
			}
			rec := e.submit(e.get(login.PathSignup), form)
			if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(textOf(t, rec.Body.String(), "error"), tc.want) {
				t.Fatalf("%d, error %q, want %q", rec.Code, textOf(t, rec.Body.String(), "error"), tc.want)
			}
			if len(f.started) != 0 {
				t.Fatalf("a refused form must store nothing, stored %+v", f.started)
			}
		})
	}
}

func TestSignupRefusesAnOversizedForm(t *testing.T) {
	e, f := signupEnv(t, true, login.MailLimits{})
	page := e.get(login.PathSignup)
	form := parseForm(t, page.Body.String())
	form.values.Set("displayName", strings.Repeat("x", 20<<10))
	if rec := e.post(form.action, form.values); rec.Code != http.StatusForbidden || len(f.started) != 0 {
		t.Fatalf("oversized form: %d, stored %d", rec.Code, len(f.started))
	}
}

func TestSignupIsLimitedPerClientAddressAndPerRecipient(t *testing.T) {
	e, f := signupEnv(t, true, login.MailLimits{PerAddress: 3, PerRecipient: 2})
	for i := range 3 {
		rec := e.submit(e.get(login.PathSignup), signupForm("initech", "peter@initech.example"))
		if rec.Code != http.StatusOK || heading(t, rec.Body.String()) != "Check your email" {
			t.Fatalf("signup %d: %d", i, rec.Code)
		}
	}
	// The recipient got two mails; the third signup answered alike but
	// sent none.
	if len(f.started) != 2 {
		t.Fatalf("mails to one recipient: %d, want 2", len(f.started))
	}
	rec := e.submit(e.get(login.PathSignup), signupForm("initech", "bob@initech.example"))
	if rec.Code != http.StatusTooManyRequests || len(f.started) != 2 {
		t.Fatalf("fourth signup from one address: %d, stored %d", rec.Code, len(f.started))
	}
	other := e.otherBrowser()
	other.peer = "198.51.100.7:1234"
	if rec := other.submit(other.get(login.PathSignup), signupForm("initech", "bob@initech.example")); rec.Code != http.StatusOK || len(f.started) != 3 {
		t.Fatalf("another address: %d, stored %d", rec.Code, len(f.started))
	}
}

func TestSignupConfirmationFailuresKeepTheLinkAndSayWhatToDo(t *testing.T) {
	for _, tc := range []struct {
		err     error
		code    int
		heading string
	}{
		{login.ErrHandleTaken, http.StatusConflict, "The handle is taken"},
		{login.ErrSignupBusy, http.StatusServiceUnavailable, "Please try again later"},
		{login.ErrSignupInProgress, http.StatusAccepted, "Almost done"},
		{context.DeadlineExceeded, http.StatusServiceUnavailable, "Signup is unavailable"},
		{login.ErrLinkExpired, http.StatusGone, "This link has expired"},
	} {
		e, f := signupEnv(t, true, login.MailLimits{})
		e.submit(e.get(login.PathSignup), signupForm("initech", "peter@initech.example"))
		f.complete = tc.err
		page := e.get(login.PathSignupConfirm + "?token=" + url.QueryEscape(f.mailedToken(t)))
		rec := e.submit(page, nil)
		if rec.Code != tc.code || heading(t, rec.Body.String()) != tc.heading {
			t.Errorf("%v: %d %q, want %d %q", tc.err, rec.Code, heading(t, rec.Body.String()), tc.code, tc.heading)
		}
	}
}

func TestSignupLinkPagesRefuseMalformedTokens(t *testing.T) {
	e, _ := signupEnv(t, true, login.MailLimits{})
	forged, _ := credentials.NewToken("signup")
	other, _ := credentials.NewToken("user-acme-alice")
	for _, tok := range []string{"", "x", strings.Repeat("a", 500), forged, other} {
		rec := e.get(login.PathSignupConfirm + "?token=" + url.QueryEscape(tok))
		if rec.Code != http.StatusBadRequest || heading(t, rec.Body.String()) != "This link is not valid" {
			t.Errorf("token %.20q: %d %q", tok, rec.Code, heading(t, rec.Body.String()))
		}
	}
}
