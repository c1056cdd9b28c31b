package controller

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/login"
)

// LockoutWriter shows lockouts decided by the login pages in the OrgUser's
// status (failedLogins, lockedUntil; the OrgUser reconciler then reports
// state Locked until it expires). The lockout itself is enforced by the
// login pages whatever happens here; this is what administrators see.
//
// It is the one place outside a reconcile loop that writes to the API
// server, and it writes only those two status fields.
type LockoutWriter struct {
	// Client is the manager's client (cached reads, direct writes).
	Client client.Client
	// Timeout bounds the write; default 5s.
	Timeout time.Duration
}

var _ login.LockoutRecorder = (*LockoutWriter)(nil)

// RecordLockout patches the locked user's status. It runs in the background
// so that the sign-in request is not held up by the API server.
func (w *LockoutWriter) RecordLockout(ctx context.Context, l login.Lockout) error {
	timeout := w.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	go func() {
		bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		defer cancel()
		_ = w.write(bg, l)
	}()
	return nil
}

func (w *LockoutWriter) write(ctx context.Context, l login.Lockout) error {
	users := &iamv1.OrgUserList{}
	if err := w.Client.List(ctx, users, client.InNamespace(l.Org)); err != nil {
		return err
	}
	for i := range users.Items {
		u := &users.Items[i]
		if string(u.UID) != l.UserID {
			continue
		}
		patch := client.MergeFrom(u.DeepCopy())
		u.Status.FailedLogins = int32(min(l.Failures, 1<<30))
		u.Status.LockedUntil = &metav1.Time{Time: l.Until}
		return w.Client.Status().Patch(ctx, u, patch)
	}
	return fmt.Errorf("no OrgUser with id %s in %s", l.UserID, l.Org)
}
