package apiwrite

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/login"
	"github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func TestMergeLockout(t *testing.T) {
	at := func(d time.Duration) *metav1.Time { v := metav1.NewTime(t0.Add(d)); return &v }
	cases := []struct {
		name        string
		failed      int32
		until       *metav1.Time
		l           login.Lockout
		want        LockoutStatus
		wantChanged bool
	}{
		{"a first lockout is recorded with its count", 0, nil,
			login.Lockout{Failures: 5, Until: t0}, LockoutStatus{5, at(0)}, true},
		{"a later lockout replaces an earlier one, count included", 9, at(0),
			login.Lockout{Failures: 5, Until: t0.Add(time.Minute)}, LockoutStatus{5, at(time.Minute)}, true},
		{"an earlier lockout arriving late never moves lockedUntil back", 5, at(time.Minute),
			login.Lockout{Failures: 7, Until: t0}, LockoutStatus{5, at(time.Minute)}, false},
		{"the same lockout again changes nothing", 5, at(0),
			login.Lockout{Failures: 5, Until: t0}, LockoutStatus{5, at(0)}, false},
		{"the same lockedUntil with a higher count takes the count", 5, at(0),
			login.Lockout{Failures: 6, Until: t0}, LockoutStatus{6, at(0)}, true},
		{"sub-second precision is dropped, as the API server would", 5, at(0),
			login.Lockout{Failures: 5, Until: t0.Add(300 * time.Millisecond)}, LockoutStatus{5, at(0)}, false},
		{"a huge failure count is bounded", 0, nil,
			login.Lockout{Failures: 1 << 40, Until: t0}, LockoutStatus{1 << 30, at(0)}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, changed := MergeLockout(tc.failed, tc.until, tc.l)
			if changed != tc.wantChanged || got.FailedLogins != tc.want.FailedLogins || !got.LockedUntil.Equal(tc.want.LockedUntil) {
				t.Fatalf("MergeLockout = %+v changed %v, want %+v changed %v", got, changed, tc.want, tc.wantChanged)
			}
		})
	}
}

func TestMergeLockoutIsCommutative(t *testing.T) {
	a := login.Lockout{Failures: 5, Until: t0}
	b := login.Lockout{Failures: 8, Until: t0.Add(time.Hour)}
	ab, _ := MergeLockout(0, nil, a)
	ab, _ = MergeLockout(ab.FailedLogins, ab.LockedUntil, b)
	ba, _ := MergeLockout(0, nil, b)
	ba, _ = MergeLockout(ba.FailedLogins, ba.LockedUntil, a)
	if ab.FailedLogins != ba.FailedLogins || !ab.LockedUntil.Equal(ba.LockedUntil) {
		t.Fatalf("a then b = %+v, b then a = %+v", ab, ba)
	}
}

// world is a fake API server holding one OrgUser, acme/lou (built by
// snapshottest, as every suite's objects are).
type world struct {
	c       client.WithWatch
	user    *iamv1.OrgUser
	reg     *prometheus.Registry
	patches atomic.Int64
}

func newWorld(t *testing.T, funcs interceptor.Funcs) *world {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := iamv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	w := &world{reg: prometheus.NewRegistry()}
	lou := snapshottest.User("acme", "lou", "lou@acme.example")
	w.user = &lou
	inner := funcs.SubResourcePatch
	funcs.SubResourcePatch = func(ctx context.Context, c client.Client, sub string, obj client.Object, p client.Patch, o ...client.SubResourcePatchOption) error {
		w.patches.Add(1)
		if inner != nil {
			return inner(ctx, c, sub, obj, p, o...)
		}
		return c.SubResource(sub).Patch(ctx, obj, p, o...)
	}
	w.c = interceptor.NewClient(fake.NewClientBuilder().WithScheme(scheme).
		WithObjects(w.user.DeepCopy()).WithStatusSubresource(&iamv1.OrgUser{}).Build(), funcs)
	return w
}

func (w *world) writer(t *testing.T, o Options) *Writer {
	t.Helper()
	o.Client, o.Registerer, o.Log = w.c, w.reg, logr.Discard()
	wr, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	wr.sleep = func(context.Context, time.Duration) error { return nil }
	return wr
}

func (w *world) status(t *testing.T) iamv1.OrgUserStatus {
	t.Helper()
	u := &iamv1.OrgUser{}
	if err := w.c.Get(context.Background(), types.NamespacedName{Namespace: "acme", Name: "lou"}, u); err != nil {
		t.Fatal(err)
	}
	return u.Status
}

