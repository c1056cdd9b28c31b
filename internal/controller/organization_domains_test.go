package controller

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/dnsverify"
	"github.com/orgkeeper/orgkeeper/internal/dnsverify/dnstest"
	"github.com/orgkeeper/orgkeeper/internal/rules"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

func TestResolveDomainsWeighsTheDNSCheck(t *testing.T) {
	const d iamv1.Domain = "acme.example"
	dns := iamv1.DomainVerificationDNS
	down := errors.New("looking up TXT: connection refused")
	claimant := st.Ptr(st.Org("acme", st.WithParent("platform"), st.ClaimingDomains(string(d))))
	holder := st.Ptr(st.Org("acme", st.WithParent("platform"), st.WithDomains(string(d))))
	otherHolder := st.Ptr(st.Org("globex", st.WithParent("platform"), st.OrgCreatedAt(t0.Add(time.Hour)), st.WithDomains(string(d))))
	cases := []struct {
		name        string
		org         *iamv1.Organization
		mode        iamv1.DomainVerificationMode
		others      []*iamv1.Organization
		check       domainCheck
		wantOK      bool
		wantReason  iamv1.DomainReason
		wantMessage string
	}{
		{"a claimant whose record is found is verified", claimant, dns, nil,
			domainCheck{proof: rules.ProofFound}, true, "", ""},
		{"a claimant whose record is absent waits for it", claimant, dns, nil,
			domainCheck{proof: rules.ProofAbsent}, false, iamv1.DomainPending, "publish the TXT record"},
		{"a claimant not checked yet waits", claimant, dns, nil,
			domainCheck{}, false, iamv1.DomainPending, "publish the TXT record"},
		{"a claimant whose check failed shows why and is not verified", claimant, dns, nil,
			domainCheck{err: down, failures: 1}, false, iamv1.DomainFailed, "connection refused"},
		{"a holder whose record is gone is no longer verified", holder, dns, nil,
			domainCheck{proof: rules.ProofAbsent}, false, iamv1.DomainPending, "is gone"},
		{"a domain whose record went away keeps saying so on later passes",
			st.Ptr(st.Org("acme", st.WithParent("platform"), st.ClaimingDomains(string(d)), func(o *iamv1.Organization) {
				o.Status.Domains = []iamv1.DomainStatus{{Name: d, Reason: iamv1.DomainPending, Message: recordGoneMessage}}
			})), dns, nil, domainCheck{proof: rules.ProofAbsent}, false, iamv1.DomainPending, "is gone"},
		{"a holder whose check failed stays verified and says so", holder, dns, nil,
			domainCheck{err: down, failures: 3}, true, "", "stays verified"},
		{"a found record does not take a domain another organization holds", claimant, dns,
			[]*iamv1.Organization{otherHolder}, domainCheck{proof: rules.ProofFound}, false, iamv1.DomainConflict, "another organization"},
		{"under None the DNS check is not asked", claimant, iamv1.DomainVerificationNone, nil,
			domainCheck{proof: rules.ProofAbsent}, true, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := resolveDomains(tc.org, tc.mode, map[iamv1.Domain][]*iamv1.Organization{d: tc.others},
				map[iamv1.Domain]domainCheck{d: tc.check})
			if len(got) != 1 || got[0].Verified != tc.wantOK || got[0].Reason != tc.wantReason {
				t.Fatalf("resolveDomains = %+v, want verified=%v reason=%q", got, tc.wantOK, tc.wantReason)
			}
			if !strings.Contains(got[0].Message, tc.wantMessage) || (tc.wantMessage == "" && got[0].Message != "") {
				t.Fatalf("message %q, want it to say %q", got[0].Message, tc.wantMessage)
			}
		})
	}
}

