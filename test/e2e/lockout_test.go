package e2e

import (
	"net/http"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
)

var _ = Describe("Failed sign-ins", func() {
	It("lock the account after repeated failures, show it in OrgUser status, and refuse even the right password", func() {
		for i := range 5 {
			a := authorize(portal)
			f := signIn(a.URL, "lou@acme.example", "wrong-password")
			Expect(f.Response).To(BeNil(), "attempt %d got a response", i+1)
			Expect(f.Last.Body).To(Or(ContainSubstring("wrong"), ContainSubstring("Too many")), "attempt %d", i+1)
		}
		Eventually(func(g Gomega) {
			u := getUser("acme", "lou")
			g.Expect(u.Status.LockedUntil).NotTo(BeNil())
			g.Expect(u.Status.FailedLogins).To(BeNumerically(">=", 5))
			g.Expect(u.Status.State).To(Equal(iamv1.OrgUserStateLocked))
		}).Should(Succeed())
		// The administrator also sees it as a Warning Event on the OrgUser.
		Eventually(func(g Gomega) {
			list := &eventsv1.EventList{}
			g.Expect(k8s.List(ctx, list, client.InNamespace("acme"))).To(Succeed())
			g.Expect(list.Items).To(ContainElement(And(HaveField("Reason", "AccountLocked"), HaveField("Type", "Warning"),
				HaveField("Regarding.Name", "lou"), HaveField("Regarding.Kind", "OrgUser"))))
		}).Should(Succeed())

		a := authorize(portal)
		f := signIn(a.URL, "lou@acme.example", password)
		Expect(f.Response).To(BeNil(), "a locked account must not get a code")
		Expect(f.Last.Status).NotTo(Equal(http.StatusOK), "the page must say the account is locked:\n%s", f.Last.Body)
	})
})
