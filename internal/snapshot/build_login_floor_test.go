package snapshot_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

// A sub-organization's admins may edit its spec.login, but not to loosen
// what an ancestor decided for the subtree.
func TestASubOrganizationCannotLoosenTheLoginPolicyItInherits(t *testing.T) {
	for _, c := range []struct {
		name         string
		root, child  iamv1.LoginSettings
		want         snapshot.Login
		wantProblems []string
	}{
		{
			name:         "mfa Disabled under a Required parent stays Required and says so",
			root:         iamv1.LoginSettings{MFA: iamv1.MFARequired},
			child:        iamv1.LoginSettings{MFA: iamv1.MFADisabled},
			want:         snapshot.Login{Password: true, MFA: iamv1.MFARequired},
			wantProblems: []string{"Organization platform/acme: PolicyWeakened"},
		},
		{
			name:         "mfa Optional under a Required parent stays Required and says so",
			root:         iamv1.LoginSettings{MFA: iamv1.MFARequired},
			child:        iamv1.LoginSettings{MFA: iamv1.MFAOptional},
			want:         snapshot.Login{Password: true, MFA: iamv1.MFARequired},
			wantProblems: []string{"Organization platform/acme: PolicyWeakened"},
		},
		{
			name:  "mfa Required under an Optional parent is the child's to choose",
			root:  iamv1.LoginSettings{MFA: iamv1.MFAOptional},
			child: iamv1.LoginSettings{MFA: iamv1.MFARequired},
			want:  snapshot.Login{Password: true, MFA: iamv1.MFARequired},
		},
		{
			name:         "password true under a federated-only parent stays off and says so",
			root:         iamv1.LoginSettings{Password: st.Ptr(false)},
			child:        iamv1.LoginSettings{Password: st.Ptr(true)},
			want:         snapshot.Login{Password: false, MFA: iamv1.MFAOptional},
			wantProblems: []string{"Organization platform/acme: PolicyWeakened"},
		},
		{
			name:  "password false under a parent that allows passwords is the child's to choose",
			root:  iamv1.LoginSettings{},
			child: iamv1.LoginSettings{Password: st.Ptr(false)},
			want:  snapshot.Login{Password: false, MFA: iamv1.MFAOptional},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, problems := snapshot.Build(st.World(
				st.Org("platform", st.WithLogin(c.root)),
				st.Org("acme", st.WithParent("platform"), st.WithLogin(c.child)),
				st.Org("acme-eu", st.WithParent("acme")),
			))
			// Required under Required reports MFAUnavailable too; only the
			// floor's problems are compared here.
			var got []string
			for _, p := range problemList(problems) {
				if strings.HasSuffix(p, iamv1.ReasonPolicyWeakened) {
					got = append(got, p)
				}
			}
			if diff := cmp.Diff(c.wantProblems, got, cmpEmptyEqual); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			for _, name := range []string{"acme", "acme-eu"} {
				if diff := cmp.Diff(c.want, s.Org(name).Login); diff != "" {
					t.Errorf("%s login (-want +got):\n%s", name, diff)
				}
			}
		})
	}
}
