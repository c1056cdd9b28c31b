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
)

// rotatedKeySecret describes keys of type K that the leader keeps in one
// Secret of the system namespace and rotates every period. The signing keys
// and the server keys are two of these; reconcile is the rule for both.
type rotatedKeySecret[K any] struct {
	// secretName is the Secret's name in the system namespace.
	secretName string
	// noun names one key in messages ("signing key").
	noun string

	generate     func(now time.Time) (K, error)
	parse        func(data map[string][]byte) (K, error)
	rotate       func(k K, now time.Time, period time.Duration) (rotated K, changed bool, err error)
	secretData   func(k K) (map[string][]byte, error)
	nextRotation func(k K, period time.Duration) time.Time
}

// reconcile creates the Secret if it is missing, rotates the keys when due,
// and requeues for the next rotation. It never overwrites a Secret it cannot
// read.
func (s rotatedKeySecret[K]) reconcile(ctx context.Context, c client.Client, namespace string, period time.Duration, now time.Time) (reconcile.Result, error) {
	key := types.NamespacedName{Namespace: namespace, Name: s.secretName}
	secret := &corev1.Secret{}
	err := c.Get(ctx, key, secret)
	if apierrors.IsNotFound(err) {
		return s.create(ctx, c, key, period, now)
	}
	if err != nil {
		return reconcile.Result{}, err
	}
	k, err := s.parse(secret.Data)
	if err != nil {
		// New keys would break every token, code and login form in flight
		// on every replica; an operator decides (deleting the Secret
		// regenerates it).
		return reconcile.Result{}, reconcile.TerminalError(fmt.Errorf(
			"%s Secret %s is unusable (%w); delete it to generate new keys", s.noun, key, err))
	}
	rotated, changed, err := s.rotate(k, now, period)
	if err != nil {
		return reconcile.Result{}, err
	}
	if changed {
		if secret.Data, err = s.secretData(rotated); err != nil {
			return reconcile.Result{}, err
		}
		// Update carries the resourceVersion we read: if another leader
		// rotated meanwhile, this conflicts and the next pass sees theirs.
		if err := c.Update(ctx, secret); err != nil {
			return reconcile.Result{}, fmt.Errorf("rotating the %ss: %w", s.noun, err)
		}
		logf.FromContext(ctx).Info("rotated "+s.noun+"s", "secret", key)
		k = rotated
	}
	return reconcile.Result{RequeueAfter: max(time.Second, s.nextRotation(k, period).Sub(now))}, nil
}

func (s rotatedKeySecret[K]) create(ctx context.Context, c client.Client, key types.NamespacedName, period time.Duration, now time.Time) (reconcile.Result, error) {
	k, err := s.generate(now)
	if err != nil {
		return reconcile.Result{}, err
	}
	data, err := s.secretData(k)
	if err != nil {
		return reconcile.Result{}, err
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: key.Name, Namespace: key.Namespace,
			Labels: map[string]string{iamv1.LabelManagedBy: iamv1.ManagedByValue}},
		Type: corev1.SecretTypeOpaque,
		Data: data,
	}
	if err := c.Create(ctx, secret); err != nil {
		if apierrors.IsAlreadyExists(err) {
			// A previous leader made them a moment ago: use those.
			return reconcile.Result{RequeueAfter: time.Second}, nil
		}
		return reconcile.Result{}, fmt.Errorf("creating the %ss: %w", s.noun, err)
	}
	logf.FromContext(ctx).Info("created "+s.noun+"s", "secret", key)
	return reconcile.Result{RequeueAfter: period}, nil
}

// setup registers r as the controller called name for this Secret: it
// watches the Secret and kicks off the first pass at start, so the keys exist
// even before anything changes.
func (s rotatedKeySecret[K]) setup(mgr ctrl.Manager, name, namespace string, r reconcile.Reconciler) error {
	key := types.NamespacedName{Namespace: namespace, Name: s.secretName}
	start := make(chan event.GenericEvent, 1)
	start <- event.GenericEvent{Object: &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}}
	one := handler.EnqueueRequestsFromMapFunc(func(context.Context, client.Object) []reconcile.Request {
		return []reconcile.Request{{NamespacedName: key}}
	})
	ours := predicate.NewPredicateFuncs(func(o client.Object) bool {
		return o.GetNamespace() == key.Namespace && o.GetName() == key.Name
	})
	return ctrl.NewControllerManagedBy(mgr).
		Named(name).
		WatchesRawSource(source.Channel(start, one)).
		Watches(&corev1.Secret{}, one, builder.WithPredicates(ours)).
		Complete(r)
}

// keyRotationPeriod is the configured period, or DefaultKeyRotationPeriod.
func keyRotationPeriod(configured time.Duration) time.Duration {
	if configured > 0 {
		return configured
	}
	return DefaultKeyRotationPeriod
}

// clockNow is now(), or time.Now() when no clock is injected.
func clockNow(now func() time.Time) time.Time {
	if now != nil {
		return now()
	}
	return time.Now()
}
