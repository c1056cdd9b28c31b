package controller

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

var _ = Describe("Organization events", func() {
	BeforeEach(func() { ensureRoot() })

	It("puts a DomainConflict Warning on the organization that claims a domain another one holds", func() {
		updateOrg(systemNamespace, rootName, func(o *iamv1.Organization) { o.Spec.DomainVerification = iamv1.DomainVerificationNone })
		DeferCleanup(func() {
			updateOrg(systemNamespace, rootName, func(o *iamv1.Organization) { o.Spec.DomainVerification = "" })
		})
		createFrom(st.Org("ev-acme", st.WithParent(rootName), st.ClaimingDomains("ev-acme.example")))
		eventuallyCondition(rootName, "ev-acme", iamv1.ConditionDomainsVerified, metav1.ConditionTrue, iamv1.ReasonAllVerified)
		late := createFrom(st.Org("ev-globex", st.WithParent(rootName), st.ClaimingDomains("ev-acme.example")))
		eventuallyCondition(rootName, "ev-globex", iamv1.ConditionDomainsVerified, metav1.ConditionFalse, string(iamv1.DomainConflict))

		Eventually(func(g Gomega) {
			list := &eventsv1.EventList{}
			g.Expect(k8s.List(ctx, list, client.InNamespace(rootName))).To(Succeed())
			var reasons []string
			for _, e := range list.Items {
				if e.Regarding.UID == late.UID {
					reasons = append(reasons, e.Reason)
					if e.Reason == EventDomainConflict {
						g.Expect(e.Type).To(Equal("Warning"))
						g.Expect(e.Note).To(ContainSubstring("ev-acme.example"))
					}
				}
			}
			g.Expect(reasons).To(ContainElement(EventDomainConflict))
		}).Should(Succeed())
	})
})
