package snapshottest_test

import (
	"testing"
	"time"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

// The options the reconciler suites use pin what those suites rely on: a
// creation time the test chose survives World, a claimed domain is not
// verified, and a root of another system namespace is named for it.

func TestWorldKeepsACreationTimeTheTestChose(t *testing.T) {
	older := st.T0.Add(-48 * time.Hour)
	in := st.World(
		st.Org("platform"),
		st.Org("acme", st.WithParent("platform"), st.OrgCreatedAt(older)),
		st.User("acme", "alice", "alice@acme.example"),
		st.User("acme", "adam", "adam@acme.example", st.UserCreatedAt(older)),
	)
	if got := in.Organizations[1].CreationTimestamp.Time; !got.Equal(older) {
		t.Errorf("acme created at %s, want %s", got, older)
	}
	if got := in.Users[1].CreationTimestamp.Time; !got.Equal(older) {
		t.Errorf("adam created at %s, want %s", got, older)
	}
	if !in.Users[0].CreationTimestamp.After(older) {
		t.Errorf("alice, without a chosen time, was stamped %s", in.Users[0].CreationTimestamp)
	}
}

func TestAClaimedDomainIsNotVerified(t *testing.T) {
	claimed := st.Org("acme", st.WithParent("platform"), st.ClaimingDomains("acme.example"))
	verified := st.Org("acme", st.WithParent("platform"), st.WithDomains("acme.example"))
	for _, o := range []iamv1.Organization{claimed, verified} {
		if len(o.Spec.Domains) != 1 || o.Spec.Domains[0] != "acme.example" {
			t.Fatalf("spec.domains = %v", o.Spec.Domains)
		}
	}
	if len(claimed.Status.Domains) != 0 {
		t.Errorf("a claimed domain has a status: %+v", claimed.Status.Domains)
	}
	if len(verified.Status.Domains) != 1 || !verified.Status.Domains[0].Verified {
		t.Errorf("WithDomains did not verify: %+v", verified.Status.Domains)
	}
}

func TestARootOfAnotherSystemNamespaceIsNamedForIt(t *testing.T) {
	o := st.Org("signup-root", st.InSystemNamespace("signup-system"),
		st.WithSelfService(iamv1.SelfService{Enabled: true, Approval: iamv1.ApprovalManual}))
	if o.Namespace != "signup-system" || o.UID != st.UID("org", "signup-system", "signup-root") {
		t.Errorf("namespace %q, UID %q", o.Namespace, o.UID)
	}
	if c := st.ForCreate(o); c.Namespace != "signup-system" || c.Spec.SelfService == nil || !c.Spec.SelfService.Enabled {
		t.Errorf("ForCreate: %+v", c)
	}
}

func TestStatusOptionsSetWhatTheReconcilersWouldHave(t *testing.T) {
	u := st.User("acme", "ivy", "ivy@acme.example", st.Invited(), st.PasswordSet())
	if u.Spec.Invitation == nil || !u.Spec.Invitation.Send || !u.Status.PasswordSet {
		t.Errorf("spec.invitation %+v, status.passwordSet %v", u.Spec.Invitation, u.Status.PasswordSet)
	}
	if c := st.ForCreate(u); c.Status.PasswordSet || c.Spec.Invitation == nil {
		t.Errorf("ForCreate kept the status or dropped the spec: %+v", c)
	}
	o := st.Org("acme", st.WithParent("platform"), st.WithAdminGroups("acme-admins", "acme-ops"))
	want := []iamv1.Subject{{Kind: iamv1.SubjectGroup, Name: "acme-admins"}, {Kind: iamv1.SubjectGroup, Name: "acme-ops"}}
	if len(o.Spec.Admins) != 2 || o.Spec.Admins[0] != want[0] || o.Spec.Admins[1] != want[1] {
		t.Errorf("spec.admins = %+v, want %+v", o.Spec.Admins, want)
	}
}
