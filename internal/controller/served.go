package controller

import (
	"context"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
)

// Server is what the status reconcilers need from the serving side (the
// projection): whether the OIDC server serves an object as it is now, what
// the snapshot build found wrong with it, and a feed of objects whose served
// state changed. With it, Ready=True means "being served" (api.md section 6).
type Server interface {
	ServesObject(kind snapshot.Kind, obj metav1.Object) bool
	Problems(key snapshot.ObjectKey) []snapshot.Problem
	Events(kind snapshot.Kind) <-chan event.GenericEvent
}

// servedRetry bounds how long a status may wait for the server when an
// announcement was missed.
const servedRetry = 2 * time.Second

// servedCheck is the last check of a served kind's Ready chain, and the one
// generic path by which the snapshot build's Problems reach every kind's
// status: a Problem of this object (this UID and generation) fails Ready
// with the Problem's reason and message, and further Problems are appended
// to the message. A Problem of an older generation is not shown: the
// object changed since, and the check waits for the build of the new one.
// Without a Server (reconciler tests without the OIDC side) it passes.
func servedCheck(srv Server, kind snapshot.Kind, obj metav1.Object) check {
	if srv == nil {
		return passed(iamv1.ReasonReconciled, "")
	}
	if c, ok := problemsCheck(srv.Problems(snapshot.ObjectKey{Kind: kind, Namespace: obj.GetNamespace(), Name: obj.GetName()}), obj); ok {
		return c
	}
	if !srv.ServesObject(kind, obj) {
		return failed(iamv1.ReasonWaitingForServer, "the OIDC server does not serve generation %d yet", obj.GetGeneration())
	}
	return passed(iamv1.ReasonReconciled, "")
}

// problemsCheck turns the build's Problems of obj's current version into a
// failed check; ok is false when there is none. The first Problem gives the
// reason (Build sorts them by reason within an object).
func problemsCheck(problems []snapshot.Problem, obj metav1.Object) (check, bool) {
	var current []snapshot.Problem
	for _, p := range problems {
		if (p.UID == "" || p.UID == obj.GetUID()) && p.Generation == obj.GetGeneration() {
			current = append(current, p)
		}
	}
	if len(current) == 0 {
		return check{}, false
	}
	msg := current[0].Message
	for _, p := range current[1:] {
		msg += "; also (" + p.Reason + "): " + p.Message
	}
	return failed(current[0].Reason, "%s", msg), true
}

// servedResult runs servedCheck into *served once every check before it
// (before) ran and passed, and asks to come back while the server catches
// up. It lets a reconciler that returns (Result, error) take part in the
// generic problem path with one call.
func servedResult(srv Server, kind snapshot.Kind, obj metav1.Object, served *check, before []check, res ctrl.Result, err error) (ctrl.Result, error) {
	if err != nil || firstFailure(before...) != (check{}) {
		return res, err
	}
	for _, c := range before {
		if !c.ran {
			return res, err // the pass stopped early (e.g. waiting for its namespace)
		}
	}
	*served = servedCheck(srv, kind, obj)
	if served.reason == iamv1.ReasonWaitingForServer && (res.RequeueAfter == 0 || res.RequeueAfter > servedRetry) {
		res.RequeueAfter = servedRetry
		// The retry is a fallback for a missed announcement: it goes in
		// line with other work, whatever priority brought this pass.
		res.Priority = ptr.To(0)
	}
	return res, nil
}

// servedPriority is the work queue priority of an object whose served state
// just changed, above the default (0) of every other event. Such an object
// is usually one status write from done (Ready=True, or the build's
// Problem); during a storm of changes the queue holds thousands of objects,
// and without the priority it would wait behind all of them, once per step,
// while each of its steps is cheap.
const servedPriority = 1

// watchServed adds the server's feed of served-state changes to a controller.
func watchServed(b *builder.Builder, srv Server, kind snapshot.Kind) *builder.Builder {
	if srv == nil {
		return b
	}
	return b.WatchesRawSource(source.Channel(srv.Events(kind), enqueueServed{}))
}

// enqueueServed queues the object of a served-state announcement ahead of
// other work (servedPriority) when the controller's queue has priorities,
// else like any event.
type enqueueServed struct{ handler.Funcs }

// Generic queues the announced object.
func (enqueueServed) Generic(_ context.Context, e event.GenericEvent, q queue) {
	if e.Object == nil {
		return
	}
	req := reconcile.Request{NamespacedName: types.NamespacedName{Namespace: e.Object.GetNamespace(), Name: e.Object.GetName()}}
	if pq, ok := q.(priorityqueue.PriorityQueue[reconcile.Request]); ok {
		pq.AddWithOpts(priorityqueue.AddOpts{Priority: ptr.To(servedPriority)}, req)
		return
	}
	q.Add(req)
}

// firstStatusGrace is how long the first status of a new object may wait
// for the server to serve it (see heldStatuses).
const firstStatusGrace = 10 * time.Second

// heldStatuses holds back the first status of new objects for as long as all
// it would say is that the server does not serve them yet, up to
// firstStatusGrace: the projection usually serves a new object a moment
// after its reconciler made what it needs, and then the status is written
// once, Ready=True, instead of twice (WaitingForServer, then Ready). Status
// writes are the largest part of what a storm of new objects costs the API
// server (docs/scale.md). An object that waits longer gets its
// WaitingForServer status then, so that nothing stays silent.
//
// It is in memory: a new leader starts with nothing held, which only means
// that it writes a first WaitingForServer status it could have held back.
type heldStatuses struct {
	// now is the clock of the grace; nil means time.Now.
	now func() time.Time

	mu   sync.Mutex
	held map[types.NamespacedName]heldStatus
}

type heldStatus struct {
	uid   types.UID
	since time.Time
}

// hold reports whether this pass should leave obj's status unwritten. It
// does while obj has no status yet (before is what the pass read), the pass
// found nothing wrong but that the server does not serve obj yet (ready
// holds the checks that decide Ready), and obj has waited less than
// firstStatusGrace. When it returns false, obj is forgotten.
func (h *heldStatuses) hold(before metav1.Object, neverWritten bool, ready []check) bool {
	now := nowOr(h.now)
	key := types.NamespacedName{Namespace: before.GetNamespace(), Name: before.GetName()}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !neverWritten || firstFailure(ready...).reason != iamv1.ReasonWaitingForServer {
		delete(h.held, key)
		return false
	}
	if h.held == nil {
		h.held = map[types.NamespacedName]heldStatus{}
	}
	e, ok := h.held[key]
	if !ok || e.uid != before.GetUID() {
		e = heldStatus{uid: before.GetUID(), since: now}
		h.held[key] = e
	}
	if now.Sub(e.since) >= firstStatusGrace {
		delete(h.held, key)
		return false
	}
	return true
}

// forget drops what is held for the object of key (it is gone).
func (h *heldStatuses) forget(key types.NamespacedName) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.held, key)
}
