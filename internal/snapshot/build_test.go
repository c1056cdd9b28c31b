package snapshot_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/rules"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

// problemList renders problems as "Kind ns/name: Reason" for comparison.
func problemList(problems []snapshot.Problem) []string {
	out := []string{}
	for _, p := range problems {
		out = append(out, p.Object.String()+": "+p.Reason)
	}
	return out
}

func orgNames(orgs []*snapshot.Org) []string {
	out := []string{}
	for _, o := range orgs {
		out = append(out, o.Name)
	}
	return out
}

func TestOrganizations(t *testing.T) {
	tests := []struct {
		name  string
		world snapshot.Input
		check func(t *testing.T, s *snapshot.Snapshot)
	}{
		{
			name:  "the root takes neutral default branding and the documented login defaults when it sets nothing",
			world: st.World(st.Org("platform")),
			check: func(t *testing.T, s *snapshot.Snapshot) {
				root := s.Org("platform")
				if diff := cmp.Diff(snapshot.DefaultBranding, root.Branding); diff != "" {
					t.Errorf("branding (-want +got):\n%s", diff)
				}
				want := snapshot.Login{Password: true, MFA: iamv1.MFAOptional}
				if diff := cmp.Diff(want, root.Login); diff != "" {
					t.Errorf("login (-want +got):\n%s", diff)
				}
				if s.Root != root || root.Parent != nil || root.Depth != 0 || !slices.Equal(root.Path, []string{"platform"}) {
					t.Errorf("root placement wrong: %+v", root)
				}
			},
		},
		{
			name: "branding and login fields inherit from the nearest ancestor that sets them, across three levels",
			world: st.World(
				st.Org("platform",
					st.WithBranding(iamv1.Branding{PrimaryColor: "#111111", BackgroundColor: "#222222", LogoURL: "https://platform.example/logo.svg"}),
					st.WithLogin(iamv1.LoginSettings{SelfRegistration: st.Ptr(true), MFA: iamv1.MFADisabled})),
				st.Org("acme", st.WithParent("platform"),
					st.WithBranding(iamv1.Branding{PrimaryColor: "#333333", TextColor: "#444444"}),
					st.WithLogin(iamv1.LoginSettings{Password: st.Ptr(false), MFA: iamv1.MFAOptional})),
				st.Org("acme-eu", st.WithParent("acme"),
					st.WithBranding(iamv1.Branding{BackgroundColor: "#555555"}),
					st.WithLogin(iamv1.LoginSettings{AutoRedirect: st.Ptr(true)})),
			),
			check: func(t *testing.T, s *snapshot.Snapshot) {
				leaf := s.Org("acme-eu")
				wantBranding := snapshot.Branding{
					LogoURL:         "https://platform.example/logo.svg", // from the root
					PrimaryColor:    "#333333",                           // from acme
					BackgroundColor: "#555555",                           // its own
					TextColor:       "#444444",                           // from acme
				}
				if diff := cmp.Diff(wantBranding, leaf.Branding); diff != "" {
					t.Errorf("acme-eu branding (-want +got):\n%s", diff)
				}
				wantLogin := snapshot.Login{Password: false, MFA: iamv1.MFAOptional, AutoRedirect: true, SelfRegistration: true}
				if diff := cmp.Diff(wantLogin, leaf.Login); diff != "" {
					t.Errorf("acme-eu login (-want +got):\n%s", diff)
				}
				if got := s.Org("acme").Login.MFA; got != iamv1.MFAOptional {
					t.Errorf("acme MFA = %s, want Optional", got)
				}
				if got := s.Org("acme").Branding.TextColor; got != "#444444" {
					t.Errorf("acme text colour = %s", got)
				}
				if got := s.Org("platform").Branding.TextColor; got != snapshot.DefaultBranding.TextColor {
					t.Errorf("platform text colour = %s, want the default", got)
				}
				if !slices.Equal(leaf.Path, []string{"platform", "acme", "acme-eu"}) || leaf.Depth != 2 || leaf.Parent != s.Org("acme") {
					t.Errorf("acme-eu placement: path %v depth %d", leaf.Path, leaf.Depth)
				}
			},
		},
		{
			name: "suspending an organization suspends its whole subtree and nothing above or beside it",
			world: st.World(
				st.Org("platform"),
				st.Org("acme", st.WithParent("platform"), st.Suspended()),
				st.Org("acme-eu", st.WithParent("acme")),
				st.Org("acme-eu-de", st.WithParent("acme-eu")),
				st.Org("globex", st.WithParent("platform")),
			),
			check: func(t *testing.T, s *snapshot.Snapshot) {
				for name, want := range map[string]bool{"platform": false, "acme": true, "acme-eu": true, "acme-eu-de": true, "globex": false} {
					if got := s.Org(name).Suspended; got != want {
						t.Errorf("%s suspended = %v, want %v", name, got, want)
					}
				}
			},
		},
		{
			name: "organizations the reconciler has not placed are not served, and neither are their descendants",
			world: st.World(
				st.Org("platform"),
				st.Org("acme", st.WithParent("platform"), st.Unplaced()),
				st.Org("acme-eu", st.WithParent("acme")),
				st.Org("globex", st.WithParent("platform")),
			),
			check: func(t *testing.T, s *snapshot.Snapshot) {
				if got := orgNames(s.Orgs()); !slices.Equal(got, []string{"platform", "globex"}) {
					t.Errorf("served orgs = %v", got)
				}
			},
		},
		{
			name: "only verified domains that are still claimed route logins, case-insensitively and without subdomain fallback",
			world: func() snapshot.Input {
				in := st.World(
					st.Org("platform"),
					st.Org("acme", st.WithParent("platform"), st.WithDomains("acme.example"), st.WithPendingDomains("acme.test")),
					st.Org("globex", st.WithParent("platform"), st.WithDomains("globex.example")),
				)
				// globex dropped globex.example from spec; status is stale.
				in.Organizations[2].Spec.Domains = nil
				return in
			}(),
			check: func(t *testing.T, s *snapshot.Snapshot) {
				acme := s.Org("acme")
				for domain, want := range map[string]*snapshot.Org{
					"acme.example":    acme,
					"ACME.Example":    acme,
					"acme.example.":   acme,
					"acme.test":       nil,
					"eu.acme.example": nil,
					"globex.example":  nil,
				} {
					if got := s.OrgByDomain(domain); got != want {
						t.Errorf("OrgByDomain(%q) = %v, want %v", domain, got, want)
					}
				}
				if got := s.OrgForEmail("Alice@ACME.example"); got != acme {
					t.Errorf("OrgForEmail routed to %v", got)
				}
				if !slices.Equal(acme.Domains, []string{"acme.example"}) {
					t.Errorf("acme domains = %v", acme.Domains)
				}
			},
		},
		{
			name: "when two organizations both show a domain as verified the older one gets it",
			world: st.World(
				st.Org("platform"),
				st.Org("acme", st.WithParent("platform"), st.WithDomains("shared.example")),
				st.Org("globex", st.WithParent("platform"), st.WithDomains("shared.example")),
			),
			check: func(t *testing.T, s *snapshot.Snapshot) {
				if got := s.OrgByDomain("shared.example"); got != s.Org("acme") {
					t.Errorf("shared.example routes to %v, want acme", got)
				}
				if len(s.Org("globex").Domains) != 0 {
					t.Errorf("globex still lists %v", s.Org("globex").Domains)
				}
			},
		},
		{
			name: "where an organization is served comes from the namespaces, not from its status",
			world: func() snapshot.Input {
				in := st.World(st.Org("platform"), st.Org("acme", st.WithParent("platform")), st.Org("globex", st.WithParent("platform")))
				in.Organizations[2].Status = iamv1.OrganizationStatus{Path: []string{"platform", "acme", "globex"}} // stale
				in.Organizations[1].Status = iamv1.OrganizationStatus{}                                             // not written yet
				return in
			}(),
			check: func(t *testing.T, s *snapshot.Snapshot) {
				if g := s.Org("globex"); g == nil || !slices.Equal(g.Path, []string{"platform", "globex"}) {
					t.Errorf("globex = %v, want served at platform/globex", g)
				}
				if s.Org("acme") == nil {
					t.Error("acme, whose status is not written yet, is not served")
				}
			},
		},
		{
			name: "an organization without a namespace of its own is not served, nor its subtree",
			world: func() snapshot.Input {
				in := st.World(st.Org("platform"), st.Org("acme", st.WithParent("platform")),
					st.Org("eu", st.WithParent("acme")), st.Org("globex", st.WithParent("platform")))
				in.Namespaces = slices.DeleteFunc(in.Namespaces, func(ns corev1.Namespace) bool { return ns.Name == "acme" })
				return in
			}(),
			check: func(t *testing.T, s *snapshot.Snapshot) {
				if s.Org("acme") != nil || s.Org("eu") != nil || s.Org("globex") == nil {
					t.Errorf("acme = %v, eu = %v, globex = %v; want only globex", s.Org("acme"), s.Org("eu"), s.Org("globex"))
				}
			},
		},
		{
			name: "a namespace that is another's, or being deleted, serves nobody",
			world: func() snapshot.Input {
				platform := st.Org("platform")
				acme := st.Org("acme", st.WithParent("platform"))
				globex := st.Org("globex", st.WithParent("platform"))
				initech := st.Org("initech", st.WithParent("platform"))
				forged := st.OrgNamespace(&acme)
				forged.Annotations[iamv1.AnnotationOrganizationUID] = string(platform.UID) // annotated for someone else
				renamed := st.OrgNamespace(&globex)
				renamed.Labels[iamv1.LabelOrganization] = "acme" // labelled for someone else
				going := st.OrgNamespace(&initech)
				going.DeletionTimestamp = &metav1.Time{Time: st.T0}
				return st.World(platform, acme, globex, initech, forged, renamed, going)
			}(),
			check: func(t *testing.T, s *snapshot.Snapshot) {
				for _, name := range []string{"acme", "globex", "initech"} {
					if s.Org(name) != nil {
						t.Errorf("%s is served from a namespace that does not hold it", name)
					}
				}
				if s.Org("platform") == nil {
					t.Error("platform is not served")
				}
			},
		},
		{
			name: "of two organizations with one name, the one its namespace belongs to is served",
			world: func() snapshot.Input {
				in := st.World(st.Org("platform"), st.Org("acme", st.WithParent("platform")),
					st.Org("globex", st.WithParent("platform")), st.Org("acme", st.WithParent("globex")))
				// World gives the namespace to the first acme; hand it to the
				// second one, as if it had been made for that one.
				for i := range in.Namespaces {
					if in.Namespaces[i].Name == "acme" {
						in.Namespaces[i].Annotations[iamv1.AnnotationOrganizationUID] = string(in.Organizations[3].UID)
					}
				}
				return in
			}(),
			check: func(t *testing.T, s *snapshot.Snapshot) {
				if a := s.Org("acme"); a == nil || !slices.Equal(a.Path, []string{"platform", "globex", "acme"}) {
					t.Errorf("acme = %v, want served at platform/globex/acme", a)
				}
			},
		},
		{
			name:  "a second root in the system namespace is not served",
			world: st.World(st.Org("platform"), st.Org("other")),
			check: func(t *testing.T, s *snapshot.Snapshot) {
				if s.Root == nil || s.Root.Name != "platform" || s.Org("other") != nil {
					t.Errorf("root = %v, other = %v", s.Root, s.Org("other"))
				}
			},
		},
		{
			name: "Contains answers subtree membership for the organization itself, descendants, and nothing else",
			world: st.World(
				st.Org("platform"),
				st.Org("acme", st.WithParent("platform")),
				st.Org("acme-eu", st.WithParent("acme")),
				st.Org("globex", st.WithParent("platform")),
			),
			check: func(t *testing.T, s *snapshot.Snapshot) {
				acme := s.Org("acme")
				for name, want := range map[string]bool{"platform": false, "acme": true, "acme-eu": true, "globex": false} {
					if got := acme.Contains(s.Org(name)); got != want {
						t.Errorf("acme.Contains(%s) = %v, want %v", name, got, want)
					}
				}
				if got := orgNames(s.Orgs()); !slices.Equal(got, []string{"platform", "acme", "acme-eu", "globex"}) {
					t.Errorf("preorder = %v", got)
				}
				if s.OrgByID(acme.ID) != acme || acme.ID != string(acme.UID) {
					t.Errorf("OrgByID(%q) did not find acme", acme.ID)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, problems := snapshot.Build(tt.world)
			if len(problems) != 0 {
				t.Errorf("unexpected problems: %v", problemList(problems))
			}
			tt.check(t, s)
		})
	}
}

func TestLoginIdentityProviders(t *testing.T) {
	tests := []struct {
		name         string
		world        snapshot.Input
		org          string
		wantIdPs     []string // "owner/name"
		wantProblems []string
	}{
		{
			name: "an organization offers its own identity providers in the order it lists them",
			world: st.World(
				st.Org("platform"),
				st.Org("acme", st.WithParent("platform"), st.WithLogin(iamv1.LoginSettings{IdentityProviders: []string{"okta", "azure"}})),
				st.IdP("acme", "azure"), st.IdP("acme", "okta"),
			),
			org:      "acme",
			wantIdPs: []string{"acme/okta", "acme/azure"},
		},
		{
			name: "a descendant may list an ancestor's inheritable identity provider by name",
			world: st.World(
				st.Org("platform"),
				st.Org("acme", st.WithParent("platform")),
				st.Org("acme-eu", st.WithParent("acme"), st.WithLogin(iamv1.LoginSettings{IdentityProviders: []string{"corp"}})),
				st.IdP("platform", "corp", st.Inheritable()),
			),
			org:      "acme-eu",
			wantIdPs: []string{"platform/corp"},
		},
		{
			name: "an inherited list resolves in the child's context, so a parent's private provider is left out for the child",
			world: st.World(
				st.Org("platform"),
				st.Org("acme", st.WithParent("platform"), st.WithLogin(iamv1.LoginSettings{IdentityProviders: []string{"okta", "corp"}})),
				st.Org("acme-eu", st.WithParent("acme")),
				st.IdP("acme", "okta"),
				st.IdP("platform", "corp", st.Inheritable()),
			),
			org:      "acme-eu",
			wantIdPs: []string{"platform/corp"},
		},
		{
			name: "listing another organization's private provider is a problem of the organization that lists it",
			world: st.World(
				st.Org("platform"),
				st.Org("acme", st.WithParent("platform"), st.WithLogin(iamv1.LoginSettings{IdentityProviders: []string{"corp", "nope"}})),
				st.IdP("platform", "corp"),
			),
			org:          "acme",
			wantIdPs:     []string{},
			wantProblems: []string{"Organization platform/acme: InvalidSpec"},
		},
		{
			name: "a provider whose client secret is missing is not served, and the login page does not offer it",
			world: st.World(
				st.Org("platform"),
				st.Org("acme", st.WithParent("platform"), st.WithLogin(iamv1.LoginSettings{IdentityProviders: []string{"okta"}})),
				st.IdP("acme", "okta", st.WithIdPSecretRef("okta-secret", "client-secret")),
			),
			org:      "acme",
			wantIdPs: []string{},
			wantProblems: []string{
				"IdentityProvider acme/okta: SecretNotFound",
				"Organization platform/acme: InvalidSpec",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, problems := snapshot.Build(tt.world)
			if diff := cmp.Diff(tt.wantProblems, problemList(problems), cmpEmptyEqual); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			got := []string{}
			for _, idp := range s.Org(tt.org).Login.IdentityProviders {
				got = append(got, idp.Org.Name+"/"+idp.Name)
			}
			if diff := cmp.Diff(tt.wantIdPs, got); diff != "" {
				t.Errorf("offered IdPs (-want +got):\n%s", diff)
			}
		})
	}
}

var cmpEmptyEqual = cmp.Transformer("nilToEmpty", func(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
})

func TestIdentityProviderDetails(t *testing.T) {
	in := st.World(
		st.Org("platform"),
		st.Org("acme", st.WithParent("platform"), st.WithDomains("acme.example", "acme.test"), st.WithPendingDomains("acme.dev"),
			st.WithLogin(iamv1.LoginSettings{IdentityProviders: []string{"okta"}, Password: st.Ptr(false), AutoRedirect: st.Ptr(true)})),
		st.IdP("acme", "okta", st.WithIdPSecretRef("okta-secret", "client-secret"), st.WithIdPDomains("acme.example", "acme.dev")),
		st.IdP("acme", "second", st.WithIdPDomains("acme.example", "acme.test"), func(i *iamv1.IdentityProvider) { i.Spec.OIDC.PKCE = st.Ptr(false) }),
		st.Secret("acme", "okta-secret", "client-secret", "s3cret"),
	)
	s, problems := snapshot.Build(in)
	if diff := cmp.Diff([]string{"IdentityProvider acme/second: InvalidSpec"}, problemList(problems)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	acme := s.Org("acme")
	okta := s.IdentityProvider("acme", "okta")
	if okta == nil {
		t.Fatal("okta not served")
	}
	if okta.ClientSecret != "s3cret" || !okta.PKCE || !slices.Equal(okta.Scopes, []string{"openid", "email", "profile"}) ||
		okta.ClaimMappings.Subject != "sub" || okta.ProvisioningMode != iamv1.ProvisioningModeJustInTime || !okta.SyncProfileOnLogin {
		t.Errorf("okta defaults wrong: %+v", okta)
	}
	if !slices.Equal(okta.Domains, []string{"acme.example"}) {
		t.Errorf("okta domains = %v, want only the verified one", okta.Domains)
	}
	if got := acme.IdentityProviderForDomain("ACME.example"); got != okta {
		t.Errorf("home realm of acme.example = %v, want okta (the older)", got)
	}
	if got := acme.IdentityProviderForDomain("acme.test"); got == nil || got.Name != "second" {
		t.Errorf("home realm of acme.test = %v, want second", got)
	}
	if got := acme.Login.RedirectTarget(); got != okta {
		t.Errorf("auto-redirect target = %v, want okta", got)
	}
	if got := s.IdentityProvider("acme", "second"); got.PKCE != true || got.ClientSecret != "" {
		t.Errorf("a provider without a client secret must use PKCE even when switched off: %+v", got)
	}
	if got := s.IdentityProvider("platform", "okta"); got != nil {
		t.Errorf("the root resolves acme's provider: %v", got)
	}
}

// sharingWorld is platform > (acme > acme-eu > acme-eu-de), (globex),
// and acme > (acme-us), with applications registered in acme.
func sharingWorld(app iamv1.SharedApplication) snapshot.Input {
	return st.World(
		st.Org("platform"),
		st.Org("acme", st.WithParent("platform")),
		st.Org("acme-eu", st.WithParent("acme")),
		st.Org("acme-eu-de", st.WithParent("acme-eu")),
		st.Org("acme-us", st.WithParent("acme")),
		st.Org("globex", st.WithParent("platform")),
		app,
	)
}

func TestSharing(t *testing.T) {
	all := []string{"platform", "acme", "acme-eu", "acme-eu-de", "acme-us", "globex", "nowhere"}
	tests := []struct {
		name           string
		app            iamv1.SharedApplication
		wantShared     []string // orgs whose users may sign in, registering org included
		wantSharedWith []string // status.sharedWith
		wantProblems   []string
	}{
		{
			name:           "with mode None only the registering organization may sign in",
			app:            st.App("acme", "portal"),
			wantShared:     []string{"acme"},
			wantSharedWith: []string{},
		},
		{
			name:           "with mode All the registering organization's whole subtree may sign in, and nothing outside it",
			app:            st.App("acme", "portal", st.SharedWithAll()),
			wantShared:     []string{"acme", "acme-eu", "acme-eu-de", "acme-us"},
			wantSharedWith: []string{"acme-eu", "acme-eu-de", "acme-us"},
		},
		{
			name:           "with mode Selected only the listed organizations may sign in, not their children",
			app:            st.App("acme", "portal", st.SharedWith(false, "acme-eu")),
			wantShared:     []string{"acme", "acme-eu"},
			wantSharedWith: []string{"acme-eu"},
		},
		{
			name:           "with mode Selected and includeSubOrganizations the listed organizations' subtrees may sign in",
			app:            st.App("acme", "portal", st.SharedWith(true, "acme-eu", "acme-eu/acme-eu-de", "acme-us")),
			wantShared:     []string{"acme", "acme-eu", "acme-eu-de", "acme-us"},
			wantSharedWith: []string{"acme-eu", "acme-eu-de", "acme-us"},
		},
		{
			name:           "includeSubOrganizations reaches the listed organization's descendants but not its siblings",
			app:            st.App("acme", "portal", st.SharedWith(true, "acme-eu")),
			wantShared:     []string{"acme", "acme-eu", "acme-eu-de"},
			wantSharedWith: []string{"acme-eu", "acme-eu-de"},
		},
		{
			name:           "an organization outside the registering organization's subtree is a problem and is not shared with",
			app:            st.App("acme", "portal", st.SharedWith(true, "globex", "acme-us")),
			wantShared:     []string{"acme", "acme-us"},
			wantSharedWith: []string{"acme-us"},
			wantProblems:   []string{"SharedApplication acme/portal: SharedOrganizationNotFound"},
		},
		{
			name:           "a listed organization that does not exist is a problem and the others are still shared with",
			app:            st.App("acme", "portal", st.SharedWith(false, "nowhere", "acme-eu/acme-eu-de")),
			wantShared:     []string{"acme", "acme-eu-de"},
			wantSharedWith: []string{"acme-eu-de"},
			wantProblems:   []string{"SharedApplication acme/portal: SharedOrganizationNotFound"},
		},
		{
			name:           "an application registered at the root with mode All reaches every organization",
			app:            st.App("platform", "portal", st.SharedWithAll()),
			wantShared:     []string{"platform", "acme", "acme-eu", "acme-eu-de", "acme-us", "globex"},
			wantSharedWith: []string{"acme", "acme-eu", "acme-eu-de", "acme-us", "globex"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, problems := snapshot.Build(sharingWorld(tt.app))
			if diff := cmp.Diff(tt.wantProblems, problemList(problems), cmpEmptyEqual); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			id := rules.ClientID("platform", tt.app.Namespace, tt.app.Name)
			c := s.Client(id)
			if c == nil {
				t.Fatalf("client %s not served", id)
			}
			got := []string{}
			for _, org := range all {
				if c.SharedWith(org) {
					got = append(got, org)
				}
			}
			if diff := cmp.Diff(tt.wantShared, got); diff != "" {
				t.Errorf("SharedWith (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantSharedWith, c.SharedWithOrgs(), cmpEmptyEqual); diff != "" {
				t.Errorf("SharedWithOrgs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClients(t *testing.T) {
	tests := []struct {
		name         string
		world        snapshot.Input
		wantProblems []string
		check        func(t *testing.T, s *snapshot.Snapshot)
	}{
		{
			name:  "a confidential client takes its secret from the generated Secret and gets the documented defaults",
			world: st.World(st.Org("platform"), st.App("platform", "portal")),
			check: func(t *testing.T, s *snapshot.Snapshot) {
				c := s.Client("portal")
				if !c.HasSecret() || !c.CheckSecret("secret-of-portal") || c.CheckSecret("wrong") || c.CheckSecret("") {
					t.Error("secret check wrong")
				}
				if c.AccessTokenLifetime != 15*time.Minute || c.IDTokenLifetime != 15*time.Minute || c.RefreshTokenLifetime != 720*time.Hour {
					t.Errorf("lifetimes %v %v %v", c.AccessTokenLifetime, c.IDTokenLifetime, c.RefreshTokenLifetime)
				}
				if !slices.Equal(c.GrantTypes, []iamv1.GrantType{iamv1.GrantTypeAuthorizationCode, iamv1.GrantTypeRefreshToken}) {
					t.Errorf("grants %v", c.GrantTypes)
				}
				if c.AccessTokenFormat != iamv1.AccessTokenFormatJWT || c.Type != iamv1.ClientTypeConfidential || c.SharingMode != iamv1.SharingModeNone {
					t.Errorf("defaults wrong: %+v", c)
				}
				if !c.HasRedirectURI("https://portal.example/callback") || c.HasRedirectURI("https://portal.example/callback/") {
					t.Error("redirect URIs must match exactly")
				}
				if c.Org != s.Org("platform") {
					t.Errorf("registering org = %v", c.Org)
				}
			},
		},
		{
			name: "a clientSecretRef names the Secret whose client-secret key holds the secret",
			world: st.World(st.Org("platform"), st.App("platform", "portal", st.WithClientSecretRef("mine")),
				st.Secret("platform", "mine", "client-secret", "own-secret")),
			check: func(t *testing.T, s *snapshot.Snapshot) {
				if c := s.Client("portal"); !c.CheckSecret("own-secret") {
					t.Error("own secret not accepted")
				}
			},
		},
		{
			name:         "a confidential client whose Secret is missing is not served and says SecretNotFound",
			world:        st.World(st.Org("platform"), st.App("platform", "portal", st.WithoutGeneratedSecret())),
			wantProblems: []string{"SharedApplication platform/portal: SecretNotFound"},
			check: func(t *testing.T, s *snapshot.Snapshot) {
				if s.Client("portal") != nil {
					t.Error("served without a secret")
				}
			},
		},
		{
			name:  "a public client needs no secret and accepts none",
			world: st.World(st.Org("platform"), st.App("platform", "spa", st.Public())),
			check: func(t *testing.T, s *snapshot.Snapshot) {
				c := s.Client("spa")
				if c == nil || c.HasSecret() || c.CheckSecret("") || !c.IsPublic() {
					t.Errorf("public client wrong: %+v", c)
				}
			},
		},
		{
			name: "an organization's application named like a root application, even an older one, gets its own client ID and never the root's",
			world: st.World(st.Org("platform"), st.Org("acme", st.WithParent("platform")),
				st.App("acme", "portal", st.WithRedirectURIs("https://squatter.example/cb")),
				st.App("platform", "portal", st.WithRedirectURIs("https://portal.example/cb"))),
			check: func(t *testing.T, s *snapshot.Snapshot) {
				if c := s.Client("portal"); c == nil || c.Namespace != "platform" || c.HasRedirectURI("https://squatter.example/cb") {
					t.Errorf("client portal = %+v, want the root's application", c)
				}
				if c := s.Client("acme/portal"); c == nil || c.Namespace != "acme" || !c.HasRedirectURI("https://squatter.example/cb") {
					t.Errorf("client acme/portal = %+v, want acme's application", c)
				}
			},
		},
		{
			name: "redirect URIs that fail validation are dropped with a problem and the rest are served",
			world: st.World(st.Org("platform"),
				st.App("platform", "portal", st.WithRedirectURIs("https://ok.example/cb", "javascript:alert(1)", "http://evil.example/cb"))),
			wantProblems: []string{"SharedApplication platform/portal: InvalidSpec", "SharedApplication platform/portal: InvalidSpec"},
			check: func(t *testing.T, s *snapshot.Snapshot) {
				if got := s.Client("portal").RedirectURIs; !slices.Equal(got, []string{"https://ok.example/cb"}) {
					t.Errorf("redirect URIs = %v", got)
				}
			},
		},
		{
			name:         "an application in a namespace that belongs to no organization is not served",
			world:        st.World(st.Org("platform"), st.App("default", "portal")),
			wantProblems: []string{"SharedApplication default/portal: OrganizationNotFound"},
			check: func(t *testing.T, s *snapshot.Snapshot) {
				if s.Client("portal") != nil {
					t.Error("served")
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, problems := snapshot.Build(tt.world)
			if diff := cmp.Diff(tt.wantProblems, problemList(problems), cmpEmptyEqual); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			tt.check(t, s)
		})
	}
}

func TestUsers(t *testing.T) {
	base := []any{
		st.Org("platform"),
		st.Org("acme", st.WithParent("platform")),
		st.Org("globex", st.WithParent("platform")),
		st.App("platform", "portal", st.SharedWith(false, "acme"), st.DefiningRoles("buyer", "seller")),
		st.App("platform", "private", st.DefiningRoles("buyer")),
	}
	world := func(objs ...any) snapshot.Input { return st.World(append(slices.Clone(base), objs...)...) }
	tests := []struct {
		name         string
		world        snapshot.Input
		wantProblems []string
		check        func(t *testing.T, s *snapshot.Snapshot)
	}{
		{
			name:  "a user is found by ID, by email and by username, each without regard to case",
			world: world(st.User("acme", "alice", "Alice@Acme.example", st.WithUsername("Alice"))),
			check: func(t *testing.T, s *snapshot.Snapshot) {
				u := s.UserByID("uid-user-acme-alice")
				if u == nil || u.Org != s.Org("acme") {
					t.Fatalf("by ID: %v", u)
				}
				for _, found := range []*snapshot.User{
					s.UserByEmail("acme", "alice@acme.EXAMPLE"),
					s.UserByUsername("acme", "ALICE"),
					s.UserByLogin("acme", "alice"),
					s.UserByLogin("acme", "alice@acme.example"),
				} {
					if found != u {
						t.Errorf("lookup found %v", found)
					}
				}
				if s.UserByEmail("acme", "alice") != nil || s.UserByEmail("globex", "alice@acme.example") != nil {
					t.Error("email lookup matched a username or another organization")
				}
				if u.Username != "Alice" || u.Email != "Alice@Acme.example" {
					t.Errorf("profile: %+v", u)
				}
			},
		},
		{
			name: "of two users with the same email (ignoring case) the older is served and the newer gets DuplicateEmail",
			world: world(
				st.User("acme", "alice", "alice@acme.example"),
				st.User("acme", "alice2", "ALICE@acme.example"),
				st.User("globex", "alice", "alice@acme.example"), // another organization: fine
			),
			wantProblems: []string{"OrgUser acme/alice2: DuplicateEmail"},
			check: func(t *testing.T, s *snapshot.Snapshot) {
				if u := s.UserByEmail("acme", "alice@acme.example"); u == nil || u.Name != "alice" {
					t.Errorf("served %v", u)
				}
				if s.UserByID("uid-user-acme-alice2") != nil {
					t.Error("the newer duplicate is served")
				}
				if s.UserByEmail("globex", "alice@acme.example") == nil {
					t.Error("the same email in another organization is not served")
				}
			},
		},
		{
			name: "a username that equals another user's email or username gets DuplicateUsername",
			world: world(
				st.User("acme", "alice", "alice@acme.example", st.WithUsername("al")),
				st.User("acme", "bob", "bob@acme.example", st.WithUsername("alice@acme.example")),
				st.User("acme", "carol", "carol@acme.example", st.WithUsername("AL")),
				st.User("acme", "dave", "dave@acme.example", st.WithUsername("dave@acme.example")),
			),
			wantProblems: []string{"OrgUser acme/bob: DuplicateUsername", "OrgUser acme/carol: DuplicateUsername"},
		},
		{
			name: "an email that equals an older user's username gets DuplicateEmail",
			world: world(
				st.User("acme", "alice", "alice@acme.example", st.WithUsername("boss@acme.example")),
				st.User("acme", "boss", "boss@acme.example"),
			),
			wantProblems: []string{"OrgUser acme/boss: DuplicateEmail"},
		},
		{
			name: "an admin gets the organization's admin group and reserved group names are dropped",
			world: world(st.User("acme", "alice", "alice@acme.example", st.WithRoles("admin", "buyer"),
				st.WithGroups("purchasing", "system:masters", "orgkeeper:org:platform:admins", "System:Masters", "purchasing"))),
			check: func(t *testing.T, s *snapshot.Snapshot) {
				u := s.UserByEmail("acme", "alice@acme.example")
				if want := []string{"purchasing", "orgkeeper:org:acme:admins"}; !slices.Equal(u.Groups, want) {
					t.Errorf("groups = %v, want %v", u.Groups, want)
				}
				if !u.Admin {
					t.Error("not admin")
				}
			},
		},
		{
			name:  "a user without the admin role gets no admin group",
			world: world(st.User("acme", "bob", "bob@acme.example", st.WithGroups("orgkeeper:org:acme:admins"))),
			check: func(t *testing.T, s *snapshot.Snapshot) {
				u := s.UserByEmail("acme", "bob@acme.example")
				if len(u.Groups) != 0 || u.Admin {
					t.Errorf("groups = %v admin = %v", u.Groups, u.Admin)
				}
			},
		},
		{
			name: "application roles count only for applications shared with the organization and roles they define",
			world: world(st.User("acme", "alice", "alice@acme.example", st.WithRoles("member"),
				st.WithApplicationRoles("portal", "buyer", "admin-of-everything"),
				st.WithApplicationRoles("private", "buyer"),
				st.WithApplicationRoles("missing", "buyer"))),
			check: func(t *testing.T, s *snapshot.Snapshot) {
				u := s.UserByEmail("acme", "alice@acme.example")
				if diff := cmp.Diff(map[string][]string{"portal": {"buyer"}}, u.ApplicationRoles); diff != "" {
					t.Errorf("application roles (-want +got):\n%s", diff)
				}
				// Organization roles (member) are not application roles.
				if got := u.RolesFor("portal"); !slices.Equal(got, []string{"buyer"}) {
					t.Errorf("RolesFor(portal) = %v", got)
				}
				if got := u.RolesFor("private"); len(got) != 0 {
					t.Errorf("RolesFor(private) = %v", got)
				}
			},
		},
		{
			name: "the password hash and TOTP secret come from the user's credential Secret in the system namespace",
			world: world(
				st.User("acme", "alice", "alice@acme.example"),
				st.User("acme", "bob", "bob@acme.example"),
				st.CredentialSecret(st.UID("user", "acme", "alice"), "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", "JBSWY3DPEHPK3PXP"),
				// Same name in an organization's namespace: never read.
				st.Secret("acme", snapshot.CredentialSecretName("uid-user-acme-bob"), snapshot.CredentialPasswordKey, "$argon2id$forged"),
			),
			check: func(t *testing.T, s *snapshot.Snapshot) {
				alice := s.UserByEmail("acme", "alice@acme.example")
				if alice.PasswordHash != "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA" || alice.TOTPSecret != "JBSWY3DPEHPK3PXP" {
					t.Errorf("alice credentials: %q %q", alice.PasswordHash, alice.TOTPSecret)
				}
				if bob := s.UserByEmail("acme", "bob@acme.example"); bob.PasswordHash != "" {
					t.Errorf("bob's hash was read from his organization's namespace: %q", bob.PasswordHash)
				}
			},
		},
		{
			name:         "users of a namespace without a served organization are not served and say OrganizationNotFound",
			world:        world(st.Org("initech", st.WithParent("platform"), st.Unplaced()), st.User("initech", "pat", "pat@initech.example"), st.User("nowhere", "x", "x@x.example")),
			wantProblems: []string{"OrgUser initech/pat: OrganizationNotFound", "OrgUser nowhere/x: OrganizationNotFound"},
		},
		{
			name: "a federated identity finds its user only within the user's organization",
			world: world(
				st.IdP("platform", "corp", st.Inheritable()),
				st.User("acme", "alice", "alice@acme.example", st.WithFederatedIdentity("corp", "platform", "sub-1")),
				st.User("globex", "gina", "gina@globex.example", st.WithFederatedIdentity("corp", "platform", "sub-1")),
			),
			check: func(t *testing.T, s *snapshot.Snapshot) {
				corp := s.IdentityProvider("acme", "corp")
				if u := s.UserByFederatedIdentity("acme", corp, "sub-1"); u == nil || u.Name != "alice" {
					t.Errorf("acme: %v", u)
				}
				if u := s.UserByFederatedIdentity("globex", corp, "sub-1"); u == nil || u.Name != "gina" {
					t.Errorf("globex: %v", u)
				}
				if u := s.UserByFederatedIdentity("platform", corp, "sub-1"); u != nil {
					t.Errorf("platform: %v", u)
				}
			},
		},
		{
			name: "disabled and locked users are served with their state so that sign-in can say why it is refused",
			world: world(func() iamv1.OrgUser {
				u := st.User("acme", "alice", "alice@acme.example")
				u.Spec.Disabled = true
				u.Status.LockedUntil = &metav1.Time{Time: st.T0.Add(time.Minute)}
				return u
			}()),
			check: func(t *testing.T, s *snapshot.Snapshot) {
				u := s.UserByEmail("acme", "alice@acme.example")
				if !u.Disabled || !u.Locked(st.T0) || u.Locked(st.T0.Add(time.Minute)) {
					t.Errorf("disabled %v locked %v", u.Disabled, u.Locked(st.T0))
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, problems := snapshot.Build(tt.world)
			if diff := cmp.Diff(tt.wantProblems, problemList(problems), cmpEmptyEqual); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			if tt.check != nil {
				tt.check(t, s)
			}
		})
	}
}

func TestServedVersions(t *testing.T) {
	in := st.World(
		st.Org("platform"),
		st.Org("acme", st.WithParent("platform"), st.Unplaced()),
		st.User("platform", "alice", "alice@platform.example"),
		st.App("platform", "portal"),
		st.IdP("platform", "corp"),
	)
	in.Users[0].Generation = 7
	s, _ := snapshot.Build(in)

	tests := []struct {
		name string
		kind snapshot.Kind
		obj  metav1.Object
		want bool
	}{
		{"a served organization is served at its current generation", snapshot.KindOrganization, &in.Organizations[0], true},
		{"an organization that is not placed is not served", snapshot.KindOrganization, &in.Organizations[1], false},
		{"a served user is served at its current generation", snapshot.KindOrgUser, &in.Users[0], true},
		{"a served application is served", snapshot.KindSharedApplication, &in.Applications[0], true},
		{"a served identity provider is served", snapshot.KindIdentityProvider, &in.IdentityProviders[0], true},
		{"a newer generation of a served user is not served yet", snapshot.KindOrgUser, withGeneration(&in.Users[0], 8), false},
		{"a re-created user with the same name and generation is not the served one", snapshot.KindOrgUser, withUID(&in.Users[0], "new"), false},
		{"the same name under another kind is not served", snapshot.KindSharedApplication, &in.Users[0], false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.ServesObject(tt.kind, tt.obj); got != tt.want {
				t.Errorf("ServesObject = %v, want %v", got, tt.want)
			}
		})
	}
	if v, ok := s.ServedVersion(snapshot.ObjectKey{Kind: snapshot.KindOrgUser, Namespace: "platform", Name: "alice"}); !ok || v.Generation != 7 {
		t.Errorf("ServedVersion = %+v, %v", v, ok)
	}
}

func withGeneration(u *iamv1.OrgUser, g int64) *iamv1.OrgUser {
	c := u.DeepCopy()
	c.Generation = g
	return c
}

func withUID(u *iamv1.OrgUser, uid string) *iamv1.OrgUser {
	c := u.DeepCopy()
	c.UID = types.UID(uid)
	return c
}

func TestProblemsCarryTheObjectVersionAndAnActionableMessage(t *testing.T) {
	in := st.World(st.Org("platform"), st.App("platform", "portal", st.SharedWith(false, "nowhere")))
	in.Applications[0].Generation = 3
	_, problems := snapshot.Build(in)
	if len(problems) != 1 {
		t.Fatalf("problems = %v", problemList(problems))
	}
	p := problems[0]
	if p.Generation != 3 || p.UID != in.Applications[0].UID || !strings.Contains(p.Message, `"nowhere"`) {
		t.Errorf("problem = %+v", p)
	}
	if got := snapshot.ProblemsByObject(problems)[p.Object]; len(got) != 1 {
		t.Errorf("ProblemsByObject = %v", got)
	}
}

func TestBuildDoesNotModifyItsInput(t *testing.T) {
	in := st.World(
		st.Org("platform", st.WithBranding(iamv1.Branding{PrimaryColor: "#123456"})),
		st.Org("acme", st.WithParent("platform"), st.WithDomains("acme.example", "acme.example"),
			st.WithLogin(iamv1.LoginSettings{IdentityProviders: []string{"okta", "okta"}})),
		st.Org("acme-eu", st.WithParent("acme")),
		st.IdP("acme", "okta", st.WithIdPDomains("acme.example")),
		st.User("acme", "alice", "alice@acme.example", st.WithGroups("a", "system:x"), st.WithRoles("admin"), st.WithApplicationRoles("portal", "buyer")),
		st.App("platform", "portal", st.SharedWith(true, "acme", "acme-eu"), st.DefiningRoles("buyer")),
	)
	before := deepCopyInput(in)
	s, _ := snapshot.Build(in)
	if diff := cmp.Diff(before, in); diff != "" {
		t.Errorf("Build modified its input (-before +after):\n%s", diff)
	}
	// And the snapshot does not alias what a later change of the input
	// would touch.
	in.Organizations[1].Status.Path[0] = "changed"
	in.Users[0].Spec.Groups[0] = "changed"
	if s.Org("acme").Path[0] != "platform" || s.UserByEmail("acme", "alice@acme.example").Groups[0] != "a" {
		t.Error("the snapshot aliases its input")
	}
}

func deepCopyInput(in snapshot.Input) snapshot.Input {
	out := in
	out.Organizations = nil
	for i := range in.Organizations {
		out.Organizations = append(out.Organizations, *in.Organizations[i].DeepCopy())
	}
	out.Users = nil
	for i := range in.Users {
		out.Users = append(out.Users, *in.Users[i].DeepCopy())
	}
	out.Applications = nil
	for i := range in.Applications {
		out.Applications = append(out.Applications, *in.Applications[i].DeepCopy())
	}
	out.IdentityProviders = nil
	for i := range in.IdentityProviders {
		out.IdentityProviders = append(out.IdentityProviders, *in.IdentityProviders[i].DeepCopy())
	}
	out.Secrets = nil
	for i := range in.Secrets {
		out.Secrets = append(out.Secrets, *in.Secrets[i].DeepCopy())
	}
	return out
}

func TestLookupsOnANilSnapshotFindNothing(t *testing.T) {
	var s *snapshot.Snapshot
	if s.Org("a") != nil || s.Client("a") != nil || s.UserByID("a") != nil || s.UserByLogin("a", "b") != nil ||
		s.OrgForEmail("a@b.example") != nil || s.IdentityProvider("a", "b") != nil || s.Orgs() != nil || s.UserCount() != 0 {
		t.Error("nil snapshot found something")
	}
}
