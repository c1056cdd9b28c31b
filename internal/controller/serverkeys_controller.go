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

// ServerKeyReconciler (leader only) creates the issuer's shared symmetric
// keys (the op crypto key and the CSRF key, keys.ServerKeys) in a Secret in
// the system namespace, and rotates them every rotation period, keeping the
// previous keys. Every replica loads the Secret through the projection, so a
// login form or an opaque token made by one replica is accepted by any other.
type ServerKeyReconciler struct {
	client.Client
	SystemNamespace string
	RotationPeriod  time.Duration
	Now             func() time.Time
}

var serverKeySecret = rotatedKeySecret[*keys.ServerKeys]{
	secretName: projection.ServerKeySecret,
	noun:       "server key",
	generate:   func(now time.Time) (*keys.ServerKeys, error) { return keys.NewServerKeys(now, nil) },
	parse:      keys.ServerKeysFromSecretData,
	rotate: func(k *keys.ServerKeys, now time.Time, period time.Duration) (*keys.ServerKeys, bool, error) {
		return keys.RotateServerKeys(k, now, period, nil)
	},
	secretData:   func(k *keys.ServerKeys) (map[string][]byte, error) { return k.SecretData(), nil },
	nextRotation: (*keys.ServerKeys).NextRotation,
}

// Reconcile makes sure the keys exist and rotates them when due.
func (r *ServerKeyReconciler) Reconcile(ctx context.Context, _ reconcile.Request) (reconcile.Result, error) {
	return serverKeySecret.reconcile(ctx, r.Client, r.SystemNamespace, keyRotationPeriod(r.RotationPeriod), clockNow(r.Now))
}

// SetupWithManager watches the Secret and kicks off the first pass at start.
func (r *ServerKeyReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return serverKeySecret.setup(mgr, "serverkeys", r.SystemNamespace, r)
}
