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
