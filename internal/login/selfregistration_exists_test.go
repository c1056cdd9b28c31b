package login_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/orgkeeper/orgkeeper/internal/login"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

// selfRegResets is selfRegEnv with its reset requester, which carries the
// account-exists mails.
func selfRegResets(t *testing.T, limits login.MailLimits) (*env, *fakeRegistrations, *fakeResets) {
	t.Helper()
	e, regs := selfRegEnv(t, limits)
	resets := &fakeResets{}
	e2 := newEnvWith(t, func(c *login.Config) {
		c.Onboarding = login.OnboardingConfig{Tokens: &fakeTokens{}, Resets: resets, Registrations: regs, Limits: limits}
	})
	e2.snaps.Set(e.snaps.Load())
	regs.now = e2.clock.Now
	return e2, regs, resets
}

func TestRegisteringAnAddressThatHasAnAccountMailsItThatItHasOne(t *testing.T) {
	e, regs, resets := selfRegResets(t, login.MailLimits{})
	codeOld, textOld := e.register("Alice", "Alice@acme.example", newPassword)
	codeNew, textNew := e.register("Nina", "nina@acme.example", newPassword)
	if codeOld != http.StatusOK || codeOld != codeNew ||
		strings.ReplaceAll(textOld, "Alice@", "X@") != strings.ReplaceAll(textNew, "nina@", "X@") {
		t.Fatalf("answers differ:\n%d %q\n%d %q", codeOld, textOld, codeNew, textNew)
	}
	if got := regs.all(); len(got) != 1 || got[0].Email != "nina@acme.example" {
		t.Fatalf("registrations %+v, want only nina's", got)
	}
	got := resets.all()
	if len(got) != 1 {
		t.Fatalf("account-exists mails %+v, want one to alice", got)
	}
	m := got[0]
	if !m.AccountExists || m.Email != "alice@acme.example" || m.UserID != string(st.UID("user", "acme", "alice")) || m.Org != "acme" ||
		!strings.HasPrefix(m.Link, issuer+login.PathResetConfirm+"?") || m.TokenHash == "" || strings.Contains(m.Link, m.TokenHash) {
		t.Fatalf("account-exists mail %+v", m)
	}
}

func TestAccountExistsMailIsLimitedPerRecipientLikeEveryMail(t *testing.T) {
	e, _, resets := selfRegResets(t, login.MailLimits{PerRecipient: 2, PerAddress: 100})
	for range 5 {
		if code, _ := e.register("Alice", "alice@acme.example", newPassword); code != http.StatusOK {
			t.Fatalf("registration answered %d", code)
		}
	}
	if got := resets.all(); len(got) != 2 {
		t.Fatalf("%d account-exists mails to one address, want the limit of 2", len(got))
	}
}

func TestNoAccountExistsMailGoesToADisabledAccount(t *testing.T) {
	e, regs, resets := selfRegResets(t, login.MailLimits{})
	if code, _ := e.register("Bob", "bob@acme.example", newPassword); code != http.StatusOK {
		t.Fatalf("registration answered %d", code)
	}
	if len(resets.all()) != 0 || len(regs.all()) != 0 {
		t.Fatalf("mail queued for a disabled account: %+v %+v", resets.all(), regs.all())
	}
}
