package snapshot_test

import (
	"testing"

	"github.com/orgkeeper/orgkeeper/internal/snapshot"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

// Names that an organization admin could capture from below (issue 6 item 5).

func TestASharingReferenceCannotBeCapturedByAnOrganizationCreatedElsewhere(t *testing.T) {
	// The root shares with "initech", which does not exist yet; an acme
	// admin then creates an organization called initech below acme.
	s, problems := snapshot.Build(st.World(
		st.Org("platform"),
		st.Org("acme", st.WithParent("platform")),
		st.Org("initech", st.WithParent("acme")),
		st.User("initech", "mallory", "mallory@initech.example"),
		st.App("platform", "portal", st.SharedWith(true, "initech")),
	))
	c := s.Client("portal")
	if c == nil {
		t.Fatal("portal not served")
	}
	if c.SharedWith("initech") {
		t.Fatal("the organization created below acme under the listed name is shared with")
	}
	if got := problemList(problems); len(got) != 1 || got[0] != "SharedApplication platform/portal: SharedOrganizationNotFound" {
		t.Fatalf("problems = %q, want the unresolved reference reported", got)
	}
	// Once the root's admins create it where the reference points, it is.
	s, _ = snapshot.Build(st.World(
		st.Org("platform"),
		st.Org("initech", st.WithParent("platform")),
		st.App("platform", "portal", st.SharedWith(true, "initech")),
	))
	if !s.Client("portal").SharedWith("initech") {
		t.Fatal("the direct child named by the reference is not shared with")
	}
}

func TestApplicationRolesNameTheApplicationByItsClientID(t *testing.T) {
	// acme and the root both have an application called portal; a user of
	// acme-eu gets roles of acme's by its client ID, and naming "portal"
	// means the root's, which is not shared with acme-eu.
	s := st.MustBuild(t, st.World(
		st.Org("platform"),
		st.Org("acme", st.WithParent("platform")),
		st.Org("acme-eu", st.WithParent("acme")),
		st.App("platform", "portal", st.DefiningRoles("buyer")),
		st.App("acme", "portal", st.DefiningRoles("buyer"), st.SharedWithAll()),
		st.User("acme-eu", "eve", "eve@acme-eu.example",
			st.WithApplicationRoles("acme/portal", "buyer"), st.WithApplicationRoles("portal", "buyer")),
	))
	u := s.UserByLogin("acme-eu", "eve@acme-eu.example")
	if u == nil {
		t.Fatal("eve not served")
	}
	if got := u.ApplicationRoles["acme/portal"]; len(got) != 1 || got[0] != "buyer" {
		t.Errorf("roles for acme/portal = %q, want [buyer]", got)
	}
	if got := u.ApplicationRoles["portal"]; len(got) != 0 {
		t.Errorf("roles for the root's portal, not shared with acme-eu = %q, want none", got)
	}
}
