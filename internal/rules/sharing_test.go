package rules

import (
	"slices"
	"strings"
	"testing"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
)

// hierarchy is platform > {acme > {acme-eu > acme-eu-west}, globex}, plus a
// sub-organization "globex" of acme would be impossible (names are unique),
// so a squatter below acme is called "initech".
var hierarchy = [][]string{
	{"platform"},
	{"platform", "acme"},
	{"platform", "acme", "acme-eu"},
	{"platform", "acme", "acme-eu", "acme-eu-west"},
	{"platform", "acme", "initech"},
	{"platform", "globex"},
}

func placedIn(paths [][]string) func([]string) bool {
	return func(p []string) bool {
		return slices.ContainsFunc(paths, func(q []string) bool { return slices.Equal(p, q) })
	}
}

func path(s string) []string { return strings.Split(s, "/") }

func TestSharingTarget(t *testing.T) {
	cases := []struct {
		name        string
		registering string
		ref         string
		want        string
		wantErr     bool
	}{
		{"a bare name names a direct child", "platform", "acme", "platform/acme", false},
		{"a path names an organization below a child", "platform", "acme/acme-eu", "platform/acme/acme-eu", false},
		{"references are relative to the registering organization", "platform/acme", "acme-eu", "platform/acme/acme-eu", false},
		{"the registering organization's own name names itself", "platform/acme", "acme", "platform/acme", false},
		{"an empty segment is refused", "platform", "acme//acme-eu", "", true},
		{"an upper-case name is refused", "platform", "Acme", "", true},
		{"a path deeper than the bound is refused", "platform", strings.Repeat("a/", MaxSharingReferenceDepth) + "a", "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := SharingTarget(path(c.registering), c.ref)
			if (err != nil) != c.wantErr {
				t.Fatalf("err = %v, want error %v", err, c.wantErr)
			}
			if err == nil && strings.Join(got, "/") != c.want {
				t.Fatalf("target = %q, want %q", strings.Join(got, "/"), c.want)
			}
		})
	}
}

func TestResolveSharing(t *testing.T) {
	sel := func(include bool, refs ...string) *iamv1.ApplicationSharing {
		return &iamv1.ApplicationSharing{Mode: iamv1.SharingModeSelected, Organizations: refs, IncludeSubOrganizations: include}
	}
	cases := []struct {
		name        string
		sharing     *iamv1.ApplicationSharing
		registering string
		placed      [][]string
		wantShared  []string // organizations of hierarchy that Includes
		unresolved  []string
	}{
		{"no sharing shares with the registering organization only", nil, "platform", hierarchy,
			[]string{"platform"}, nil},
		{"All shares with the whole subtree", &iamv1.ApplicationSharing{Mode: iamv1.SharingModeAll}, "platform/acme", hierarchy,
			[]string{"platform/acme", "platform/acme/acme-eu", "platform/acme/acme-eu/acme-eu-west", "platform/acme/initech"}, nil},
		{"a bare name shares with that direct child only", sel(false, "acme"), "platform", hierarchy,
			[]string{"platform", "platform/acme"}, nil},
		{"a bare name of a deeper organization resolves to nothing, so a squatter gains nothing",
			sel(false, "acme-eu"), "platform", hierarchy, []string{"platform"}, []string{"acme-eu"}},
		{"a name listed before it exists is not captured by an organization created elsewhere under that name",
			sel(false, "initech"), "platform", hierarchy, []string{"platform"}, []string{"initech"}},
		{"a path shares with the organization it names", sel(false, "acme/acme-eu"), "platform", hierarchy,
			[]string{"platform", "platform/acme/acme-eu"}, nil},
		{"includeSubOrganizations adds the targets' descendants", sel(true, "acme/acme-eu"), "platform", hierarchy,
			[]string{"platform", "platform/acme/acme-eu", "platform/acme/acme-eu/acme-eu-west"}, nil},
		{"listing the registering organization with includeSubOrganizations shares with its subtree",
			sel(true, "acme"), "platform/acme", hierarchy,
			[]string{"platform/acme", "platform/acme/acme-eu", "platform/acme/acme-eu/acme-eu-west", "platform/acme/initech"}, nil},
		{"a reference to an organization not created yet is unresolved and the others still resolve",
			sel(false, "globex", "hooli"), "platform", hierarchy, []string{"platform", "platform/globex"}, []string{"hooli"}},
		{"a malformed reference is unresolved", sel(false, "acme/"), "platform", hierarchy, []string{"platform"}, []string{"acme/"}},
		{"an unknown mode shares with the registering organization only",
			&iamv1.ApplicationSharing{Mode: "Everyone"}, "platform", hierarchy, []string{"platform"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := ResolveSharing(c.sharing, path(c.registering), placedIn(c.placed))
			var shared []string
			for _, p := range hierarchy {
				if s.Includes(p) {
					shared = append(shared, strings.Join(p, "/"))
				}
			}
			if !slices.Equal(shared, c.wantShared) {
				t.Errorf("shared with %q, want %q", shared, c.wantShared)
			}
			if !slices.Equal(s.Unresolved, c.unresolved) {
				t.Errorf("unresolved %q, want %q", s.Unresolved, c.unresolved)
			}
			if (s.UnresolvedMessage() == "") != (len(c.unresolved) == 0) {
				t.Errorf("message %q for unresolved %q", s.UnresolvedMessage(), c.unresolved)
			}
		})
	}
}
