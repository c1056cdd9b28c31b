package snapshot_test

import (
	"slices"
	"strings"
	"testing"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

// Issue 6 item 3: nothing a sub-organization's admin writes into an OrgUser
// reaches outside the subtree through the token.
func TestTokenClaimsStayInsideTheSubtree(t *testing.T) {
	in := st.World(
		st.Org("platform", st.WithAdminGroups("platform-team")),
		st.Org("acme", st.WithParent("platform"), st.WithDomains("acme.example"), st.WithAdminGroups("acme-admins")),
		st.Org("acme-eu", st.WithParent("acme"), st.WithDomains("eu.acme.example"), st.WithAdminGroups("eu-admins")),
		st.Org("globex", st.WithParent("platform"), st.WithDomains("globex.example"), st.WithAdminGroups("globex-admins")),
		st.User("acme-eu", "mallory", "mallory@globex.example", st.WithGroups("platform-team", "acme-admins", "eu-admins", "eu-team")),
		st.User("acme", "alice", "alice@eu.acme.example", st.WithGroups("eu-admins", "globex-admins")),
		st.User("platform", "root", "root@acme.example", st.WithGroups("platform-team", "globex-admins")),
	)
	s := st.MustBuild(t, in)
	for _, c := range []struct {
		user, email  string
		wantGroups   []string
		wantVerified bool
	}{
		{"mallory", "mallory@globex.example", []string{"eu-admins", "eu-team"}, false},
		{"alice", "alice@eu.acme.example", []string{"eu-admins"}, true},
		{"root", "root@acme.example", []string{"platform-team", "globex-admins"}, true},
	} {
		u := s.UserByID(string(st.UID("user", orgOf(in, c.user), c.user)))
		if u == nil {
			t.Fatalf("%s is not served", c.user)
		}
		if !slices.Equal(u.Groups, c.wantGroups) {
			t.Errorf("%s: groups = %q, want %q", c.user, u.Groups, c.wantGroups)
		}
		if u.EmailVerified != c.wantVerified {
			t.Errorf("%s: email_verified = %v, want %v", c.user, u.EmailVerified, c.wantVerified)
		}
	}
}

func orgOf(in snapshot.Input, user string) string {
	for _, u := range in.Users {
		if u.Name == user {
			return u.Namespace
		}
	}
	return ""
}

// Issue 6 item 11: an effective login.mfa Required is a Problem of every
// organization it applies to, saying where it comes from; Optional is not.
func TestRequiredMFAIsAProblemOfTheOrganizationsItAppliesTo(t *testing.T) {
	_, problems := snapshot.Build(st.World(
		st.Org("platform", st.WithLogin(iamv1.LoginSettings{MFA: iamv1.MFAOptional})),
		st.Org("acme", st.WithParent("platform"), st.WithLogin(iamv1.LoginSettings{MFA: iamv1.MFARequired})),
		st.Org("acme-eu", st.WithParent("acme")),
		st.Org("acme-dev", st.WithParent("acme"), st.WithLogin(iamv1.LoginSettings{MFA: iamv1.MFADisabled})),
		st.Org("globex", st.WithParent("platform")),
	))
	got := map[string]string{}
	for _, p := range problems {
		switch {
		case p.Reason == iamv1.ReasonMFAUnavailable:
			got[p.Object.Name] = p.Message
		case p.Reason == iamv1.ReasonPolicyWeakened && p.Object.Name == "acme-dev":
			// acme-dev's Disabled cannot loosen acme's Required
			// (build_login_floor_test.go).
		default:
			t.Errorf("unexpected problem %s: %s", p.Object, p.Message)
		}
	}
	if len(got) != 3 || got["acme"] == "" || got["acme-eu"] == "" || got["acme-dev"] == "" {
		t.Fatalf("MFAUnavailable for %v, want acme, acme-eu and acme-dev", got)
	}
	if !strings.Contains(got["acme-eu"], "inherited as Required from organization acme") || !strings.Contains(got["acme"], "password sign-ins to this organization are refused") {
		t.Errorf("messages: %q", got)
	}
	if !strings.Contains(got["acme-dev"], "inherited as Required from organization acme") {
		t.Errorf("acme-dev's message should name acme, whose setting applies: %q", got["acme-dev"])
	}
}

// Issue 6 item 12: a branding URL that the schema accepts but the login
// pages cannot use is a Problem of the organization, not a silent drop.
func TestBrandingURLThePagesCannotUseIsAProblem(t *testing.T) {
	s, problems := snapshot.Build(st.World(
		st.Org("platform", st.WithBranding(iamv1.Branding{LogoURL: "https://cdn.platform.example/logo.svg"})),
		st.Org("acme", st.WithParent("platform"), st.WithBranding(iamv1.Branding{
			LogoURL:    `https://cdn.acme.example/logo".svg`,
			FaviconURL: "https://cdn.acme.example/<favicon>.ico",
		})),
	))
	if got := problemList(problems); !slices.Equal(got, []string{"Organization platform/acme: InvalidSpec", "Organization platform/acme: InvalidSpec"}) {
		t.Fatalf("problems = %v", got)
	}
	for _, p := range problems {
		if !strings.Contains(p.Message, "login pages do not accept") || !strings.Contains(p.Message, "inherited value is shown instead") {
			t.Errorf("message: %s", p.Message)
		}
	}
	if got := s.Org("acme").Branding.LogoURL; got != "https://cdn.platform.example/logo.svg" {
		t.Errorf("acme logo = %q, want the inherited one", got)
	}
}
