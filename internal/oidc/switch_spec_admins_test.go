package oidc_test

import (
	"net/http"
	"testing"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
)

// Whoever the operator's RBAC lets administer an organization with kubectl
// may also switch into its sub-organizations: the admin role, a User of
// spec.admins, or a member of a Group of spec.admins. carol of acme has no
// role; she may switch only once acme's spec.admins names her.
func TestSpecAdminsSubjectsMaySwitchLikeTheAdminRole(t *testing.T) {
	for _, c := range []struct {
		name    string
		subject iamv1.Subject
		groups  []string
		want    int
	}{
		{"not named", iamv1.Subject{}, nil, http.StatusBadRequest},
		{"a User of spec.admins", iamv1.Subject{Kind: iamv1.SubjectUser, Name: "Carol@acme.example"}, nil, http.StatusOK},
		{"a Group of spec.admins", iamv1.Subject{Kind: iamv1.SubjectGroup, Name: "acme-it"}, []string{"acme-it"}, http.StatusOK},
		{"another Group", iamv1.Subject{Kind: iamv1.SubjectGroup, Name: "acme-it"}, []string{"acme-staff"}, http.StatusBadRequest},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := switchWorld(
				editOrg("acme", func(o *iamv1.Organization) {
					if c.subject.Name != "" {
						o.Spec.Admins = append(o.Spec.Admins, c.subject)
					}
				}),
				editUser("carol", func(u *iamv1.OrgUser) { u.Spec.Groups = c.groups }),
			)
			e := newEnv(t, w)
			home := e.signInTo("switcher", switcherRedirect, "acme", "carol")
			status, body := e.exchange("switcher", switchForm(home["access_token"].(string), accessTokenType, "acme-eu"))
			if status != c.want {
				t.Fatalf("exchange: %d %v, want %d", status, body, c.want)
			}
			if c.want != http.StatusOK {
				if body["error"] != "access_denied" {
					t.Errorf("error = %v, want access_denied", body["error"])
				}
				return
			}
			if at := jwtClaims(t, body["access_token"].(string)); at["org_handle"] != "acme-eu" || at["act"] == nil {
				t.Errorf("switched token: org_handle %v act %v", at["org_handle"], at["act"])
			}
		})
	}
}
