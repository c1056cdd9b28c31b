package controller

import (
	"context"
	"fmt"
	"slices"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// patchStatus sends the one status patch of a reconcile pass, if the status
// changed since before. An object deleted meanwhile is not an error.
func patchStatus(ctx context.Context, c client.Client, before, obj client.Object, changed bool) error {
	if !changed {
		return nil
	}
	if err := c.Status().Patch(ctx, obj, client.MergeFrom(before)); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("patching status: %w", err)
	}
	return nil
}

// patchStatusLocked is patchStatus with the resourceVersion the pass read:
// a pass that worked from a stale cache (it did not see the status an
// earlier pass wrote) gets a conflict instead of writing over that status.
// It reports the conflict as conflicted, not as an error: the object's new
// version is on its way to the cache and queues the next pass.
func patchStatusLocked(ctx context.Context, c client.Client, before, obj client.Object, changed bool) (conflicted bool, err error) {
	if !changed {
		return false, nil
	}
	err = c.Status().Patch(ctx, obj, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
	switch {
	case err == nil, apierrors.IsNotFound(err):
		return false, nil
	case apierrors.IsConflict(err):
		return true, nil
	}
	return false, fmt.Errorf("patching status: %w", err)
}

// ownWrites remembers, for each object, the versions that the reconciler's
// own last write of it (its finalizer, its status) superseded. A pass that
// reads one of them from the cache works from an object older than what it
// wrote itself: it would only repeat that write, as another request to the
// API server. The write's own watch event brings the next pass, with the
// object as written, so such a pass can end at once. Under a storm of new
// objects the cache lags behind the reconciler's writes, and passes queued by
// the events of its other writes (namespace, RBAC) would otherwise write the
// same status again.
//
// Versions are only compared for equality, as the API asks of
// resourceVersions. The memory holds one entry per object written and not
// read since; an entry goes once the object is read at another version, or
// is gone.
type ownWrites struct {
	mu sync.Mutex
	m  map[types.NamespacedName]superseded
}

type superseded struct {
	uid      types.UID
	versions []string
}

// stale reports whether obj, as read, is a version that the last write
// superseded. Otherwise it forgets obj.
func (w *ownWrites) stale(obj client.Object) bool {
	key := client.ObjectKeyFromObject(obj)
	w.mu.Lock()
	defer w.mu.Unlock()
	s, ok := w.m[key]
	if ok && s.uid == obj.GetUID() && slices.Contains(s.versions, obj.GetResourceVersion()) {
		return true
	}
	delete(w.m, key)
	return false
}

// wrote records that a write left obj at its current resourceVersion,
// superseding the versions given (those the pass read). A write that
// changed nothing (the version did not move) records nothing: no event
// would follow it.
func (w *ownWrites) wrote(obj client.Object, versions ...string) {
	if slices.Contains(versions, obj.GetResourceVersion()) {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.m == nil {
		w.m = map[types.NamespacedName]superseded{}
	}
	w.m[client.ObjectKeyFromObject(obj)] = superseded{uid: obj.GetUID(), versions: slices.Clone(versions)}
}

// forget drops what is remembered of the object of key (it is gone).
func (w *ownWrites) forget(key types.NamespacedName) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.m, key)
}
