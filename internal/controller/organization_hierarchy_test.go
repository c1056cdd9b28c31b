package controller

import (
	"slices"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/rules"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

var t0 = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

// created is st.OrgCreatedAt d after t0, for the rules that decide by age.
func created(d time.Duration) st.OrgOption { return st.OrgCreatedAt(t0.Add(d)) }

func TestAdminSubjects(t *testing.T) {
	root := st.Ptr(st.Org("platform", st.WithAdminGroups("platform-team")))
	acme := st.Ptr(st.Org("acme", st.WithParent("platform"), st.WithAdminUsers("alice"), st.WithAdminGroups("platform-team")))
	group := func(n string) rbacv1.Subject {
		return rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: n}
	}
	user := func(n string) rbacv1.Subject {
		return rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: n}
	}
	cases := []struct {
		name  string
		chain []*iamv1.Organization
		want  []rbacv1.Subject
	}{
		{"an organization without admins is still administered by its admin group",
			[]*iamv1.Organization{st.Ptr(st.Org("x"))}, []rbacv1.Subject{group("orgkeeper:orgkeeper:org:x:admins")}},
		{"a child is administered by its ancestors' admins first, then its own, without duplicates",
			[]*iamv1.Organization{root, acme},
			[]rbacv1.Subject{group("orgkeeper:orgkeeper:org:platform:admins"), group("orgkeeper:platform-team"), group("orgkeeper:orgkeeper:org:acme:admins"), user("orgkeeper:acme:alice")}},
		{"a User admin names a user of the organization that lists it, lower-cased, so another organization's user of that name is not bound",
			[]*iamv1.Organization{st.Ptr(st.Org("globex", st.WithParent("platform"), st.WithAdminUsers("Alice")))},
			[]rbacv1.Subject{group("orgkeeper:orgkeeper:org:globex:admins"), user("orgkeeper:globex:alice")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := adminSubjects(tc.chain); !slices.Equal(got, tc.want) {
				t.Fatalf("adminSubjects = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestResolveDomains(t *testing.T) {
	const d = iamv1.Domain("acme.example")
	// claimant is an organization that claims d, created at t0, which
	// status does not show holding it yet; holder is one that holds it.
	claimant := func(name string, opts ...st.OrgOption) *iamv1.Organization {
		return st.Ptr(st.Org(name, append([]st.OrgOption{st.WithParent("platform"), created(0), st.ClaimingDomains(string(d))}, opts...)...))
	}
	holder := func(name string, opts ...st.OrgOption) *iamv1.Organization {
		return st.Ptr(st.Org(name, append([]st.OrgOption{st.WithParent("platform"), created(0), st.WithDomains(string(d))}, opts...)...))
	}
	acme := claimant("acme")
	older := claimant("globex", created(-time.Hour))
	younger := claimant("initech", created(time.Hour))
	cases := []struct {
		name       string
		org        *iamv1.Organization
		mode       iamv1.DomainVerificationMode
		others     []*iamv1.Organization
		wantOK     bool
		wantReason iamv1.DomainReason
	}{
		{"without verification an unclaimed domain is verified", acme, iamv1.DomainVerificationNone, nil, true, ""},
		{"without verification the older claimant keeps the domain", acme, iamv1.DomainVerificationNone, []*iamv1.Organization{older}, false, iamv1.DomainConflict},
		{"without verification a younger claimant does not take the domain", acme, iamv1.DomainVerificationNone, []*iamv1.Organization{younger}, true, ""},
		{"with DNS verification a new domain waits for its TXT record", acme, iamv1.DomainVerificationDNS, nil, false, iamv1.DomainPending},
		{"with DNS verification a domain verified elsewhere is a conflict", acme, iamv1.DomainVerificationDNS,
			[]*iamv1.Organization{holder("initech")}, false, iamv1.DomainConflict},
		{"with DNS verification a domain this organization verified stays verified", holder("acme"),
			iamv1.DomainVerificationDNS, []*iamv1.Organization{older}, true, ""},
		{"the organization itself among the claimants is not a conflict", acme, iamv1.DomainVerificationNone, []*iamv1.Organization{acme}, true, ""},
		{"without verification an older claimant does not take a domain a younger one already holds", acme, iamv1.DomainVerificationNone,
			[]*iamv1.Organization{holder("initech", created(time.Hour))}, false, iamv1.DomainConflict},
		{"without verification a claimant with a smaller name does not take a held domain", claimant("aaa"),
			iamv1.DomainVerificationNone, []*iamv1.Organization{holder("zzz")}, false, iamv1.DomainConflict},
		{"without verification the holder keeps its domain against an older claimant", holder("acme"),
			iamv1.DomainVerificationNone, []*iamv1.Organization{older}, true, ""},
		{"an organization that dropped the domain from spec holds it no more", acme, iamv1.DomainVerificationNone,
			[]*iamv1.Organization{holder("globex", created(-time.Hour), func(o *iamv1.Organization) { o.Spec.Domains = nil })}, true, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := resolveDomains(tc.org, tc.mode, map[iamv1.Domain][]*iamv1.Organization{d: tc.others}, nil)
			if len(got) != 1 || got[0].Verified != tc.wantOK || got[0].Reason != tc.wantReason {
				t.Fatalf("resolveDomains = %+v, want verified=%v reason=%q", got, tc.wantOK, tc.wantReason)
			}
			if got[0].Reason == iamv1.DomainConflict {
				for _, o := range tc.others {
					if strings.Contains(got[0].Message, o.Name) {
						t.Fatalf("the conflict message %q names the holder %q, which the claimant's admins may not see", got[0].Message, o.Name)
					}
				}
			}
			if want := "_orgkeeper-challenge.acme.example TXT orgkeeper-verify="; !strings.HasPrefix(got[0].VerificationRecord, want) {
				t.Fatalf("verificationRecord %q does not start with %q", got[0].VerificationRecord, want)
			}
		})
	}
}

func TestObserveSuspension(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 500_000_000, time.UTC)
	earlier := metav1.NewTime(now.Add(-time.Hour).Truncate(time.Second))
	suspendedCond := metav1.Condition{Type: iamv1.ConditionSuspended, Status: metav1.ConditionTrue, Reason: iamv1.ReasonSuspended}
	cases := []struct {
		name          string
		suspended     bool
		conds         []metav1.Condition
		revoked       *metav1.Time
		wantRevokedAt *time.Time
		wantStatus    metav1.ConditionStatus
	}{
		{"a suspension seen for the first time ends every session now", true, nil, nil,
			ptrTime(rules.SessionsRevokedAt(now)), metav1.ConditionTrue},
		{"a new suspension moves an older revocation forward", true, []metav1.Condition{{Type: iamv1.ConditionSuspended, Status: metav1.ConditionFalse, Reason: iamv1.ReasonNotSuspended}},
			&earlier, ptrTime(rules.SessionsRevokedAt(now)), metav1.ConditionTrue},
		{"a suspension already seen keeps its revocation time on later passes", true, []metav1.Condition{suspendedCond}, &earlier,
			&earlier.Time, metav1.ConditionTrue},
		{"lifting the suspension keeps the revocation time, so old sessions stay ended", false, []metav1.Condition{suspendedCond}, &earlier,
			&earlier.Time, metav1.ConditionFalse},
		{"an organization never suspended revokes nothing", false, nil, nil, nil, metav1.ConditionFalse},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := st.Ptr(st.Org("acme", st.WithParent("platform")))
			o.Spec.Suspended = tc.suspended
			o.Status.Conditions = tc.conds
			o.Status.SessionsRevokedAt = tc.revoked
			observeSuspension(o, now)
			got := o.Status.SessionsRevokedAt
			switch {
			case tc.wantRevokedAt == nil && got != nil:
				t.Fatalf("sessionsRevokedAt = %v, want unset", got)
			case tc.wantRevokedAt != nil && (got == nil || !got.Time.Equal(*tc.wantRevokedAt)):
				t.Fatalf("sessionsRevokedAt = %v, want %v", got, *tc.wantRevokedAt)
			}
			if c := meta.FindStatusCondition(o.Status.Conditions, iamv1.ConditionSuspended); c == nil || c.Status != tc.wantStatus || c.ObservedGeneration != o.Generation {
				t.Fatalf("Suspended condition = %+v, want %s", c, tc.wantStatus)
			}
		})
	}
}