func count(t *testing.T, wr *Writer, result string) float64 {
	t.Helper()
	return testutil.ToFloat64(wr.results.WithLabelValues("lockout", result))
}

// runQueued applies everything queued, as the worker would.
func runQueued(wr *Writer) {
	for {
		select {
		case o := <-wr.queue:
			wr.run(context.Background(), o)
		default:
			return
		}
	}
}

func lockout(d time.Duration, n int) login.Lockout {
	return login.Lockout{Org: "acme", UserID: string(snapshottest.UID("user", "acme", "lou")), Failures: n, Until: t0.Add(d)}
}

func TestALockoutReachesTheUsersStatus(t *testing.T) {
	w := newWorld(t, interceptor.Funcs{})
	wr := w.writer(t, Options{})
	if err := wr.RecordLockout(context.Background(), lockout(0, 5)); err != nil {
		t.Fatal(err)
	}
	runQueued(wr)
	st := w.status(t)
	if st.FailedLogins != 5 || st.LockedUntil == nil || !st.LockedUntil.Time.Equal(t0) {
		t.Fatalf("status = failedLogins %d, lockedUntil %v; want 5, %v", st.FailedLogins, st.LockedUntil, t0)
	}
	if got := count(t, wr, ResultWritten); got != 1 {
		t.Fatalf("written = %v, want 1", got)
	}
	// Recording it again (another replica, or a retry after a lost reply)
	// sends no patch.
	patches := w.patches.Load()
	if err := wr.RecordLockout(context.Background(), lockout(0, 5)); err != nil {
		t.Fatal(err)
	}
	runQueued(wr)
	if w.patches.Load() != patches || count(t, wr, ResultUnchanged) != 1 {
		t.Fatalf("a repeated lockout patched again (%d patches) or was not counted unchanged", w.patches.Load()-patches)
	}
}

func TestAConflictIsRetriedFromTheNewerObjectAndKeepsTheLaterLockout(t *testing.T) {
	// Between our read and our patch another replica records a later
	// lockout; the API server refuses our patch (its resourceVersion is
	// stale) and the retry must not move lockedUntil back.
	var once sync.Once
	var w *world
	w = newWorld(t, interceptor.Funcs{
		SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, p client.Patch, o ...client.SubResourcePatchOption) error {
			once.Do(func() {
				u := &iamv1.OrgUser{}
				if err := c.Get(ctx, client.ObjectKeyFromObject(obj), u); err != nil {
					t.Error(err)
					return
				}
				later := metav1.NewTime(t0.Add(time.Hour))
				u.Status.FailedLogins, u.Status.LockedUntil = 9, &later
				if err := c.Status().Update(ctx, u); err != nil {
					t.Error(err)
				}
			})
			return c.SubResource(sub).Patch(ctx, obj, p, o...)
		},
	})
	wr := w.writer(t, Options{})
	if err := wr.RecordLockout(context.Background(), lockout(0, 5)); err != nil {
		t.Fatal(err)
	}
	runQueued(wr)
	st := w.status(t)
	if st.FailedLogins != 9 || !st.LockedUntil.Time.Equal(t0.Add(time.Hour)) {
		t.Fatalf("status = %d until %v; the later lockout (9 until %v) was lost", st.FailedLogins, st.LockedUntil, t0.Add(time.Hour))
	}
	// One patch, refused for its stale resourceVersion; the retry merged
	// into the newer status, found nothing to change and sent none.
	if w.patches.Load() != 1 {
		t.Fatalf("%d patches, want 1", w.patches.Load())
	}
	if count(t, wr, ResultUnchanged) != 1 || count(t, wr, ResultFailed) != 0 {
		t.Fatal("after the conflict the retry should have found nothing to change")
	}
}

