package controller

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/orgkeeper/orgkeeper/internal/mail"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

// countingSender accepts every message and counts them per organization.
type countingSender struct {
	mu   sync.Mutex
	sent map[string]int
}

func (s *countingSender) Send(_ context.Context, r *mail.Rendered) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sent == nil {
		s.sent = map[string]int{}
	}
	s.sent[r.To]++
	return nil
}

func (s *countingSender) total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, v := range s.sent {
		n += v
	}
	return n
}

// TestOutboxLimitsTheMailOfOneCustomer: an organization admin writes
// OrgUsers with any spec.email and may change the resend annotation as
// often as they like; each write queues a message that the installation's
// mail relay sends, from the installation's address, to whatever address
// the admin chose. Without a limit the relay is the admin's spam cannon
// and its reputation (every customer's invitations and resets) the price.
// Child organizations, which the admin creates at will, share the budget
// of the customer they belong to.
func TestOutboxLimitsTheMailOfOneCustomer(t *testing.T) {
	const system = st.SystemNamespace
	snap := st.MustBuild(t, st.World(
		st.Org("platform"),
		st.Org("acme", st.WithParent("platform")),
		st.Org("acme-eu", st.WithParent("acme")),
		st.Org("globex", st.WithParent("platform")),
	))
	if snap.Org("acme-eu") == nil {
		t.Fatal("the snapshot serves no acme-eu")
	}
	now := time.Now()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	var objs []client.Object
	queue := func(org string, i int) string {
		m := &mail.Message{ID: mail.MessageID("flood", org, fmt.Sprint(i)), Kind: mail.KindInvitation, Organization: org,
			To: fmt.Sprintf("victim%d@elsewhere.example", i), Link: "https://login.example.com/login/invitation?org=" + org + "&token=t",
			ExpiresAt: now.Add(3 * time.Hour), CreatedAt: now}
		s, err := mail.OutboxSecret(system, m)
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, s)
		return s.Name
	}
	const limit = 5
	var acme, globex []string
	for i := range limit + 3 {
		org := "acme"
		if i%2 == 1 {
			org = "acme-eu" // a child organization does not bring a budget of its own
		}
		acme = append(acme, queue(org, i))
	}
	globex = append(globex, queue("globex", 100))
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).Build()
	sender := &countingSender{}
	r := &OutboxReconciler{Client: c, APIReader: c, SystemNamespace: system, Sender: sender,
		Snapshots: func() *snapshot.Snapshot { return snap }, MailPerOrganization: limit, MailWindow: time.Hour,
		Now: func() time.Time { return now }}

	reconcile := func(name string) ctrl.Result {
		t.Helper()
		res, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: types.NamespacedName{Namespace: system, Name: name}})
		if err != nil {
			t.Fatalf("reconcile %s: %v", name, err)
		}
		return res
	}
	for _, name := range acme {
		reconcile(name)
	}
	if got := sender.total(); got != limit {
		t.Fatalf("acme queued %d messages and the relay sent %d; want at most %d per window", len(acme), got, limit)
	}
	// The held messages wait for the window, still pending, not failed.
	res := reconcile(acme[len(acme)-1])
	if res.RequeueAfter <= 0 || res.RequeueAfter > time.Hour+time.Minute {
		t.Errorf("a held message comes back after %v; want within the window", res.RequeueAfter)
	}
	s := &corev1.Secret{}
	if err := c.Get(context.Background(), types.NamespacedName{Namespace: system, Name: acme[len(acme)-1]}, s); err != nil {
		t.Fatal(err)
	}
	if s.Labels[mail.LabelOutbox] != mail.StatePending {
		t.Errorf("a held message is %q; want it still pending", s.Labels[mail.LabelOutbox])
	}
	// Another customer is not held up by acme's flood.
	reconcile(globex[0])
	if got := sender.total(); got != limit+1 {
		t.Errorf("globex's message was not sent while acme was over its budget (sent %d)", got)
	}
	// Once the window has passed, the held messages go out.
	now = now.Add(time.Hour + time.Second)
	for _, name := range acme[limit:] {
		reconcile(name)
	}
	if got := sender.total(); got != len(acme)+1 {
		t.Errorf("after the window %d of %d messages were sent", got, len(acme)+1)
	}
}