func ptrTime(t time.Time) *time.Time { return &t }

func TestResolveDomainsRefusesADomainTheServerWouldNotRoute(t *testing.T) {
	got := resolveDomains(st.Ptr(st.Org("acme", st.WithParent("platform"), st.ClaimingDomains("Acme.Example"))), iamv1.DomainVerificationNone, nil, nil)
	if len(got) != 1 || got[0].Verified || got[0].Reason != iamv1.DomainFailed {
		t.Fatalf("resolveDomains = %+v, want not verified, reason Failed", got)
	}
	if c := domainsCheck(got); c.ok || c.reason != string(iamv1.DomainFailed) {
		t.Fatalf("domainsCheck = %+v, want failed with reason Failed", c)
	}
}

func TestRootOnlyCheck(t *testing.T) {
	cases := []struct {
		name   string
		org    *iamv1.Organization
		isRoot bool
		wantOK bool
		field  string
	}{
		{"the root may set selfService and domainVerification", st.Ptr(st.Org("p",
			st.WithSelfService(iamv1.SelfService{Enabled: true}), st.WithDomainVerification(iamv1.DomainVerificationNone))),
			true, true, ""},
		{"a child with selfService is refused, naming the field",
			st.Ptr(st.Org("acme", st.WithParent("p"), st.WithSelfService(iamv1.SelfService{}))), false, false, "spec.selfService"},
		{"a child with domainVerification is refused, naming the field",
			st.Ptr(st.Org("acme", st.WithParent("p"), st.WithDomainVerification(iamv1.DomainVerificationDNS))), false, false, "spec.domainVerification"},
		{"a plain child passes", st.Ptr(st.Org("acme", st.WithParent("p"))), false, true, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := rootOnlyCheck(tc.org, tc.isRoot)
			if c.ok != tc.wantOK || !strings.Contains(c.message, tc.field) {
				t.Fatalf("rootOnlyCheck = %+v, want ok=%v mentioning %q", c, tc.wantOK, tc.field)
			}
		})
	}
}

