package controller

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

var _ = Describe("IdentityProvider events", func() {
	const org = "ev-disco"
	BeforeEach(func() {
		ensureRoot()
		ensureOrg(org, rootName)
	})
	reasonsOn := func(uid types.UID) func(Gomega) []string {
		return func(g Gomega) []string {
			list := &eventsv1.EventList{}
			g.Expect(k8s.List(ctx, list, client.InNamespace(org))).To(Succeed())
			var reasons []string
			for _, e := range list.Items {
				if e.Regarding.UID == uid {
					reasons = append(reasons, e.Reason)
				}
			}
			return reasons
		}
	}

	It("warns when discovery starts failing and says so when it recovers", func() {
		u := newStoppableUpstream()
		idp := createFrom(st.IdP(org, "flaky-events", st.WithIssuer(u.url())))
		idpCondition(org, "flaky-events", iamv1.ConditionReady, metav1.ConditionTrue, iamv1.ReasonReconciled)
		Expect(reasonsOn(idp.UID)(Default)).NotTo(ContainElement(EventDiscoveryFailed), "a working provider raised a warning")

		u.stop()
		Eventually(reasonsOn(idp.UID)).WithTimeout(15 * discoveryRecheck).Should(ContainElement(EventDiscoveryFailed))
		u.start(u.addr)
		Eventually(reasonsOn(idp.UID)).WithTimeout(15 * discoveryRecheck).Should(ContainElement(EventDiscoveryRecovered))
	})
})
