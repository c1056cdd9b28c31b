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

// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update;patch;delete

// Reconcile makes sure current keys exist and rotates them when due.
func (r *SigningKeyReconciler) Reconcile(ctx context.Context, _ reconcile.Request) (reconcile.Result, error) {
	now := time.Now()
	if r.Now != nil {
		now = r.Now()
	}
	key := types.NamespacedName{Namespace: r.SystemNamespace, Name: projection.SigningKeySecret}
	secret := &corev1.Secret{}
	err := r.Get(ctx, key, secret)
	if apierrors.IsNotFound(err) {
		set, err := keys.NewKeySet(now)
		if err != nil {
			return reconcile.Result{}, err
		}
		data, err := set.SecretData()
		if err != nil {
			return reconcile.Result{}, err
		}
		secret = &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: key.Name, Namespace: key.Namespace,
				Labels: map[string]string{iamv1.LabelManagedBy: iamv1.ManagedByValue}},
			Type: corev1.SecretTypeOpaque,
			Data: data,
		}
		if err := r.Create(ctx, secret); err != nil {
			return reconcile.Result{}, fmt.Errorf("creating the signing keys: %w", err)
		}
		logf.FromContext(ctx).Info("created signing keys", "secret", key)
		return reconcile.Result{RequeueAfter: r.period()}, nil
	}
	if err != nil {
		return reconcile.Result{}, err
	}

	set, err := keys.FromSecretData(secret.Data)
	if err != nil {
		// Regenerating would silently invalidate every token in flight;
		// an operator must look at it (deleting the Secret regenerates).
		return reconcile.Result{}, reconcile.TerminalError(fmt.Errorf(
			"signing key Secret %s is unusable (%w); delete it to generate new keys", key, err))
	}
	rotated, changed, err := keys.Rotate(set, now, r.period())
	if err != nil {
		return reconcile.Result{}, err
	}
	if changed {
		data, err := rotated.SecretData()
		if err != nil {
			return reconcile.Result{}, err
		}
		secret.Data = data
		if err := r.Update(ctx, secret); err != nil {
			return reconcile.Result{}, fmt.Errorf("rotating the signing keys: %w", err)
		}
		logf.FromContext(ctx).Info("rotated signing keys", "secret", key)
		set = rotated
	}
	return reconcile.Result{RequeueAfter: max(time.Second, set.NextRotation(r.period()).Sub(now))}, nil
}

func (r *SigningKeyReconciler) period() time.Duration {
	if r.RotationPeriod > 0 {
		return r.RotationPeriod
	}
	return DefaultKeyRotationPeriod
}

// SetupWithManager watches the key Secret and kicks off the first pass at
// start, so the keys exist even before anything changes.
func (r *SigningKeyReconciler) SetupWithManager(mgr ctrl.Manager) error {
	start := make(chan event.GenericEvent, 1)
	start <- event.GenericEvent{Object: &corev1.Secret{ObjectMeta: metav1.ObjectMeta{
		Namespace: r.SystemNamespace, Name: projection.SigningKeySecret}}}
	one := handler.EnqueueRequestsFromMapFunc(func(context.Context, client.Object) []reconcile.Request {
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: r.SystemNamespace, Name: projection.SigningKeySecret}}}
	})
	ours := predicate.NewPredicateFuncs(func(o client.Object) bool {
		return o.GetNamespace() == r.SystemNamespace && o.GetName() == projection.SigningKeySecret
	})
	return ctrl.NewControllerManagedBy(mgr).
		Named("signingkeys").
		WatchesRawSource(source.Channel(start, one)).
		Watches(&corev1.Secret{}, one, builder.WithPredicates(ours)).
		Complete(r)
}
