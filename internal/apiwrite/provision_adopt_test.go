package apiwrite

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
)

func TestOnlyAJustInTimeUserTheSignInCouldHaveMadeIsAdopted(t *testing.T) {
	fi := iamv1.FederatedIdentity{IdentityProvider: "corp", Subject: "pat"}
	wanted := func() *iamv1.OrgUser {
		return &iamv1.OrgUser{
			ObjectMeta: metav1.ObjectMeta{Name: "fed-x", Namespace: "acme", Labels: map[string]string{IdentityProviderLabel: "corp"}},
			Spec:       iamv1.OrgUserSpec{Email: "pat@acme.example", EmailVerified: true, Roles: []string{"member"}, Groups: []string{"staff"}},
		}
	}
	for _, c := range []struct {
		name   string
		change func(*iamv1.OrgUser)
		want   bool
	}{
		{"what a concurrent first sign-in created", func(*iamv1.OrgUser) {}, true},
		{"one that already carries this identity, whatever else changed since", func(u *iamv1.OrgUser) {
			u.Status.FederatedIdentities = []iamv1.FederatedIdentity{fi}
			u.Spec.Roles = []string{"admin"}
		}, true},
		{"pre-created with an initial password", func(u *iamv1.OrgUser) {
			u.Spec.InitialPasswordSecretRef = &iamv1.SecretKeyReference{Name: "pw", Key: "password"}
		}, false},
		{"pre-created with a password already set", func(u *iamv1.OrgUser) { u.Status.PasswordSet = true }, false},
		{"pre-created with other roles", func(u *iamv1.OrgUser) { u.Spec.Roles = []string{"admin"} }, false},
		{"pre-created with other groups", func(u *iamv1.OrgUser) { u.Spec.Groups = []string{"finance"} }, false},
		{"pre-created with application roles", func(u *iamv1.OrgUser) {
			u.Spec.ApplicationRoles = []iamv1.ApplicationRoleAssignment{{Application: "portal", Roles: []string{"buyer"}}}
		}, false},
		{"pre-created with another address", func(u *iamv1.OrgUser) { u.Spec.Email = "mallory@acme.example" }, false},
		{"pre-created with a username", func(u *iamv1.OrgUser) { u.Spec.Username = "pat" }, false},
		{"pre-created with an invitation", func(u *iamv1.OrgUser) { u.Spec.Invitation = &iamv1.OrgUserInvitation{Send: true} }, false},
		{"without the provider's label", func(u *iamv1.OrgUser) { delete(u.Labels, IdentityProviderLabel) }, false},
		{"labelled with another provider", func(u *iamv1.OrgUser) { u.Labels[IdentityProviderLabel] = "other" }, false},
		{"carrying another identity", func(u *iamv1.OrgUser) {
			u.Status.FederatedIdentities = []iamv1.FederatedIdentity{{IdentityProvider: "corp", Subject: "mallory"}}
		}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			found := wanted()
			c.change(found)
			if got := adoptable(found, wanted(), fi); got != c.want {
				t.Errorf("adoptable = %v, want %v", got, c.want)
			}
		})
	}
}