func TestBlockedMessageNamesWhatIsInTheWay(t *testing.T) {
	msg := blockedMessage([]string{"acme-eu"}, []string{"bob", "alice"})
	for _, want := range []string{"acme-eu", "alice, bob", "Cascade"} {
		if !strings.Contains(msg, want) {
			t.Fatalf("message %q does not contain %q", msg, want)
		}
	}
	many := blockedMessage(nil, []string{"u1", "u2", "u3", "u4", "u5", "u6", "u7"})
	if !strings.Contains(many, "7 users") || strings.Contains(many, "u7") {
		t.Fatalf("long lists are shortened with a count: %q", many)
	}
}

func TestSetOrgConditions(t *testing.T) {
	ok := passed(iamv1.ReasonReconciled, "fine")
	cases := []struct {
		name        string
		out         orgOutcome
		wantReady   metav1.ConditionStatus
		wantReason  string
		wantNSReady metav1.ConditionStatus
	}{
		{"everything in place makes the organization Ready",
			orgOutcome{placement: ok, rootOnly: ok, namespace: ok, rbac: ok, served: ok, domains: passed(iamv1.ReasonNoDomains, "")},
			metav1.ConditionTrue, iamv1.ReasonReconciled, metav1.ConditionTrue},
		{"a pending domain does not keep the organization from being Ready",
			orgOutcome{placement: ok, rootOnly: ok, namespace: ok, rbac: ok, served: ok, domains: failed("Pending", "")},
			metav1.ConditionTrue, iamv1.ReasonReconciled, metav1.ConditionTrue},
		{"a problem the snapshot build found is Ready's reason",
			orgOutcome{placement: ok, rootOnly: ok, namespace: ok, rbac: ok, served: failed(iamv1.ReasonMFAUnavailable, "x")},
			metav1.ConditionFalse, iamv1.ReasonMFAUnavailable, metav1.ConditionTrue},
		{"a second root is not Ready and its namespace condition says why",
			orgOutcome{placement: failed(iamv1.ReasonMultipleRoots, "x")},
			metav1.ConditionFalse, iamv1.ReasonMultipleRoots, metav1.ConditionFalse},
		{"a namespace conflict is reported on Ready and NamespaceReady",
			orgOutcome{placement: ok, rootOnly: ok, namespace: failed(iamv1.ReasonNamespaceConflict, "x")},
			metav1.ConditionFalse, iamv1.ReasonNamespaceConflict, metav1.ConditionFalse},
		{"a blocked deletion comes first",
			orgOutcome{deletion: failed(iamv1.ReasonDeletionBlocked, "x")},
			metav1.ConditionFalse, iamv1.ReasonDeletionBlocked, metav1.ConditionUnknown},
		{"an unexpected error keeps Ready False with a retry message",
			orgOutcome{placement: ok, rootOnly: ok, namespace: ok, err: errTest},
			metav1.ConditionFalse, iamv1.ReasonReconciling, metav1.ConditionTrue},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			org := st.Ptr(st.Org("acme", st.WithParent("platform")))
			setOrgConditions(org, &tc.out)
			ready := meta.FindStatusCondition(org.Status.Conditions, iamv1.ConditionReady)
			ns := meta.FindStatusCondition(org.Status.Conditions, iamv1.ConditionNamespaceReady)
			if ready.Status != tc.wantReady || ready.Reason != tc.wantReason || ns.Status != tc.wantNSReady {
				t.Fatalf("Ready=%s/%s NamespaceReady=%s, want %s/%s %s", ready.Status, ready.Reason, ns.Status, tc.wantReady, tc.wantReason, tc.wantNSReady)
			}
			if ready.ObservedGeneration != org.Generation {
				t.Fatal("conditions must carry the generation they describe")
			}
		})
	}
}

type testError string

func (e testError) Error() string { return string(e) }

const errTest = testError("the API server is unavailable")

func TestRBACReadyCountsItsSubjectsInGoodEnglish(t *testing.T) {
	for n, want := range map[int]string{0: "subjects administer", 1: "subject administers", 2: "subjects administer"} {
		if got := plural(n, "subject administers", "subjects administer"); got != want {
			t.Errorf("plural(%d) = %q, want %q", n, got, want)
		}
	}
}
