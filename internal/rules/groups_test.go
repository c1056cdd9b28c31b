package rules

import (
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
)

func placedOrg(path []string, adminGroups ...string) iamv1.Organization {
	o := iamv1.Organization{ObjectMeta: metav1.ObjectMeta{Name: path[len(path)-1]}}
	o.Status.Path = path
	for _, g := range adminGroups {
		o.Spec.Admins = append(o.Spec.Admins, iamv1.Subject{Kind: iamv1.SubjectGroup, Name: g})
	}
	return o
}

func TestTokenGroups(t *testing.T) {
	root := []string{"platform"}
	acme := []string{"platform", "acme"}
	eu := []string{"platform", "acme", "acme-eu"}
	globex := []string{"platform", "globex"}
	orgs := []iamv1.Organization{
		placedOrg(root, "platform-team"),
		placedOrg(acme, "acme-admins", "shared"),
		placedOrg(eu, "eu-admins"),
		placedOrg(globex, "globex-admins", "shared"),
		{ObjectMeta: metav1.ObjectMeta{Name: "unplaced"}, Spec: iamv1.OrganizationSpec{Admins: []iamv1.Subject{{Kind: iamv1.SubjectGroup, Name: "eng"}}}},
		func() iamv1.Organization {
			o := placedOrg([]string{"platform", "users"})
			o.Spec.Admins = []iamv1.Subject{{Kind: iamv1.SubjectUser, Name: "engineering"}}
			return o
		}(),
	}
	bound := BindAdminGroups(orgs)
	cases := []struct {
		name        string
		groups      []string
		path        []string
		admin       bool
		wantKept    []string
		wantDropped []DroppedGroup
	}{
		{"a sub-organization's user cannot carry the root's admin group",
			[]string{"platform-team", "eu-team"}, eu, false, []string{"eu-team"}, []DroppedGroup{{"platform-team", "platform"}}},
		{"the comparison with a bound group ignores case",
			[]string{"Platform-Team"}, eu, false, []string{}, []DroppedGroup{{"Platform-Team", "platform"}}},
		{"a user of the root may carry any group bound in the tree",
			[]string{"platform-team", "acme-admins", "eu-admins"}, root, false, []string{"platform-team", "acme-admins", "eu-admins"}, nil},
		{"a group bound by the user's own organization or a descendant is kept",
			[]string{"acme-admins", "eu-admins"}, acme, false, []string{"acme-admins", "eu-admins"}, nil},
		{"a group bound by a sibling is dropped, naming the sibling",
			[]string{"globex-admins"}, acme, false, []string{}, []DroppedGroup{{"globex-admins", "globex"}}},
		{"a group bound by an ancestor is dropped for a descendant",
			[]string{"acme-admins"}, eu, false, []string{}, []DroppedGroup{{"acme-admins", "acme"}}},
		{"a group bound by the own organization and a sibling is dropped because of the sibling",
			[]string{"shared"}, acme, false, []string{}, []DroppedGroup{{"shared", "globex"}}},
		{"reserved prefixes are dropped in any case",
			[]string{"system:masters", "ORGKEEPER:org:platform:admins", "eng"}, acme, false, []string{"eng"},
			[]DroppedGroup{{"system:masters", ""}, {"ORGKEEPER:org:platform:admins", ""}}},
		{"a group bound only by an unplaced organization or as a User subject is kept",
			[]string{"eng", "engineering"}, globex, false, []string{"eng", "engineering"}, nil},
		{"empty names and duplicates are dropped silently",
			[]string{"", "x", "x", "platform-team", "platform-team"}, acme, false, []string{"x"}, []DroppedGroup{{"platform-team", "platform"}}},
		{"an administrator gets the organization's admin group",
			[]string{"x"}, eu, true, []string{"x", "orgkeeper:org:acme-eu:admins"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			kept, dropped := TokenGroups(c.groups, c.path, c.admin, bound)
			if !slices.Equal(kept, c.wantKept) {
				t.Errorf("kept = %q, want %q", kept, c.wantKept)
			}
			if !slices.Equal(dropped, c.wantDropped) {
				t.Errorf("dropped = %+v, want %+v", dropped, c.wantDropped)
			}
		})
	}
}

func TestInSubtree(t *testing.T) {
	for _, c := range []struct {
		name       string
		path, root []string
		want       bool
	}{
		{"an organization is in its own subtree", []string{"p", "a"}, []string{"p", "a"}, true},
		{"a descendant is in the subtree", []string{"p", "a", "b"}, []string{"p", "a"}, true},
		{"the parent is not", []string{"p"}, []string{"p", "a"}, false},
		{"a sibling whose name starts alike is not", []string{"p", "ab"}, []string{"p", "a"}, false},
		{"nothing is in an empty subtree", []string{"p"}, nil, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := InSubtree(c.path, c.root); got != c.want {
				t.Fatalf("InSubtree = %v", got)
			}
		})
	}
}
