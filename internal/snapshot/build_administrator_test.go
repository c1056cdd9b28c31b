package snapshot_test

import (
	"testing"

	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

// A user administers their organization (and may switch below it) as the
// operator's RBAC has it: the admin role, or a subject of their own
// organization's spec.admins; an ancestor's spec.admins name the
// ancestor's users, never the user of a descendant with the same username.
func TestAdministratorIsWhoTheOrganizationsRBACBinds(t *testing.T) {
	in := st.World(
		st.Org("platform", st.WithAdminUsers("root@platform.example")),
		st.Org("acme", st.WithParent("platform"), st.WithAdminUsers("Bob@acme.example"), st.WithAdminGroups("acme-it")),
		st.Org("acme-eu", st.WithParent("acme")),
		st.User("acme", "alice", "alice@acme.example", st.WithRoles("admin")),
		st.User("acme", "bob", "bob@acme.example"),
		st.User("acme", "dave", "dave@acme.example", st.WithGroups("acme-it")),
		st.User("acme", "erin", "erin@acme.example", st.WithGroups("staff")),
		// Named in acme's spec.admins, but a user of acme-eu.
		st.User("acme-eu", "bob-eu", "bob@acme.example"),
		// A group acme binds, written by acme-eu's admin into acme-eu's user:
		// it does not reach the token (rules.TokenGroups), so it makes no
		// administrator either.
		st.User("acme-eu", "mallory", "mallory@acme.example", st.WithGroups("acme-it")),
	)
	s := st.MustBuild(t, in)
	for _, c := range []struct {
		org, email string
		want       bool
	}{
		{"acme", "alice@acme.example", true},
		{"acme", "bob@acme.example", true},
		{"acme", "dave@acme.example", true},
		{"acme", "erin@acme.example", false},
		{"acme-eu", "bob@acme.example", false},
		{"acme-eu", "mallory@acme.example", false},
	} {
		u := s.UserByEmail(c.org, c.email)
		if u == nil {
			t.Fatalf("%s/%s is not served", c.org, c.email)
		}
		if u.Administrator != c.want {
			t.Errorf("%s/%s: Administrator = %v, want %v", c.org, c.email, u.Administrator, c.want)
		}
	}
}
