package controller

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
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
