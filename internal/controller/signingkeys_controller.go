package controller

import (
	"context"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/orgkeeper/orgkeeper/internal/controller/projection"
	"github.com/orgkeeper/orgkeeper/internal/keys"
)

// DefaultKeyRotationPeriod is how long a signing key signs before the next
// one takes over. The previous key stays published for one more period, so
// tokens it signed keep verifying across a rotation.
const DefaultKeyRotationPeriod = 30 * 24 * time.Hour

// SigningKeyReconciler (leader only) creates the signing keys in a Secret in
// the system namespace and rotates them with overlap. Every replica loads the
// Secret through the projection.
type SigningKeyReconciler struct {
	client.Client
	SystemNamespace string
	RotationPeriod  time.Duration
	Now             func() time.Time
}

var signingKeySecret = rotatedKeySecret[*keys.KeySet]{
	secretName:   projection.SigningKeySecret,
	noun:         "signing key",
	generate:     keys.NewKeySet,
	parse:        keys.FromSecretData,
	rotate:       keys.Rotate,
	secretData:   (*keys.KeySet).SecretData,
	nextRotation: (*keys.KeySet).NextRotation,
}

// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update;patch;delete

// Reconcile makes sure current keys exist and rotates them when due.
func (r *SigningKeyReconciler) Reconcile(ctx context.Context, _ reconcile.Request) (reconcile.Result, error) {
	return signingKeySecret.reconcile(ctx, r.Client, r.SystemNamespace, keyRotationPeriod(r.RotationPeriod), clockNow(r.Now))
}

// SetupWithManager watches the key Secret and kicks off the first pass at
// start, so the keys exist even before anything changes.
func (r *SigningKeyReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return signingKeySecret.setup(mgr, "signingkeys", r.SystemNamespace, r)
}
