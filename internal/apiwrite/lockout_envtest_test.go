package apiwrite

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/login"
	"github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

var _ = Describe("Recording lockouts on the API server", func() {
	newUser := func(ns string) *iamv1.OrgUser {
		GinkgoHelper()
		Expect(k8s.Create(envCtx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
		u := snapshottest.ForCreate(snapshottest.User(ns, "lou", "lou@"+ns+".example"))
		Expect(k8s.Create(envCtx, u)).To(Succeed())
		return u
	}
	statusOf := func(u *iamv1.OrgUser) func(Gomega) iamv1.OrgUserStatus {
		return func(g Gomega) iamv1.OrgUserStatus {
			cur := &iamv1.OrgUser{}
			g.Expect(k8s.Get(envCtx, client.ObjectKeyFromObject(u), cur)).To(Succeed())
			return cur.Status
		}
	}
	t0 := time.Now().UTC().Truncate(time.Second).Add(time.Hour)

	It("shows a lockout in the OrgUser's status", func() {
		u := newUser("lock-one")
		w := startWriter()
		Expect(w.RecordLockout(envCtx, login.Lockout{Org: u.Namespace, UserID: string(u.UID), Failures: 5, Until: t0})).To(Succeed())
		Eventually(func(g Gomega) {
			st := statusOf(u)(g)
			g.Expect(st.FailedLogins).To(BeEquivalentTo(5))
			g.Expect(st.LockedUntil).NotTo(BeNil())
			g.Expect(st.LockedUntil.Time).To(BeTemporally("==", t0))
		}).Should(Succeed())
	})

	It("converges to the latest lockout when two replicas record lockouts of one user at once", func() {
		u := newUser("lock-two")
		a, b := startWriter(), startWriter()
		const n = 20
		for i := range n {
			// a records them in order, b in reverse: every write races
			// one of the other replica's.
			Expect(a.RecordLockout(envCtx, login.Lockout{Org: u.Namespace, UserID: string(u.UID), Failures: 5 + i, Until: t0.Add(time.Duration(i) * time.Minute)})).To(Succeed())
			j := n - 1 - i
			Expect(b.RecordLockout(envCtx, login.Lockout{Org: u.Namespace, UserID: string(u.UID), Failures: 5 + j, Until: t0.Add(time.Duration(j) * time.Minute)})).To(Succeed())
		}
		Eventually(func(g Gomega) {
			g.Expect(len(a.queue) + len(b.queue)).To(BeZero())
			st := statusOf(u)(g)
			g.Expect(st.LockedUntil).NotTo(BeNil())
			g.Expect(st.LockedUntil.Time).To(BeTemporally("==", t0.Add((n-1)*time.Minute)), "the later lockedUntil was lost")
			g.Expect(st.FailedLogins).To(BeEquivalentTo(5 + n - 1))
		}).Should(Succeed())
		for _, w := range []*Writer{a, b} {
			Expect(testutilCount(w, ResultFailed)).To(BeZero(), fmt.Sprintf("failed writes: %v", testutilCount(w, ResultFailed)))
		}
	})
})
