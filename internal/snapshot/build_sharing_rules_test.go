package snapshot_test

import (
	"slices"
	"testing"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/rules"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

// TestServedSharingIsTheRulesSharing checks that what the issuer serves
// (Client.SharedWith, from preorder spans) is exactly rules.Sharing.Includes,
// the rule by which the SharedApplication reconciler writes
// status.sharedWith, for every registering organization and many sharing
// specs: the status and the server cannot disagree.
func TestServedSharingIsTheRulesSharing(t *testing.T) {
	registrars := []string{"platform", "acme", "acme-eu"}
	refs := []string{"acme", "acme-eu", "acme/acme-eu", "acme-eu/acme-eu-de", "acme/acme-eu/acme-eu-de", "acme-us", "globex", "platform", "nowhere", "acme//x"}
	var sharings []*iamv1.ApplicationSharing
	sharings = append(sharings, nil, &iamv1.ApplicationSharing{Mode: iamv1.SharingModeAll})
	for i := range refs {
		for j := i; j < len(refs); j++ {
			for _, include := range []bool{false, true} {
				sharings = append(sharings, &iamv1.ApplicationSharing{Mode: iamv1.SharingModeSelected,
					Organizations: slices.Compact([]string{refs[i], refs[j]}), IncludeSubOrganizations: include})
			}
		}
	}
	for _, reg := range registrars {
		for _, sh := range sharings {
			app := st.App(reg, "portal")
			app.Spec.Sharing = sh
			s, _ := snapshot.Build(sharingWorld(app))
			c := s.Client(rules.ClientID("platform", reg, "portal"))
			if c == nil {
				t.Fatalf("%s: client not served", reg)
			}
			want := rules.ResolveSharing(sh, s.Org(reg).Path, func(p []string) bool {
				o := s.Org(p[len(p)-1])
				return o != nil && slices.Equal(o.Path, p)
			})
			for _, o := range s.Orgs() {
				if got := c.SharedWith(o.Name); got != want.Includes(o.Path) {
					t.Errorf("registered by %s, sharing %+v: served SharedWith(%s) = %v, rules say %v", reg, sh, o.Name, got, !got)
				}
			}
		}
	}
}
