package snapshot_test

import (
	"fmt"
	"testing"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

// largeWorld is a root with 200 customers of 49 subsidiaries each (10,000
// organizations, each with a verified domain and settings to inherit),
// 20,000 users with credential Secrets, 50 applications in the root with
// every sharing mode, and an identity provider per customer.
func largeWorld() snapshot.Input {
	const customers, subsidiaries, usersTotal, apps = 200, 49, 20000, 50
	var objs []any
	objs = append(objs, st.Org("platform", st.WithBranding(iamv1.Branding{PrimaryColor: "#112233"})))
	var leaves, leafRefs, tier1 []string
	for c := range customers {
		name := fmt.Sprintf("customer-%d", c)
		tier1 = append(tier1, name)
		objs = append(objs, st.Org(name, st.WithParent("platform"), st.WithDomains(name+".example"),
			st.WithLogin(iamv1.LoginSettings{IdentityProviders: []string{"sso"}, MFA: iamv1.MFAOptional})))
		objs = append(objs, st.IdP(name, "sso", st.Inheritable(), st.WithIdPDomains(name+".example")))
		for s := range subsidiaries {
			sub := fmt.Sprintf("%s-sub-%d", name, s)
			leaves = append(leaves, sub)
			leafRefs = append(leafRefs, name+"/"+sub) // sharing names a grandchild by its path
			objs = append(objs, st.Org(sub, st.WithParent(name), st.WithDomains(sub+".example"),
				st.WithBranding(iamv1.Branding{TextColor: "#000000"})))
		}
	}
	for a := range apps {
		var opt st.AppOption
		switch a % 3 {
		case 0:
			opt = st.SharedWithAll()
		case 1:
			opt = st.SharedWith(true, tier1[a:a+20]...)
		default:
			opt = st.SharedWith(false, leafRefs[a*10:a*10+40]...)
		}
		objs = append(objs, st.App("platform", fmt.Sprintf("app-%d", a), opt, st.DefiningRoles("buyer", "seller")))
	}
	for u := range usersTotal {
		org := leaves[u%len(leaves)]
		name := fmt.Sprintf("user-%d", u)
		user := st.User(org, name, name+"@"+org+".example", st.WithRoles("member"), st.WithGroups("staff", "sales"),
			st.WithApplicationRoles(fmt.Sprintf("app-%d", u%apps), "buyer"))
		objs = append(objs, user, st.CredentialSecret(user.UID, "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", ""))
	}
	return st.World(objs...)
}

func TestLargeWorldIsServedWithoutProblems(t *testing.T) {
	if testing.Short() {
		t.Skip("large world")
	}
	s := st.MustBuild(t, largeWorld())
	if len(s.Orgs()) != 10001 || s.UserCount() != 20000 || len(s.Clients()) != 50 {
		t.Errorf("served %d orgs, %d users, %d clients", len(s.Orgs()), s.UserCount(), len(s.Clients()))
	}
	leaf := s.Org("customer-7-sub-3")
	if leaf.Login.MFA != iamv1.MFAOptional || leaf.Branding.PrimaryColor != "#112233" || len(leaf.Login.IdentityProviders) != 1 {
		t.Errorf("inheritance at scale: %+v %+v", leaf.Login, leaf.Branding)
	}
}

func BenchmarkBuild10kOrgs(b *testing.B) {
	in := largeWorld()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		s, problems := snapshot.Build(in)
		if len(problems) != 0 || len(s.Orgs()) != 10001 {
			b.Fatalf("%d problems, %d orgs", len(problems), len(s.Orgs()))
		}
	}
}

func BenchmarkSharedWith(b *testing.B) {
	s, _ := snapshot.Build(largeWorld())
	c := s.Client("app-1") // Selected with includeSubOrganizations
	b.ReportAllocs()
	for b.Loop() {
		if !c.SharedWith("customer-5-sub-7") {
			b.Fatal("not shared")
		}
	}
}
