package controller

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
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

// Reconcile makes sure the keys exist and rotates them when due.
func (r *ServerKeyReconciler) Reconcile(ctx context.Context, _ reconcile.Request) (reconcile.Result, error) {
	now := time.Now()
	if r.Now != nil {
		now = r.Now()
	}
	key := types.NamespacedName{Namespace: r.SystemNamespace, Name: projection.ServerKeySecret}
	secret := &corev1.Secret{}
	err := r.Get(ctx, key, secret)
	if apierrors.IsNotFound(err) {
		k, err := keys.NewServerKeys(now, nil)
		if err != nil {
			return reconcile.Result{}, err
		}
		secret = &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: key.Name, Namespace: key.Namespace,
				Labels: map[string]string{iamv1.LabelManagedBy: iamv1.ManagedByValue}},
			Type: corev1.SecretTypeOpaque,
			Data: k.SecretData(),
		}
		if err := r.Create(ctx, secret); err != nil {
			if apierrors.IsAlreadyExists(err) {
				// A previous leader made them a moment ago: use those.
				return reconcile.Result{RequeueAfter: time.Second}, nil
			}
			return reconcile.Result{}, fmt.Errorf("creating the server keys: %w", err)
		}
		logf.FromContext(ctx).Info("created server keys", "secret", key)
		return reconcile.Result{RequeueAfter: r.period()}, nil
	}
	if err != nil {
		return reconcile.Result{}, err
	}
	k, err := keys.ServerKeysFromSecretData(secret.Data)
	if err != nil {
		// New keys would break every code and login form in flight on
		// every replica; an operator decides (deleting the Secret
		// regenerates it).
		return reconcile.Result{}, reconcile.TerminalError(fmt.Errorf(
			"server key Secret %s is unusable (%w); delete it to generate new keys", key, err))
	}
	rotated, changed, err := keys.RotateServerKeys(k, now, r.period(), nil)
	if err != nil {
		return reconcile.Result{}, err
	}
	if changed {
		secret.Data = rotated.SecretData()
		// Update carries the resourceVersion we read: if another leader
		// rotated meanwhile, this conflicts and the next pass sees theirs.
		if err := r.Update(ctx, secret); err != nil {
			return reconcile.Result{}, fmt.Errorf("rotating the server keys: %w", err)
		}
		logf.FromContext(ctx).Info("rotated server keys", "secret", key)
		k = rotated
	}
	return reconcile.Result{RequeueAfter: max(time.Second, k.NextRotation(r.period()).Sub(now))}, nil
}

func (r *ServerKeyReconciler) period() time.Duration {
	if r.RotationPeriod > 0 {
		return r.RotationPeriod
	}
	return DefaultKeyRotationPeriod
}

// SetupWithManager watches the Secret and kicks off the first pass at start.
func (r *ServerKeyReconciler) SetupWithManager(mgr ctrl.Manager) error {
	name := types.NamespacedName{Namespace: r.SystemNamespace, Name: projection.ServerKeySecret}
	start := make(chan event.GenericEvent, 1)
	start <- event.GenericEvent{Object: &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: name.Namespace, Name: name.Name}}}
	one := handler.EnqueueRequestsFromMapFunc(func(context.Context, client.Object) []reconcile.Request {
		return []reconcile.Request{{NamespacedName: name}}
	})
	ours := predicate.NewPredicateFuncs(func(o client.Object) bool {
		return o.GetNamespace() == name.Namespace && o.GetName() == name.Name
	})
	return ctrl.NewControllerManagedBy(mgr).
		Named("serverkeys").
		WatchesRawSource(source.Channel(start, one)).
		Watches(&corev1.Secret{}, one, builder.WithPredicates(ours)).
		Complete(r)
}
