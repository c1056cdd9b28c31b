package apiwrite

import (
	"testing"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

func TestOnlyAJustInTimeUserTheSignInCouldHaveMadeIsAdopted(t *testing.T) {
	fi := iamv1.FederatedIdentity{IdentityProvider: "corp", Subject: "pat"}
	// user is the OrgUser a just-in-time sign-in through corp makes for pat,
	// changed by opts.
	user := func(opts ...st.UserOption) *iamv1.OrgUser {
		u := st.User("acme", "fed-x", "pat@acme.example", append([]st.UserOption{st.WithRoles("member"), st.WithGroups("staff"),
			func(u *iamv1.OrgUser) { u.Labels = map[string]string{IdentityProviderLabel: "corp"} }}, opts...)...)
		return &u
	}
	for _, c := range []struct {
		name   string
		change st.UserOption
		want   bool
	}{
		{"what a concurrent first sign-in created", func(*iamv1.OrgUser) {}, true},
		{"one that already carries this identity, whatever else changed since", func(u *iamv1.OrgUser) {
			st.WithFederatedIdentity(fi.IdentityProvider, fi.Organization, fi.Subject)(u)
			st.WithRoles("admin")(u)
		}, true},
		{"pre-created with an initial password", st.WithInitialPassword("pw", "password"), false},
		{"pre-created with a password already set", st.PasswordSet(), false},
		{"pre-created with other roles", st.WithRoles("admin"), false},
		{"pre-created with other groups", st.WithGroups("finance"), false},
		{"pre-created with application roles", st.WithApplicationRoles("portal", "buyer"), false},
		{"pre-created with another address", func(u *iamv1.OrgUser) { u.Spec.Email = "mallory@acme.example" }, false},
		{"pre-created with a username", st.WithUsername("pat"), false},
		{"pre-created with an invitation", st.Invited(), false},
		{"without the provider's label", func(u *iamv1.OrgUser) { delete(u.Labels, IdentityProviderLabel) }, false},
		{"labelled with another provider", func(u *iamv1.OrgUser) { u.Labels[IdentityProviderLabel] = "other" }, false},
		{"carrying another identity", func(u *iamv1.OrgUser) {
			u.Status.FederatedIdentities = []iamv1.FederatedIdentity{{IdentityProvider: "corp", Subject: "mallory"}}
		}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := adoptable(user(c.change), user(), fi); got != c.want {
				t.Errorf("adoptable = %v, want %v", got, c.want)
			}
		})
	}
}
