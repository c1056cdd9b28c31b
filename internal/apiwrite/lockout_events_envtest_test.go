package apiwrite

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/login"
	"github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

var _ = Describe("Lockout events", func() {
	// recorder is a real events.k8s.io recorder writing to the test API
	// server, as the manager's is.
	recorder := func() events.EventRecorder {
		GinkgoHelper()
		scheme := runtime.NewScheme()
		Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
		Expect(iamv1.AddToScheme(scheme)).To(Succeed())
		cs, err := kubernetes.NewForConfig(env.Config)
		Expect(err).NotTo(HaveOccurred())
		b := events.NewBroadcaster(&events.EventSinkImpl{Interface: cs.EventsV1()})
		Expect(b.StartRecordingToSinkWithContext(envCtx)).To(Succeed())
		DeferCleanup(b.Shutdown)
		return b.NewRecorder(scheme, "orgkeeper-server")
	}
	eventsOn := func(u *iamv1.OrgUser) func(Gomega) []eventsv1.Event {
		return func(g Gomega) []eventsv1.Event {
			list := &eventsv1.EventList{}
			g.Expect(k8s.List(envCtx, list, client.InNamespace(u.Namespace))).To(Succeed())
			var out []eventsv1.Event
			for _, e := range list.Items {
				if e.Regarding.UID == u.UID && e.Reason == ReasonAccountLocked {
					out = append(out, e)
				}
			}
			return out
		}
	}

	It("puts a Warning Event on the OrgUser that was locked out, once per lockout written", func() {
		Expect(k8s.Create(envCtx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "lock-event"}})).To(Succeed())
		u := snapshottest.ForCreate(snapshottest.User("lock-event", "lou", "lou@lock-event.example"))
		Expect(k8s.Create(envCtx, u)).To(Succeed())
		rec := &countingRecorder{EventRecorder: recorder()}
		w, err := New(Options{Client: k8s, Log: logr.Discard(), Registerer: prometheus.NewRegistry(),
			BaseBackoff: 10 * time.Millisecond, Events: rec})
		Expect(err).NotTo(HaveOccurred())
		ctx, cancel := context.WithCancel(envCtx)
		done := make(chan error, 1)
		go func() { done <- w.Start(ctx) }()
		DeferCleanup(func() { cancel(); Expect(<-done).To(Succeed()) })

		until := time.Now().UTC().Truncate(time.Second).Add(15 * time.Minute)
		lockout := login.Lockout{Org: u.Namespace, UserID: string(u.UID), Failures: 5, Until: until}
		Expect(w.RecordLockout(envCtx, lockout)).To(Succeed())
		Eventually(eventsOn(u)).Should(HaveLen(1))
		e := eventsOn(u)(Default)[0]
		Expect(e.Type).To(Equal(corev1.EventTypeWarning))
		Expect(e.Regarding.Kind).To(Equal("OrgUser"))
		Expect(e.Regarding.Name).To(Equal("lou"))
		Expect(e.Note).To(ContainSubstring("5 failed attempts"))
		Expect(e.Note).To(ContainSubstring(until.Format(time.RFC3339)))

		// The same lockout again (another replica, a retry) changes
		// nothing and says nothing more.
		Expect(w.RecordLockout(envCtx, lockout)).To(Succeed())
		Eventually(func() float64 { return testutilCount(w, ResultUnchanged) }).Should(BeEquivalentTo(1))
		Expect(rec.calls.Load()).To(BeEquivalentTo(1), "a lockout already recorded emitted another Event")
	})
})

// countingRecorder counts the Events sent through it (the API server
// folds repeats into a series, so the objects alone cannot tell).
type countingRecorder struct {
	events.EventRecorder
	calls atomic.Int32
}

func (c *countingRecorder) Eventf(regarding, related runtime.Object, eventtype, reason, action, note string, args ...any) {
	c.calls.Add(1)
	c.EventRecorder.Eventf(regarding, related, eventtype, reason, action, note, args...)
}
