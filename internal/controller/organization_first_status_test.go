package controller

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

// The projection serves a new organization as soon as its namespace exists
// (rules.Place), without waiting for a status saying where it sits, so the
// first status its reconciler writes already says Ready. (That a status that
// would only say WaitingForServer is held back is shown with a fake client,
// in TestANewOrganizationsStatusIsWrittenOnceWhenItIsServed: in a world this
// small the projection is usually quicker than the reconciler's pass.) The
// watch sees every version of the object the API server stores.
var _ = Describe("A new organization's first status", func() {
	BeforeEach(func() { ensureRoot() })

	It("says Ready at once: the projection serves it from its namespace", func() {
		wc, err := client.NewWithWatch(cfg, client.Options{Scheme: testScheme})
		Expect(err).NotTo(HaveOccurred())
		w, err := wc.Watch(ctx, &iamv1.OrganizationList{}, client.InNamespace(rootName),
			client.MatchingFields{"metadata.name": "fs-acme"})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(w.Stop)

		createFrom(st.Org("fs-acme", st.WithParent(rootName)))
		var statuses []iamv1.OrganizationStatus
		Eventually(func() bool {
			for {
				select {
				case ev := <-w.ResultChan():
					if o, ok := ev.Object.(*iamv1.Organization); ok && ev.Type != watch.Deleted && len(o.Status.Conditions) > 0 {
						statuses = append(statuses, o.Status)
					}
					continue
				default:
				}
				return len(statuses) > 0 && meta.IsStatusConditionTrue(statuses[len(statuses)-1].Conditions, iamv1.ConditionReady)
			}
		}).Should(BeTrue())
		first := statuses[0]
		Expect(meta.FindStatusCondition(first.Conditions, iamv1.ConditionReady)).To(HaveField("Status", metav1.ConditionTrue),
			"the first status the organization showed: %+v", first)
		Expect(first.Path).To(Equal([]string{rootName, "fs-acme"}))
		Expect(first.Namespace).To(Equal("fs-acme"))
		Expect(statuses).To(HaveLen(1), "status versions seen: %+v", statuses)
		Expect(snapshots.Load().Org("fs-acme")).NotTo(BeNil())
	})
})
