package snapshottest_test

import (
	"testing"
	"time"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

// The builders are what every suite's objects come from; these tests pin
// the promises their documentation makes, so that a suite relying on one
// does not silently test something else.

func TestAnOrganizationsUIDNamesTheNamespaceItEndsUpIn(t *testing.T) {
	cases := []struct {
		name string
		org  iamv1.Organization
		want string
	}{
		{"a root is in the system namespace", st.Org("platform"), "uid-org-orgkeeper-system-platform"},
		{"a child is in its parent's namespace", st.Org("acme", st.WithParent("platform")), "uid-org-platform-acme"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := string(c.org.UID); got != c.want || c.org.UID != st.UID("org", c.org.Namespace, c.org.Name) {
				t.Fatalf("UID = %q, want %q (UID(\"org\", %q, %q))", got, c.want, c.org.Namespace, c.org.Name)
			}
		})
	}
}

func TestTheSnapshotServesWhatTheNewOptionsSet(t *testing.T) {
	locked := st.T0.Add(time.Hour)
	s := st.MustBuild(t, st.World(
		st.Org("platform", st.WithMFA(iamv1.MFAOptional), st.OrgSessionsRevokedAt(st.T0)),
		st.Org("acme", st.WithParent("platform"), st.WithDisplayName("ACME Corporation"),
			st.WithLogin(iamv1.LoginSettings{IdentityProviders: []string{"corp"}}), st.WithMFA(iamv1.MFAOptional)),
		st.User("acme", "alice", "alice@acme.example", st.WithNames("Alice Liddell", "Alice", "Liddell"),
			st.LockedUntil(locked), st.WithEmailVerified(false)),
		st.User("acme", "dan", "dan@acme.example", st.Disabled()),
		st.User("acme", "erin", "erin@acme.example", st.SessionsRevokedAt(locked)),
		st.App("platform", "portal", st.WithAppDisplayName("Partner Portal"), st.SharedWithAll(),
			st.WithPostLogoutRedirectURIs("https://portal.example/"), st.WithAccessTokenFormat(iamv1.AccessTokenFormatOpaque),
			st.DescribedRole("buyer", "Can place orders")),
		st.IdP("acme", "corp", st.WithIdPDisplayName("Corp SSO"), st.WithIssuer("https://sso.corp.example"),
			st.WithIdPClientID("orgkeeper-acme"), st.WithProvisioning(iamv1.ProvisioningModeJustInTime, "member"), st.WithSyncProfileOnLogin(true)),
	))
	acme := s.Org("acme")
	if acme == nil || acme.DisplayName != "ACME Corporation" {
		t.Fatalf("acme = %+v, want display name ACME Corporation", acme)
	}
	alice := s.UserByID(string(st.UID("user", "acme", "alice")))
	if alice == nil || alice.DisplayName != "Alice Liddell" || alice.GivenName != "Alice" || alice.FamilyName != "Liddell" ||
		!alice.LockedUntil.Equal(locked) || alice.EmailVerified {
		t.Fatalf("alice = %+v", alice)
	}
	if dan := s.UserByID(string(st.UID("user", "acme", "dan"))); dan == nil || !dan.Disabled {
		t.Fatalf("dan = %+v, want disabled", dan)
	}
	if erin := s.UserByID(string(st.UID("user", "acme", "erin"))); erin == nil || !erin.SessionsNotBefore.Equal(locked) {
		t.Fatalf("erin = %+v, want sessions revoked at %v", erin, locked)
	}
	if p := s.Org("platform"); p == nil || !p.SessionsNotBefore.Equal(st.T0) {
		t.Fatalf("platform = %+v, want sessions revoked at %v", p, st.T0)
	}
	portal := s.Client("portal")
	if portal == nil || portal.AccessTokenFormat != iamv1.AccessTokenFormatOpaque || len(portal.PostLogoutRedirectURIs) != 1 {
		t.Fatalf("portal = %+v", portal)
	}
	corp := s.IdentityProvider("acme", "corp")
	if corp == nil || corp.Issuer != "https://sso.corp.example" || corp.ClientID != "orgkeeper-acme" || corp.DisplayName != "Corp SSO" || !corp.SyncProfileOnLogin {
		t.Fatalf("corp = %+v", corp)
	}
}

func TestForCreateLeavesOutWhatTheAPIServerAndTheReconcilersWrite(t *testing.T) {
	in := st.World(
		st.Org("platform"),
		st.Org("acme", st.WithParent("platform"), st.WithDomains("acme.example"), st.Unplaced()),
		st.User("acme", "lou", "lou@acme.example", st.LockedUntil(st.T0)),
		st.App("platform", "spa", st.Public()),
		st.IdP("acme", "corp"),
	)
	org := st.ForCreate(in.Organizations[1])
	if org.UID != "" || org.Generation != 0 || !org.CreationTimestamp.IsZero() || org.Annotations != nil ||
		len(org.Status.Domains) != 0 || len(org.Status.Path) != 0 {
		t.Fatalf("organization for create = %+v", org)
	}
	if len(org.Spec.Domains) != 1 || org.Namespace != "platform" {
		t.Fatalf("the spec and the namespace must stay: %+v", org)
	}
	user := st.ForCreate(in.Users[0])
	if user.UID != "" || user.Status.LockedUntil != nil || user.Spec.Email != "lou@acme.example" {
		t.Fatalf("user for create = %+v", user)
	}
	app := st.ForCreate(in.Applications[0])
	if app.Annotations != nil || app.Spec.ClientType != iamv1.ClientTypePublic {
		t.Fatalf("application for create = %+v", app)
	}
	if idp := st.ForCreate(in.IdentityProviders[0]); idp.UID != "" || idp.Spec.OIDC == nil {
		t.Fatalf("identity provider for create = %+v", idp)
	}
	// The copy is deep: the world's objects keep what ForCreate dropped.
	org.Spec.Domains[0] = "changed.example"
	if in.Organizations[1].Spec.Domains[0] != "acme.example" || in.Organizations[1].UID == "" {
		t.Fatalf("ForCreate changed the world's organization: %+v", in.Organizations[1])
	}
}
