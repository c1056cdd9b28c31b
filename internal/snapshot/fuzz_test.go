package snapshot_test

import (
	"fmt"
	"slices"
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

// FuzzBuild feeds Build inputs decoded from random bytes: names drawn from
// small pools so that clashes, cycles, stale paths, dangling references and
// invalid values are common. Build must not panic, must be deterministic,
// and the snapshot must keep its invariants.
func FuzzBuild(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x01\x05platform acme acme-eu globex"))
	f.Add([]byte{0xff, 0x03, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f})
	for i := range 8 {
		seed := make([]byte, 256)
		for j := range seed {
			seed[j] = byte(i*31 + j*7)
		}
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in := decodeInput(data)
		before := deepCopyInput(in)
		s, problems := snapshot.Build(in)
		if diff := cmp.Diff(before, in); diff != "" {
			t.Fatalf("Build modified its input:\n%s", diff)
		}
		_, again := snapshot.Build(in)
		if !slices.Equal(problemList(problems), problemList(again)) {
			t.Fatalf("Build is not deterministic:\n%v\n%v", problemList(problems), problemList(again))
		}
		checkInvariants(t, in, s)
	})
}

func checkInvariants(t *testing.T, in snapshot.Input, s *snapshot.Snapshot) {
	t.Helper()
	seen := map[string]bool{}
	for _, o := range s.Orgs() {
		if seen[o.Name] {
			t.Fatalf("org %q appears twice", o.Name)
		}
		seen[o.Name] = true
		if s.Org(o.Name) != o || len(o.Path) != o.Depth+1 || o.Path[len(o.Path)-1] != o.Name {
			t.Fatalf("org %q inconsistent: %+v", o.Name, o.Path)
		}
		if o.Parent != nil && (!slices.Equal(o.Parent.Path, o.Path[:len(o.Path)-1]) || !o.Parent.Contains(o) || o.Contains(o.Parent)) {
			t.Fatalf("org %q and its parent disagree", o.Name)
		}
		if o.Parent != nil && o.Parent.Suspended && !o.Suspended {
			t.Fatalf("org %q escapes its parent's suspension", o.Name)
		}
		if o.Branding.PrimaryColor == "" || o.Branding.BackgroundColor == "" || o.Branding.TextColor == "" || o.Login.MFA == "" {
			t.Fatalf("org %q has unset effective settings: %+v %+v", o.Name, o.Branding, o.Login)
		}
		for _, d := range o.Domains {
			if s.OrgByDomain(d) != o {
				t.Fatalf("domain %q of %q routes elsewhere", d, o.Name)
			}
		}
		for _, idp := range o.Login.IdentityProviders {
			if s.IdentityProvider(o.Name, idp.Name) != idp {
				t.Fatalf("org %q offers %s/%s, which it cannot resolve", o.Name, idp.Org.Name, idp.Name)
			}
		}
		_ = o.Login.RedirectTarget()
		_ = o.IdentityProviders()
	}
	if len(seen) > 0 && (s.Root == nil || s.Orgs()[0] != s.Root) {
		t.Fatal("orgs without the root first")
	}
	names := append(slices.Collect(func(yield func(string) bool) {
		for n := range seen {
			if !yield(n) {
				return
			}
		}
	}), "", "nowhere")
	for _, c := range s.Clients() {
		if s.Org(c.Org.Name) != c.Org || !c.SharedWith(c.Org.Name) {
			t.Fatalf("client %q: registering org not served or not shared with", c.ID)
		}
		shared := c.SharedWithOrgs()
		for _, n := range names {
			want := n == c.Org.Name || slices.Contains(shared, n)
			if got := c.SharedWith(n); got != want {
				t.Fatalf("client %q: SharedWith(%q) = %v but SharedWithOrgs = %v", c.ID, n, got, shared)
			}
			if want && !c.Org.Contains(s.Org(n)) {
				t.Fatalf("client %q is shared with %q outside its subtree", c.ID, n)
			}
		}
		if c.IsPublic() == c.HasSecret() {
			t.Fatalf("client %q: public=%v but hasSecret=%v", c.ID, c.IsPublic(), c.HasSecret())
		}
		_ = c.CheckSecret("x")
	}
	for i := range in.Users {
		u := &in.Users[i]
		served := s.ServesObject(snapshot.KindOrgUser, u)
		su := s.UserByEmail(u.Namespace, u.Spec.Email)
		unique := true
		for j := range in.Users {
			if o := &in.Users[j]; j != i && o.Namespace == u.Namespace && o.Name == u.Name {
				unique = false
			}
		}
		if served && unique && (su == nil || su.Name != u.Name) {
			t.Fatalf("user %s/%s served but not found by email", u.Namespace, u.Name)
		}
		if su != nil {
			for _, g := range su.Groups {
				if g == "" || (len(g) >= 7 && (g[:7] == "system:")) || (g != rules.AdminGroup(su.Org.Name) && len(g) >= 10 && g[:10] == "orgkeeper:") {
					t.Fatalf("user %q carries group %q", su.Name, g)
				}
			}
			for app := range su.ApplicationRoles {
				if c := s.Client(app); c == nil || !c.SharedWith(su.Org.Name) {
					t.Fatalf("user %q has roles for %q, which is not shared with its org", su.Name, app)
				}
			}
			_ = su.RolesFor("app")
			_ = s.UserByLogin(u.Namespace, u.Spec.Username)
		}
	}
	for i := range in.Applications {
		_ = s.ServesObject(snapshot.KindSharedApplication, &in.Applications[i])
	}
	_ = s.OrgForEmail("a@acme.example")
	checkPlacementInvariants(t, in, s)
}