func TestDomainsCheckSaysWhenAVerifiedDomainCouldNotBeRechecked(t *testing.T) {
	c := domainsCheck([]iamv1.DomainStatus{{Name: "acme.example", Verified: true, Message: "verified; the latest re-check got no answer"}})
	if !c.ok || !strings.Contains(c.message, "acme.example") || !strings.Contains(c.message, "no answer") {
		t.Fatalf("domainsCheck = %+v, want passed with a message naming the domain", c)
	}
}

func TestDomainEvents(t *testing.T) {
	v := func(name string) iamv1.DomainStatus {
		return iamv1.DomainStatus{Name: iamv1.Domain(name), Verified: true}
	}
	vUnchecked := func(name string) iamv1.DomainStatus {
		return iamv1.DomainStatus{Name: iamv1.Domain(name), Verified: true, Message: "no answer"}
	}
	r := func(name string, reason iamv1.DomainReason) iamv1.DomainStatus {
		return iamv1.DomainStatus{Name: iamv1.Domain(name), Reason: reason}
	}
	cases := []struct {
		name          string
		before, after []iamv1.DomainStatus
		want          []string
	}{
		{"a new domain waiting for its record", nil, []iamv1.DomainStatus{r("a.example", iamv1.DomainPending)}, []string{EventDomainPending}},
		{"a pending domain that gets verified", []iamv1.DomainStatus{r("a.example", iamv1.DomainPending)},
			[]iamv1.DomainStatus{v("a.example")}, []string{EventDomainVerified}},
		{"a verified domain whose record went away", []iamv1.DomainStatus{v("a.example")},
			[]iamv1.DomainStatus{r("a.example", iamv1.DomainPending)}, []string{EventDomainUnverified}},
		{"a verified domain whose re-check failed", []iamv1.DomainStatus{v("a.example")},
			[]iamv1.DomainStatus{vUnchecked("a.example")}, []string{EventDomainCheckFailed}},
		{"a verified domain whose re-check keeps failing reports once", []iamv1.DomainStatus{vUnchecked("a.example")},
			[]iamv1.DomainStatus{vUnchecked("a.example")}, nil},
		{"a pending domain whose check fails", []iamv1.DomainStatus{r("a.example", iamv1.DomainPending)},
			[]iamv1.DomainStatus{r("a.example", iamv1.DomainFailed)}, []string{EventDomainFailed}},
		{"a domain that another organization took first", []iamv1.DomainStatus{r("a.example", iamv1.DomainPending)},
			[]iamv1.DomainStatus{r("a.example", iamv1.DomainConflict)}, []string{EventDomainConflict}},
		{"nothing changed, nothing reported", []iamv1.DomainStatus{v("a.example"), r("b.example", iamv1.DomainPending)},
			[]iamv1.DomainStatus{v("a.example"), r("b.example", iamv1.DomainPending)}, nil},
		{"each domain reports its own change", []iamv1.DomainStatus{v("a.example"), r("b.example", iamv1.DomainPending)},
			[]iamv1.DomainStatus{r("a.example", iamv1.DomainPending), v("b.example")}, []string{EventDomainUnverified, EventDomainVerified}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, e := range domainEvents(tc.before, tc.after) {
				got = append(got, e.reason)
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("events %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDomainCheckPause(t *testing.T) {
	const period = 10 * time.Minute
	fail := errors.New("down")
	cases := []struct {
		name  string
		check domainCheck
		held  bool
		want  time.Duration
	}{
		{"a held domain answers again after the period", domainCheck{proof: rules.ProofFound}, true, period},
		{"a domain not held is looked up at least every minute", domainCheck{proof: rules.ProofAbsent}, false, pendingRecheckCap},
		{"a first failure is retried after a second", domainCheck{err: fail, failures: 1}, true, domainFirstRetry},
		{"further failures double the pause", domainCheck{err: fail, failures: 4}, true, 8 * domainFirstRetry},
		{"the backoff of a held domain stops at the period", domainCheck{err: fail, failures: 40}, true, period},
		{"the backoff of a domain not held stops at a minute", domainCheck{err: fail, failures: 40}, false, pendingRecheckCap},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.check.pause(period, tc.held); got != tc.want {
				t.Fatalf("pause = %s, want %s", got, tc.want)
			}
		})
	}
}

// TestCheckDomainsAsksDNSOnlyWhenDue drives checkDomains against a real DNS
// server on loopback with an injected clock.
func TestCheckDomainsAsksDNSOnlyWhenDue(t *testing.T) {
	zone := dnstest.Start(t)
	res, err := dnsverify.New(dnsverify.Config{Server: zone.Addr(), Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	now := t0
	r := &OrganizationReconciler{DNS: res, DomainRecheckPeriod: 10 * time.Minute, Now: func() time.Time { return now }}
	const d iamv1.Domain = "acme.example"
	name := rules.DomainChallengeName(string(d))
	org := st.Ptr(st.Org("acme", st.WithParent("platform"), st.ClaimingDomains(string(d))))
	ctx := context.Background()

	checks, next := r.checkDomains(ctx, org)
	if checks[d].proof != rules.ProofAbsent || zone.Queries(name) != 1 || next != pendingRecheckCap {
		t.Fatalf("first pass: %+v, %d queries, next %s; want absent, 1 query, next in a minute", checks[d], zone.Queries(name), next)
	}
	zone.Add(name, "unrelated", rules.DomainVerificationValue(string(org.UID), string(d)))
	now = now.Add(30 * time.Second)
	if checks, _ = r.checkDomains(ctx, org); checks[d].proof != rules.ProofAbsent || zone.Queries(name) != 1 {
		t.Fatalf("a pass before the check is due must not ask DNS: %+v, %d queries", checks[d], zone.Queries(name))
	}
	org.Generation++ // the spec changed: a domain not held is asked at once
	if checks, _ = r.checkDomains(ctx, org); checks[d].proof != rules.ProofFound || zone.Queries(name) != 2 {
		t.Fatalf("after a spec change: %+v, %d queries; want found", checks[d], zone.Queries(name))
	}
	org.Generation++ // another change right away does not ask again
	if checks, _ = r.checkDomains(ctx, org); zone.Queries(name) != 2 {
		t.Fatalf("spec changes in a row must not ask DNS each time: %d queries", zone.Queries(name))
	}
	now = now.Add(forcedRecheckGap)
	org.Generation++
	if checks, _ = r.checkDomains(ctx, org); checks[d].proof != rules.ProofFound || zone.Queries(name) != 3 {
		t.Fatalf("after a spec change: %+v, %d queries; want found", checks[d], zone.Queries(name))
	}

	org.Status.Domains = []iamv1.DomainStatus{{Name: d, Verified: true}}
	now = now.Add(5 * time.Minute)
	if checks, next = r.checkDomains(ctx, org); zone.Queries(name) != 3 || next != 5*time.Minute {
		t.Fatalf("a held domain waits for the period: %d queries, next %s", zone.Queries(name), next)
	}
	zone.Stop()
	now = now.Add(5 * time.Minute)
	checks, next = r.checkDomains(ctx, org)
	if checks[d].err == nil || checks[d].failures != 1 || next != domainFirstRetry {
		t.Fatalf("resolver down: %+v, next %s; want a failure retried in a second", checks[d], next)
	}
	now = now.Add(domainFirstRetry)
	if checks, next = r.checkDomains(ctx, org); checks[d].failures != 2 || next != 2*domainFirstRetry {
		t.Fatalf("still down: %+v, next %s; want the pause doubled", checks[d], next)
	}
	if err := zone.Restart(); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * domainFirstRetry)
	if checks, next = r.checkDomains(ctx, org); checks[d].proof != rules.ProofFound || checks[d].failures != 0 || next != 10*time.Minute {
		t.Fatalf("back up: %+v, next %s; want found, no failures, next after the period", checks[d], next)
	}
}
