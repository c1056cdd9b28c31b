package controller

import (
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/dnsverify"
	"github.com/orgkeeper/orgkeeper/internal/dnsverify/dnstest"
	"github.com/orgkeeper/orgkeeper/internal/rules"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

// domainRecheck is the suite's --domain-recheck-period: short, so that a
// withdrawn record shows within a spec.
const domainRecheck = 2 * time.Second

// dnsZone is the DNS server on loopback that the suite's reconciler asks.
var dnsZone *dnstest.Zone

func startDNSZone() dnsverify.TXTResolver {
	dnsZone = dnstest.Start(suiteT)
	r, err := dnsverify.New(dnsverify.Config{Server: dnsZone.Addr(), Timeout: 2 * time.Second})
	Expect(err).NotTo(HaveOccurred())
	return r
}

// publish puts org's verification record for domain into DNS, as the
// domain's owner would; the name's records are withdrawn when the spec ends.
func publish(org *iamv1.Organization, domain string) {
	GinkgoHelper()
	dnsZone.Add(rules.DomainChallengeName(domain), rules.DomainVerificationValue(string(org.UID), domain))
	DeferCleanup(func() { dnsZone.Remove(rules.DomainChallengeName(domain)) })
}

// domainOf returns the organization's status of domain d.
func domainOf(o *iamv1.Organization, d string) iamv1.DomainStatus {
	for _, st := range o.Status.Domains {
		if string(st.Name) == d {
			return st
		}
	}
	return iamv1.DomainStatus{}
}

// eventuallyDomain waits until the organization's status of domain d
// matches.
func eventuallyDomain(name, d string, m OmegaMatcher) *iamv1.Organization {
	GinkgoHelper()
	var o *iamv1.Organization
	Eventually(func(g Gomega) {
		o = newOrg()
		g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: rootName, Name: name}, o)).To(Succeed())
		g.Expect(domainOf(o, d)).To(m)
	}).Should(Succeed())
	return o
}

// routedTo is the organization that the served snapshot routes sign-ins
// with an email at domain to, or "".
func routedTo(domain string) string {
	if s := snapshots.Load(); s != nil {
		if o := s.OrgByDomain(domain); o != nil {
			return o.Name
		}
	}
	return ""
}

// domainEventsOf lists the reasons of the domain Events on an organization,
// in the order they were emitted.
func domainEventsOf(name string) []string {
	list := &eventsv1.EventList{}
	Expect(k8s.List(ctx, list, client.InNamespace(rootName))).To(Succeed())
	var out []string
	for _, e := range list.Items {
		if e.Regarding.Kind == "Organization" && e.Regarding.Name == name && strings.HasPrefix(e.Reason, "Domain") {
			out = append(out, e.Reason+": "+e.Note)
		}
	}
	return out
}

var verifiedDomain = And(HaveField("Verified", true), HaveField("Reason", iamv1.DomainReason("")))

func pendingDomain(reason iamv1.DomainReason) OmegaMatcher {
	return And(HaveField("Verified", false), HaveField("Reason", reason))
}