// byteSource hands out bytes of fuzz data, then zeros.
type byteSource struct {
	data []byte
	i    int
}

func (b *byteSource) next() byte {
	if b.i >= len(b.data) {
		return 0
	}
	v := b.data[b.i]
	b.i++
	return v
}

func (b *byteSource) intn(n int) int { return int(b.next()) % n }
func (b *byteSource) bit() bool      { return b.next()&1 == 1 }

func pick[T any](b *byteSource, pool []T) T { return pool[b.intn(len(pool))] }

func (b *byteSource) some(pool []string, maxN int) []string {
	n := b.intn(maxN + 1)
	var out []string
	for range n {
		out = append(out, pick(b, pool))
	}
	return out
}

var (
	fzOrgs       = []string{"platform", "acme", "acme-eu", "globex", "initech", "", "default"}
	fzNamespaces = append(slices.Clone(fzOrgs), st.SystemNamespace)
	fzNames      = []string{"a", "b", "portal", "okta", "", "acme"}
	fzEmails     = []string{"alice@acme.example", "ALICE@acme.example", "bob@acme.example", "bad", "", "x@@y", "alice@ACME.example"}
	fzDomains    = []string{"acme.example", "ACME.example", "globex.example", "", "bad..", "acme.example."}
	fzColors     = []string{"", "#123456", "red", "#12345", "#ABCDEF"}
	fzURLs       = []string{"", "https://a.example/x", "javascript:alert(1)", "http://127.0.0.1/cb", "http://evil.example/", "com.app:/cb", "https://"}
	fzGroups     = []string{"", "eng", "system:masters", "orgkeeper:org:acme:admins", "SYSTEM:x"}
	fzRoles      = []string{"admin", "buyer", "", "seller"}
	fzSecretKeys = []string{snapshot.ClientSecretKey, "k", snapshot.CredentialPasswordKey, snapshot.CredentialTOTPKey}
	fzUIDs       = []types.UID{"", "u1", "u2", "u3", "u4", "u5", "u6", "u7"}
)