func TestTwoReplicasRecordingLockoutsAtOnceConvergeToTheLaterOne(t *testing.T) {
	w := newWorld(t, interceptor.Funcs{})
	a, b := w.writer(t, Options{}), w.writer(t, Options{})
	for i := range 20 {
		if err := a.RecordLockout(context.Background(), lockout(time.Duration(i)*time.Minute, 5+i)); err != nil {
			t.Fatal(err)
		}
		if err := b.RecordLockout(context.Background(), lockout(time.Duration(19-i)*time.Minute, 24-i)); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	wg.Go(func() { runQueued(a) })
	wg.Go(func() { runQueued(b) })
	wg.Wait()
	st := w.status(t)
	if !st.LockedUntil.Time.Equal(t0.Add(19*time.Minute)) || st.FailedLogins != 24 {
		t.Fatalf("status = %d until %v, want the latest lockout: 24 until %v", st.FailedLogins, st.LockedUntil, t0.Add(19*time.Minute))
	}
	for _, wr := range []*Writer{a, b} {
		if f := count(t, wr, ResultFailed); f != 0 {
			t.Fatalf("%v writes failed", f)
		}
	}
}

func TestAWriteThatAlwaysConflictsGivesUpAfterMaxAttemptsAndIsCounted(t *testing.T) {
	w := newWorld(t, interceptor.Funcs{
		SubResourcePatch: func(context.Context, client.Client, string, client.Object, client.Patch, ...client.SubResourcePatchOption) error {
			return apierrors.NewConflict(schema.GroupResource{Group: iamv1.GroupVersion.Group, Resource: "orgusers"}, "lou", errors.New("changed"))
		},
	})
	var waits []time.Duration
	wr := w.writer(t, Options{MaxAttempts: 4, BaseBackoff: 100 * time.Millisecond, MaxBackoff: 300 * time.Millisecond})
	wr.sleep = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
	if err := wr.RecordLockout(context.Background(), lockout(0, 5)); err != nil {
		t.Fatal(err)
	}
	runQueued(wr)
	if w.patches.Load() != 4 {
		t.Fatalf("%d attempts, want 4", w.patches.Load())
	}
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond}
	if len(waits) != len(want) || waits[0] != want[0] || waits[1] != want[1] || waits[2] != want[2] {
		t.Fatalf("backoff = %v, want %v", waits, want)
	}
	if count(t, wr, ResultFailed) != 1 {
		t.Fatal("the failed write is not counted")
	}
}

func TestAPermanentErrorIsNotRetried(t *testing.T) {
	w := newWorld(t, interceptor.Funcs{
		SubResourcePatch: func(context.Context, client.Client, string, client.Object, client.Patch, ...client.SubResourcePatchOption) error {
			return apierrors.NewForbidden(schema.GroupResource{Resource: "orgusers"}, "lou", errors.New("no"))
		},
	})
	wr := w.writer(t, Options{})
	_ = wr.RecordLockout(context.Background(), lockout(0, 5))
	runQueued(wr)
	if w.patches.Load() != 1 || count(t, wr, ResultFailed) != 1 {
		t.Fatalf("%d attempts (want 1), failed = %v (want 1)", w.patches.Load(), count(t, wr, ResultFailed))
	}
}

func TestALockoutOfAnUnknownUserIsCountedNotRetried(t *testing.T) {
	w := newWorld(t, interceptor.Funcs{})
	wr := w.writer(t, Options{})
	_ = wr.RecordLockout(context.Background(), login.Lockout{Org: "acme", UserID: "someone-else", Failures: 5, Until: t0})
	runQueued(wr)
	if w.patches.Load() != 0 || count(t, wr, ResultFailed) != 1 {
		t.Fatalf("%d patches, failed = %v; want 0 and 1", w.patches.Load(), count(t, wr, ResultFailed))
	}
}

func TestAFullQueueRefusesLoudlyInsteadOfBlocking(t *testing.T) {
	w := newWorld(t, interceptor.Funcs{})
	wr := w.writer(t, Options{QueueSize: 1})
	if err := wr.RecordLockout(context.Background(), lockout(0, 5)); err != nil {
		t.Fatal(err)
	}
	if err := wr.RecordLockout(context.Background(), lockout(time.Minute, 6)); err == nil {
		t.Fatal("a write beyond the queue's bound was accepted")
	}
	if count(t, wr, ResultQueueFull) != 1 {
		t.Fatal("the dropped write is not counted")
	}
}

func TestStartWritesUntilStoppedAndDrainsTheQueue(t *testing.T) {
	w := newWorld(t, interceptor.Funcs{})
	wr := w.writer(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- wr.Start(ctx) }()
	if err := wr.RecordLockout(ctx, lockout(0, 5)); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if st := w.status(t); st.LockedUntil == nil {
		t.Fatal("a lockout queued just before the stop was not written")
	}
}

func TestTwoWritersInOneProcessShareTheMetric(t *testing.T) {
	reg := prometheus.NewRegistry()
	w := newWorld(t, interceptor.Funcs{})
	for range 2 {
		if _, err := New(Options{Client: w.c, Registerer: reg}); err != nil {
			t.Fatal(err)
		}
	}
}