var _ = Describe("domain verification over DNS", func() {
	BeforeEach(func() { ensureRoot() })

	It("verifies a domain once its TXT record is published, routes it, and stops when the record is withdrawn", func() {
		const d = "dns-acme.example"
		org := createFrom(st.Org("dns-acme", st.WithParent(rootName), st.ClaimingDomains(d)))
		o := eventuallyDomain("dns-acme", d, pendingDomain(iamv1.DomainPending))
		Expect(domainOf(o, d).VerificationRecord).To(Equal(rules.DomainVerificationRecord(string(org.UID), d)))
		Expect(routedTo(d)).To(BeEmpty(), "an unverified domain never routes")

		By("publishing the record shown in status")
		publish(org, d)
		eventuallyDomain("dns-acme", d, verifiedDomain)
		eventuallyCondition(rootName, "dns-acme", iamv1.ConditionDomainsVerified, metav1.ConditionTrue, iamv1.ReasonAllVerified)
		Eventually(func() string { return routedTo(d) }).Should(Equal("dns-acme"))

		By("withdrawing it: the next re-check unverifies the domain and routing stops")
		dnsZone.Remove(rules.DomainChallengeName(d))
		o = eventuallyDomain("dns-acme", d, pendingDomain(iamv1.DomainPending))
		Expect(domainOf(o, d).Message).To(ContainSubstring("is gone"))
		Eventually(func() string { return routedTo(d) }).Should(BeEmpty())

		Eventually(func() []string { return domainEventsOf("dns-acme") }).Should(ConsistOf(
			HavePrefix(EventDomainPending), HavePrefix(EventDomainVerified), HavePrefix(EventDomainUnverified)))
	})

	It("does not verify a domain with another organization's record, or with none of its own", func() {
		const d = "dns-mimic.example"
		real := createFrom(st.Org("dns-real", st.WithParent(rootName), st.ClaimingDomains(d)))
		createFrom(st.Org("dns-mimic", st.WithParent(rootName), st.ClaimingDomains(d)))
		publish(real, d)
		eventuallyDomain("dns-real", d, verifiedDomain)
		eventuallyDomain("dns-mimic", d, pendingDomain(iamv1.DomainConflict))
		Eventually(func() string { return routedTo(d) }).Should(Equal("dns-real"))
		Consistently(func() string { return routedTo(d) }, 3*domainRecheck).Should(Equal("dns-real"))
	})

	It("gives a domain that two organizations race for to the first to verify, and hands it over when its record goes", func() {
		const d = "dns-race.example"
		// elder is older, which must not matter: younger verifies first.
		elder := createFrom(st.Org("dns-elder", st.WithParent(rootName), st.ClaimingDomains(d)))
		younger := createFrom(st.Org("dns-younger", st.WithParent(rootName), st.ClaimingDomains(d)))
		eventuallyDomain("dns-elder", d, pendingDomain(iamv1.DomainPending))

		publish(younger, d)
		eventuallyDomain("dns-younger", d, verifiedDomain)
		Eventually(func() string { return routedTo(d) }).Should(Equal("dns-younger"))

		By("the older organization publishing its record too, later")
		publish(elder, d)
		eventuallyDomain("dns-elder", d, pendingDomain(iamv1.DomainConflict))
		Consistently(func() string { return routedTo(d) }, 3*domainRecheck).Should(Equal("dns-younger"))
		Expect(domainOf(getOrg(rootName, "dns-younger"), d).Verified).To(BeTrue())

		By("the holder's record disappearing: the other claimant, whose record is there, gets the domain")
		dnsZone.Remove(rules.DomainChallengeName(d))
		dnsZone.Add(rules.DomainChallengeName(d), rules.DomainVerificationValue(string(elder.UID), d))
		eventuallyDomain("dns-younger", d, Not(verifiedDomain))
		eventuallyDomain("dns-elder", d, verifiedDomain)
		Eventually(func() string { return routedTo(d) }).Should(Equal("dns-elder"))
		Eventually(func() []string { return domainEventsOf("dns-elder") }).Should(ContainElements(
			HavePrefix(EventDomainConflict), HavePrefix(EventDomainVerified)))
	})

	It("gives a domain both records appear for at once to one organization only", func() {
		const d = "dns-tie.example"
		a := createFrom(st.Org("dns-tie-a", st.WithParent(rootName), st.ClaimingDomains(d)))
		b := createFrom(st.Org("dns-tie-b", st.WithParent(rootName), st.ClaimingDomains(d)))
		publish(a, d)
		publish(b, d)
		Eventually(func(g Gomega) {
			va := domainOf(get(newOrg(), rootName, "dns-tie-a"), d)
			vb := domainOf(get(newOrg(), rootName, "dns-tie-b"), d)
			g.Expect(va.Verified != vb.Verified).To(BeTrue(), "exactly one holds it: %+v %+v", va, vb)
			g.Expect([]iamv1.DomainReason{va.Reason, vb.Reason}).To(ContainElement(iamv1.DomainConflict))
			winner := "dns-tie-a"
			if vb.Verified {
				winner = "dns-tie-b"
			}
			g.Expect(routedTo(d)).To(Equal(winner), "the snapshot routes to the organization whose status shows it")
		}).Should(Succeed())
	})

	It("keeps the domains as they are while the resolver is down, says so, and recovers", func() {
		const d = "dns-down.example"
		org := createFrom(st.Org("dns-down", st.WithParent(rootName), st.ClaimingDomains(d, "dns-down-pending.example")))
		publish(org, d)
		eventuallyDomain("dns-down", d, verifiedDomain)

		dnsZone.Stop()
		DeferCleanup(func() { Expect(dnsZone.Restart()).To(Succeed()) })
		o := eventuallyDomain("dns-down", d, And(HaveField("Verified", true), HaveField("Message", ContainSubstring("no answer"))))
		Expect(domainOf(o, d).Message).To(ContainSubstring(dnsZone.Addr()), "the message names the resolver")
		o = eventuallyDomain("dns-down", "dns-down-pending.example", pendingDomain(iamv1.DomainFailed))
		Expect(domainOf(o, "dns-down-pending.example").Message).To(ContainSubstring("--dns-resolver"))
		Expect(routedTo(d)).To(Equal("dns-down"), "a domain whose check got no answer keeps routing")
		Eventually(func() []string { return domainEventsOf("dns-down") }).Should(ContainElements(
			HavePrefix(EventDomainCheckFailed), HavePrefix(EventDomainFailed)))

		Expect(dnsZone.Restart()).To(Succeed())
		eventuallyDomain("dns-down", d, And(verifiedDomain, HaveField("Message", "")))
		eventuallyDomain("dns-down", "dns-down-pending.example", pendingDomain(iamv1.DomainPending))
		eventuallyCondition(rootName, "dns-down", iamv1.ConditionDomainsVerified, metav1.ConditionFalse, string(iamv1.DomainPending))
		Expect(fmt.Sprint(domainEventsOf("dns-down"))).NotTo(ContainSubstring(EventDomainUnverified))
	})
})