func decodeInput(data []byte) snapshot.Input {
	b := &byteSource{data: data}
	in := snapshot.Input{SystemNamespace: pick(b, []string{st.SystemNamespace, st.SystemNamespace, st.SystemNamespace, "", "platform"}), Version: int64(b.next())}
	meta := func() metav1.ObjectMeta {
		return metav1.ObjectMeta{
			Namespace:         pick(b, fzNamespaces),
			UID:               pick(b, fzUIDs),
			Generation:        int64(b.intn(4)),
			CreationTimestamp: metav1.NewTime(st.T0.Add(time.Duration(b.intn(4)) * time.Second)),
		}
	}
	for range b.intn(8) {
		o := iamv1.Organization{ObjectMeta: meta()}
		o.Name = pick(b, fzOrgs)
		if len(in.Organizations) == 0 && b.intn(4) != 0 { // usually a root to hang the rest on
			o.Namespace, o.Name = st.SystemNamespace, "platform"
		}
		o.Spec.Suspended = b.bit()
		for _, d := range b.some(fzDomains, 2) {
			o.Spec.Domains = append(o.Spec.Domains, iamv1.Domain(d))
			o.Status.Domains = append(o.Status.Domains, iamv1.DomainStatus{Name: iamv1.Domain(pick(b, fzDomains)), Verified: b.bit()})
		}
		if b.bit() {
			o.Spec.Branding = &iamv1.Branding{PrimaryColor: iamv1.Color(pick(b, fzColors)), TextColor: iamv1.Color(pick(b, fzColors)),
				LogoURL: iamv1.HTTPSURL(pick(b, fzURLs))}
		}
		if b.bit() {
			o.Spec.Login = &iamv1.LoginSettings{
				MFA:               pick(b, []iamv1.MFAPolicy{"", iamv1.MFARequired, "Sometimes"}),
				IdentityProviders: b.some(fzNames, 3),
				Password:          pick(b, []*bool{nil, st.Ptr(true), st.Ptr(false)}),
				AutoRedirect:      pick(b, []*bool{nil, st.Ptr(true), st.Ptr(false)}),
			}
		}
		in.Organizations = append(in.Organizations, o)
	}
	st.PlaceOrgs(in.Organizations)
	for i := range in.Organizations {
		o := &in.Organizations[i]
		if o.Status.Namespace == o.Name && b.intn(4) != 0 { // usually the namespace the reconciler made
			ns := st.OrgNamespace(o)
			switch b.intn(8) {
			case 0: // annotated for another organization, or for none
				ns.Annotations[iamv1.AnnotationOrganizationUID] = string(pick(b, fzUIDs))
			case 1: // labelled for another
				ns.Labels[iamv1.LabelOrganization] = pick(b, fzOrgs)
			case 2: // being deleted
				ns.DeletionTimestamp = &metav1.Time{Time: st.T0}
			case 3: // relabelled by another tool
				ns.Labels[iamv1.LabelManagedBy] = "Helm"
			}
			in.Namespaces = append(in.Namespaces, ns)
		}
		switch b.intn(6) {
		case 0: // a stale or forged status, which must not matter
			o.Status.Path = b.some(fzOrgs, 3)
			o.Status.Namespace = pick(b, fzOrgs)
		case 1: // a first status not written yet (held back)
			o.Status = iamv1.OrganizationStatus{}
		}
		for _, g := range b.some(fzGroups, 2) {
			o.Spec.Admins = append(o.Spec.Admins, iamv1.Subject{Kind: iamv1.SubjectGroup, Name: g})
		}
	}
	for range b.intn(8) {
		u := iamv1.OrgUser{ObjectMeta: meta()}
		u.Name = pick(b, fzNames)
		u.Spec.Email = pick(b, fzEmails)
		u.Spec.Username = pick(b, []string{"", "alice", "ALICE", "alice@acme.example"})
		u.Spec.Roles = b.some(fzRoles, 2)
		u.Spec.Groups = b.some(fzGroups, 3)
		for range b.intn(3) {
			u.Spec.ApplicationRoles = append(u.Spec.ApplicationRoles, iamv1.ApplicationRoleAssignment{Application: pick(b, fzNames), Roles: b.some(fzRoles, 2)})
		}
		for range b.intn(3) {
			u.Status.FederatedIdentities = append(u.Status.FederatedIdentities,
				iamv1.FederatedIdentity{IdentityProvider: pick(b, fzNames), Organization: pick(b, fzOrgs), Subject: pick(b, []string{"", "s1"})})
		}
		if b.bit() {
			u.Status.LockedUntil = &metav1.Time{Time: st.T0}
		}
		in.Users = append(in.Users, u)
	}
	for range b.intn(6) {
		a := iamv1.SharedApplication{ObjectMeta: meta()}
		a.Name = pick(b, fzNames)
		a.Spec.ClientType = pick(b, []iamv1.ClientType{"", iamv1.ClientTypePublic, iamv1.ClientTypeConfidential, "Weird"})
		a.Spec.RedirectURIs = b.some(fzURLs, 3)
		a.Spec.PostLogoutRedirectURIs = b.some(fzURLs, 2)
		for _, g := range b.some([]string{"authorization_code", "refresh_token", "client_credentials", "password", string(iamv1.GrantTypeTokenExchange)}, 3) {
			a.Spec.GrantTypes = append(a.Spec.GrantTypes, iamv1.GrantType(g))
		}
		for _, r := range b.some(fzRoles, 2) {
			a.Spec.Roles = append(a.Spec.Roles, iamv1.ApplicationRole{Name: r})
		}
		if b.bit() {
			a.Spec.Sharing = &iamv1.ApplicationSharing{
				Mode:                    pick(b, []iamv1.SharingMode{"", iamv1.SharingModeNone, iamv1.SharingModeAll, iamv1.SharingModeSelected, "Some"}),
				Organizations:           b.some(fzOrgs, 4),
				IncludeSubOrganizations: b.bit(),
			}
		}
		if b.bit() {
			a.Spec.ClientSecretRef = &iamv1.LocalSecretReference{Name: pick(b, fzNames)}
		}
		if b.bit() {
			d := func() *metav1.Duration {
				return pick(b, []*metav1.Duration{nil, {Duration: -time.Second}, {Duration: 0}, {Duration: time.Hour}, {Duration: 1 << 62}})
			}
			a.Spec.TokenLifetimes = &iamv1.TokenLifetimes{AccessToken: d(), IDToken: d(), RefreshToken: d()}
		}
		a.Spec.AccessTokenFormat = pick(b, []iamv1.AccessTokenFormat{"", iamv1.AccessTokenFormatOpaque, "Paper"})
		in.Applications = append(in.Applications, a)
	}
	for range b.intn(5) {
		p := iamv1.IdentityProvider{ObjectMeta: meta()}
		p.Name = pick(b, fzNames)
		p.Spec.Type = pick(b, []iamv1.IdentityProviderType{"", iamv1.IdentityProviderTypeOIDC, "SAML"})
		if b.intn(4) != 0 {
			p.Spec.OIDC = &iamv1.OIDCIdentityProvider{
				Issuer:   pick(b, []string{"https://idp.example", "", "http://idp.example", "https://idp.example?x=1"}),
				ClientID: pick(b, []string{"", "c"}),
				PKCE:     pick(b, []*bool{nil, st.Ptr(false)}),
			}
			if b.bit() {
				p.Spec.OIDC.ClientSecretRef = &iamv1.SecretKeyReference{Name: pick(b, fzNames), Key: pick(b, fzSecretKeys)}
			}
			if b.bit() {
				p.Spec.OIDC.ClaimMappings = &iamv1.ClaimMappings{Subject: pick(b, []string{"", "oid"})}
			}
		}
		p.Spec.Domains = b.some(fzDomains, 2)
		p.Spec.Inheritable = b.bit()
		if b.bit() {
			p.Spec.Provisioning = &iamv1.Provisioning{Mode: pick(b, []iamv1.ProvisioningMode{"", iamv1.ProvisioningModeExistingUsersOnly, "Maybe"})}
		}
		in.IdentityProviders = append(in.IdentityProviders, p)
	}
	for range b.intn(6) {
		name := pick(b, append(slices.Clone(fzNames), "portal-oidc-client", "b-oidc-client", snapshot.CredentialSecretName("u1")))
		sec := corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: pick(b, fzNamespaces), Name: name}}
		if b.bit() {
			sec.Data = map[string][]byte{pick(b, fzSecretKeys): []byte(pick(b, []string{"", "v"}))}
		} else {
			sec.StringData = map[string]string{pick(b, fzSecretKeys): "w"}
		}
		in.Secrets = append(in.Secrets, sec)
	}
	return in
}

func TestDecodeInputCoversTheModel(t *testing.T) {
	// The fuzz decoder must be able to produce served objects of every
	// kind, or the fuzzer explores only rejections.
	var orgs, users, clients int
	for i := range 2000 {
		data := make([]byte, 400)
		for j := range data {
			data[j] = byte((i*7919 + j*104729 + j*j*31) >> 3)
		}
		s, _ := snapshot.Build(decodeInput(data))
		orgs += len(s.Orgs())
		users += s.UserCount()
		clients += len(s.Clients())
	}
	if orgs == 0 || users == 0 || clients == 0 {
		t.Errorf("decoder serves too little: orgs %d users %d clients %d", orgs, users, clients)
	}
	t.Log(fmt.Sprintf("served over 2000 inputs: orgs %d users %d clients %d", orgs, users, clients))
}
