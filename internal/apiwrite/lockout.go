package apiwrite

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/login"
)

var _ login.LockoutRecorder = (*Writer)(nil)

// errNoMatch: no OrgUser in the organization has the locked user's ID. It is
// permanent (the user was deleted, or recreated with a new ID).
var errNoMatch = errors.New("no OrgUser with this ID")

// RecordLockout queues a lockout to be shown in the OrgUser's status
// (failedLogins, lockedUntil; the OrgUser reconciler then reports state
// Locked). It returns at once; the lockout itself is enforced by the login
// pages whatever happens here. It returns an error only when the queue is
// full.
func (w *Writer) RecordLockout(_ context.Context, l login.Lockout) error {
	return w.submit(op{
		kind:   "lockout",
		target: l.Org + "/" + l.UserID,
		apply: func(ctx context.Context, c client.Client, r client.Reader) (bool, error) {
			u, changed, err := applyLockout(ctx, c, r, l)
			if changed && err == nil && w.opts.Events != nil {
				// Once per lockout written: a repeat (another replica,
				// a retry after a lost reply) changes nothing and says
				// nothing.
				w.opts.Events.Eventf(u, nil, corev1.EventTypeWarning, ReasonAccountLocked, "Lock",
					"Sign-in locked until %s after %d failed attempts", l.Until.UTC().Format(time.RFC3339), l.Failures)
			}
			return changed, err
		},
	})
}

// applyLockout merges l into the OrgUser's status. The later lockout wins:
// a lockedUntil is never moved back, so two replicas recording lockouts of
// one user in any order converge to the later one, and repeating a lockout
// changes nothing.
func applyLockout(ctx context.Context, c client.Client, r client.Reader, l login.Lockout) (*iamv1.OrgUser, bool, error) {
	name, err := userName(ctx, c, l)
	if err != nil {
		return nil, false, err
	}
	u := &iamv1.OrgUser{}
	if err := r.Get(ctx, types.NamespacedName{Namespace: l.Org, Name: name}, u); err != nil {
		return nil, false, err
	}
	if string(u.UID) != l.UserID {
		return nil, false, fmt.Errorf("%w: %s in %s was recreated", errNoMatch, name, l.Org)
	}
	next, changed := MergeLockout(u.Status.FailedLogins, u.Status.LockedUntil, l)
	if !changed {
		return u, false, nil
	}
	before := u.DeepCopy()
	u.Status.FailedLogins, u.Status.LockedUntil = next.FailedLogins, next.LockedUntil
	// The optimistic lock puts before's resourceVersion in the patch: if
	// anyone changed the user meanwhile, the API server answers Conflict
	// and the next attempt merges into the newer status.
	patch := client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})
	if err := c.Status().Patch(ctx, u, patch); err != nil {
		return nil, false, err
	}
	return u, true, nil
}

// ReasonAccountLocked is the reason of the Warning Event on an OrgUser
// whose sign-in was locked after repeated failures.
const ReasonAccountLocked = "AccountLocked"

// userName finds the name of the OrgUser with the lockout's ID (the login
// pages know users by ID, the sub claim) in the cache.
func userName(ctx context.Context, c client.Reader, l login.Lockout) (string, error) {
	users := &iamv1.OrgUserList{}
	if err := c.List(ctx, users, client.InNamespace(l.Org)); err != nil {
		return "", err
	}
	for i := range users.Items {
		if string(users.Items[i].UID) == l.UserID {
			return users.Items[i].Name, nil
		}
	}
	return "", fmt.Errorf("%w (%s in %s)", errNoMatch, l.UserID, l.Org)
}

// LockoutStatus is the part of OrgUser status that lockouts write.
type LockoutStatus struct {
	FailedLogins int32
	LockedUntil  *metav1.Time
}

// MergeLockout returns the status after recording l over the current
// failedLogins and lockedUntil, and whether it differs. The later
// lockedUntil wins, with its failure count; for the same lockedUntil the
// higher count. The merge is commutative and idempotent, which is what lets
// every replica write without coordination.
func MergeLockout(failed int32, until *metav1.Time, l login.Lockout) (LockoutStatus, bool) {
	cur := LockoutStatus{FailedLogins: failed, LockedUntil: until}
	count := int32(min(max(l.Failures, 0), 1<<30))
	lt := metav1.NewTime(l.Until.UTC().Truncate(1e9)) // status keeps whole seconds
	switch {
	case until == nil || lt.After(until.Time):
		return LockoutStatus{FailedLogins: count, LockedUntil: &lt}, true
	case lt.Equal(until) && count > failed:
		return LockoutStatus{FailedLogins: count, LockedUntil: until}, true
	}
	return cur, false
}
