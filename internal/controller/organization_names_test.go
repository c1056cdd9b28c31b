package controller

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

// Names an organization admin could otherwise capture from below: a client
// ID, a sharing reference, a domain (issue 6 item 5).
var _ = Describe("Names that cannot be squatted", func() {
	BeforeEach(func() {
		ensureRoot()
		ensureOrg("nm-acme", rootName)
	})

	It("qualifies the client ID of an application below the root, so the root's application of that name keeps its own", func() {
		// The squatter registers first.
		createFrom(st.App("nm-acme", "nm-portal"))
		sq := eventuallyAppReady("nm-acme", "nm-portal")
		Expect(sq.Status.ClientID).To(Equal("nm-acme/nm-portal"))
		Expect(string(clientSecret("nm-acme", "nm-portal").Data[snapshot.ClientIDKey])).To(Equal("nm-acme/nm-portal"))

		createFrom(st.App(rootName, "nm-portal"))
		a := eventuallyAppReady(rootName, "nm-portal")
		Expect(a.Status.ClientID).To(Equal("nm-portal"))
		Expect(string(clientSecret(rootName, "nm-portal").Data[snapshot.ClientIDKey])).To(Equal("nm-portal"))
	})

	It("resolves a bare sharing reference to a direct child only, so an organization created deeper under that name gets nothing", func() {
		createFrom(st.App(rootName, "nm-shared", st.SharedWith(true, "nm-initech")))
		eventuallyAppCondition(rootName, "nm-shared", iamv1.ConditionReady, metav1.ConditionFalse, iamv1.ReasonSharedOrganizationNotFound)

		// An acme admin creates the listed name below acme.
		createFrom(st.Org("nm-initech", st.WithParent("nm-acme")))
		eventuallyReady("nm-acme", "nm-initech")
		// A new generation of the application is resolved with nm-initech
		// in the hierarchy: still unresolved.
		updateApp(rootName, "nm-shared", func(a *iamv1.SharedApplication) { a.Spec.DisplayName = "Shared, again" })
		a := eventuallyAppCondition(rootName, "nm-shared", iamv1.ConditionReady, metav1.ConditionFalse, iamv1.ReasonSharedOrganizationNotFound)
		Expect(a.Status.SharedWith).NotTo(ContainElement("nm-initech"))
		Expect(readyMessage(a.Status.Conditions)).To(ContainSubstring(`"nm-initech"`))

		// Named by its path, it is shared with.
		updateApp(rootName, "nm-shared", func(a *iamv1.SharedApplication) {
			a.Spec.Sharing.Organizations = []string{"nm-acme/nm-initech"}
		})
		a = eventuallyAppReady(rootName, "nm-shared")
		Expect(a.Status.SharedWith).To(Equal([]string{"nm-initech"}))
	})

	It("accepts sharing paths in the CRD and refuses malformed ones", func() {
		bad := st.ForCreate(st.App(rootName, "nm-bad", st.SharedWith(false, "nm-acme//x")))
		Expect(k8s.Create(ctx, bad)).To(MatchError(ContainSubstring("spec.sharing.organizations")))
	})

	It("under domainVerification None keeps a domain with the organization that holds it, against an older claimant", func() {
		updateOrg(systemNamespace, rootName, func(o *iamv1.Organization) { o.Spec.DomainVerification = iamv1.DomainVerificationNone })
		DeferCleanup(func() {
			updateOrg(systemNamespace, rootName, func(o *iamv1.Organization) { o.Spec.DomainVerification = "" })
		})
		// The squatter exists first, so it is the older organization.
		createFrom(st.Org("nm-squatter", st.WithParent("nm-acme")))
		eventuallyReady("nm-acme", "nm-squatter")
		createFrom(st.Org("nm-holder", st.WithParent(rootName), st.ClaimingDomains("nm-holder.example")))
		eventuallyCondition(rootName, "nm-holder", iamv1.ConditionDomainsVerified, metav1.ConditionTrue, iamv1.ReasonAllVerified)

		updateOrg("nm-acme", "nm-squatter", func(o *iamv1.Organization) { o.Spec.Domains = []iamv1.Domain{"nm-holder.example"} })
		sq := eventuallyCondition("nm-acme", "nm-squatter", iamv1.ConditionDomainsVerified, metav1.ConditionFalse, string(iamv1.DomainConflict))
		Expect(sq.Status.Domains).To(ConsistOf(HaveField("Reason", iamv1.DomainConflict)))
		Expect(sq.Status.Domains[0].Message).NotTo(ContainSubstring("nm-holder\""))
		h := eventuallyCondition(rootName, "nm-holder", iamv1.ConditionDomainsVerified, metav1.ConditionTrue, iamv1.ReasonAllVerified)
		Expect(h.Status.Domains).To(ConsistOf(HaveField("Verified", true)))
	})
})

var _ = Describe("Organization suspension", func() {
	It("ends every session of the subtree when spec.suspended is set, and keeps them ended when it is lifted", func() {
		ensureRoot()
		createFrom(st.Org("susp-acme", st.WithParent(rootName)))
		o := eventuallyReady(rootName, "susp-acme")
		Expect(o.Status.SessionsRevokedAt).To(BeNil())

		set := time.Now().Truncate(time.Second)
		updateOrg(rootName, "susp-acme", func(o *iamv1.Organization) { o.Spec.Suspended = true })
		o = eventuallyCondition(rootName, "susp-acme", iamv1.ConditionSuspended, metav1.ConditionTrue, iamv1.ReasonSuspended)
		Expect(o.Status.SessionsRevokedAt).NotTo(BeNil())
		Expect(o.Status.SessionsRevokedAt.Time).To(BeTemporally(">", set), "sessions up to the suspension are revoked")
		revoked := o.Status.SessionsRevokedAt.Time

		updateOrg(rootName, "susp-acme", func(o *iamv1.Organization) { o.Spec.Suspended = false })
		o = eventuallyCondition(rootName, "susp-acme", iamv1.ConditionSuspended, metav1.ConditionFalse, iamv1.ReasonNotSuspended)
		Expect(o.Status.SessionsRevokedAt).NotTo(BeNil())
		Expect(o.Status.SessionsRevokedAt.Time).To(BeTemporally("==", revoked), "lifting the suspension revives nothing")
	})
})
