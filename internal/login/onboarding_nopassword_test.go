package login_test

import (
	"net/http"
	"strings"
	"testing"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/login"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

// withoutPassword turns acme's password sign-in off.
func withoutPassword(in *snapshot.Input) {
	for i := range in.Organizations {
		if in.Organizations[i].Name == "acme" {
			if in.Organizations[i].Spec.Login == nil {
				in.Organizations[i].Spec.Login = &iamv1.LoginSettings{}
			}
			in.Organizations[i].Spec.Login.Password = st.Ptr(false)
		}
	}
	in.Users = append(in.Users, st.User("acme", "ina", "ina@acme.example", st.WithEmailVerified(false), st.Invited()))
}

// An organization that does not sign its people in with a password does
// not let an invitation set one: the page offers no password form, and a
// password posted anyway (a form kept from before the policy changed, or
// one made by hand) sets nothing.
func TestAnInvitationSetsNoPasswordWhereTheOrganizationHasNone(t *testing.T) {
	e, tokens, _ := onboardingEnv(t, login.MailLimits{})
	link := invitationLink("acme", inaID)
	f := parseForm(t, e.get(link).Body.String()) // while passwords are on

	e.snaps.Set(world(e.clock.Now(), withoutPassword))
	page := e.get(link)
	body := page.Body.String()
	if page.Code != http.StatusOK || strings.Contains(body, `name="password"`) || !strings.Contains(body, "cannot be accepted yet") {
		t.Fatalf("the invitation page without password sign-in or providers: %d\n%s", page.Code, body)
	}

	f.values.Set("password", "violet orchid marmalade")
	f.values.Set("confirm", "violet orchid marmalade")
	rec := e.post(f.action, f.values)
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(textOf(t, rec.Body.String(), "error"), "does not sign its people in with a password") {
		t.Fatalf("a password posted anyway: %d %q", rec.Code, textOf(t, rec.Body.String(), "error"))
	}
	if len(tokens.redeemed) != 0 {
		t.Fatalf("the invitation was redeemed with a password: %+v", tokens.redeemed)
	}

	// With the policy back on, the same form works.
	e.snaps.Set(world(e.clock.Now(), func(in *snapshot.Input) {
		in.Users = append(in.Users, st.User("acme", "ina", "ina@acme.example", st.WithEmailVerified(false), st.Invited()))
	}))
	f = parseForm(t, e.get(link).Body.String())
	f.values.Set("password", "violet orchid marmalade")
	f.values.Set("confirm", "violet orchid marmalade")
	if rec := e.post(f.action, f.values); rec.Code != http.StatusOK || len(tokens.redeemed) != 1 {
		t.Fatalf("with passwords on: %d, redeemed %d", rec.Code, len(tokens.redeemed))
	}
}
