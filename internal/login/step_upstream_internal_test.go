package login

import (
	"testing"
	"time"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/connector"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

// decisionWorld: acme (acme.example verified, with the child acme-labs
// holding labs.example) and globex (globex.example); acme's provider corp;
// alice of acme linked to corp's "s-alice", bob of acme not linked, gina of
// globex, and lena of acme with an address at the child's domain.
func decisionWorld(t *testing.T, mode iamv1.ProvisioningMode) (*snapshot.Snapshot, *snapshot.IdentityProvider) {
	t.Helper()
	sameName := st.WithNames("Same Name", "", "")
	in := st.World(
		st.Org("platform"),
		st.Org("acme", st.WithParent("platform"), st.WithDomains("acme.example")),
		st.Org("acme-labs", st.WithParent("acme"), st.WithDomains("labs.example")),
		st.Org("globex", st.WithParent("platform"), st.WithDomains("globex.example")),
		st.IdP("acme", "corp", st.WithIdPDisplayName("Corp"), st.WithIssuer("https://corp.example"), st.WithIdPClientID("c"),
			st.WithProvisioning(mode), st.WithSyncProfileOnLogin(false)),
		st.User("acme", "alice", "alice@acme.example", sameName, st.WithFederatedIdentity("corp", "", "s-alice")),
		st.User("acme", "bob", "bob@acme.example", sameName),
		st.User("acme", "lena", "lena@labs.example", sameName),
		st.User("acme", "otto", "otto@elsewhere.example", sameName),
		st.User("globex", "gina", "gina@globex.example", sameName),
	)
	in.Now = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	s, _ := snapshot.Build(in)
	idp := s.IdentityProvider("acme", "corp")
	if idp == nil {
		t.Fatal("acme/corp is not served")
	}
	return s, idp
}

func TestDecideUpstreamUserLooksUpLinksAndProvisionsOnlyWithinTheOrganization(t *testing.T) {
	id := func(sub, email string, verified bool) connector.Identity {
		return connector.Identity{Subject: sub, Email: email, EmailVerified: verified, Name: "Same Name"}
	}
	cases := []struct {
		name       string
		mode       iamv1.ProvisioningMode
		org        string
		id         connector.Identity
		wantUser   string
		wantAction ProvisionAction
		refused    bool
	}{
		{"a linked identity is its user, without a write", iamv1.ProvisioningModeJustInTime, "acme", id("s-alice", "x@other.example", false), "alice", "", false},
		{"a verified email at the organization's verified domain links the existing user", iamv1.ProvisioningModeJustInTime, "acme", id("s-bob", "bob@acme.example", true), "bob", ProvisionLink, false},
		{"the email's case does not matter for linking", iamv1.ProvisioningModeJustInTime, "acme", id("s-bob", "BOB@Acme.Example", true), "bob", ProvisionLink, false},
		{"a verified email at a descendant's verified domain links too (the email_verified rule)", iamv1.ProvisioningModeJustInTime, "acme", id("s-lena", "lena@labs.example", true), "lena", ProvisionLink, false},
		{"an unverified email does not link, and no second account takes the address", iamv1.ProvisioningModeJustInTime, "acme", id("s-bob", "bob@acme.example", false), "", "", true},
		{"a verified email at a domain the organization does not hold does not link", iamv1.ProvisioningModeJustInTime, "acme", id("s-otto", "otto@elsewhere.example", true), "", "", true},
		{"a user linked at the provider already is not taken over by another account with its email", iamv1.ProvisioningModeJustInTime, "acme", id("s-mallory", "alice@acme.example", true), "", "", true},
		{"an unknown person is created with JustInTime", iamv1.ProvisioningModeJustInTime, "acme", id("s-new", "new@acme.example", true), "", ProvisionCreate, false},
		{"an unknown person is refused with ExistingUsersOnly", iamv1.ProvisioningModeExistingUsersOnly, "acme", id("s-new", "new@acme.example", true), "", "", true},
		{"ExistingUsersOnly still signs in linked users", iamv1.ProvisioningModeExistingUsersOnly, "acme", id("s-alice", "", false), "alice", "", false},
		{"an unknown person without an email cannot be created", iamv1.ProvisioningModeJustInTime, "acme", id("s-new", "", false), "", "", true},
		{"another organization's user is never found or linked, even with a verified email at its domain", iamv1.ProvisioningModeExistingUsersOnly, "acme", id("s-gina", "gina@globex.example", true), "", "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, idp := decisionWorld(t, c.mode)
			d := decideUpstreamUser(s, c.org, idp, c.id)
			if (d.refusal != "") != c.refused {
				t.Fatalf("refusal %q, want refused=%v", d.refusal, c.refused)
			}
			gotUser := ""
			if d.user != nil {
				gotUser = d.user.Name
				if d.user.Org.Name != c.org {
					t.Fatalf("decided for user %s of %s", d.user.Name, d.user.Org.Name)
				}
			}
			if gotUser != c.wantUser || d.action != c.wantAction {
				t.Fatalf("got user %q action %q, want %q %q", gotUser, d.action, c.wantUser, c.wantAction)
			}
		})
	}
}

func TestAProfileSyncIsAskedOnlyWhenTheProviderSaysSomethingNew(t *testing.T) {
	s, idp := decisionWorld(t, iamv1.ProvisioningModeJustInTime)
	idp.SyncProfileOnLogin = true
	same := connector.Identity{Subject: "s-alice", Email: "alice@acme.example", Name: "Same Name"}
	if d := decideUpstreamUser(s, "acme", idp, same); d.action != "" {
		t.Fatalf("an unchanged profile asks %q", d.action)
	}
	renamed := same
	renamed.Name = "New Name"
	if d := decideUpstreamUser(s, "acme", idp, renamed); d.action != ProvisionSync || d.user == nil || d.user.Name != "alice" {
		t.Fatalf("a new name should sync alice, got %+v", d)
	}
	idp.SyncProfileOnLogin = false
	if d := decideUpstreamUser(s, "acme", idp, renamed); d.action != "" {
		t.Fatalf("with syncProfileOnLogin off, got %q", d.action)
	}
}
