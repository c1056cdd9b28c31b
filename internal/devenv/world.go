package devenv

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// FieldOwner is the server-side apply field manager of ApplyObjects.
const FieldOwner = "orgkeeper-dev"

// pollInterval is how often the waits below look again.
const pollInterval = 200 * time.Millisecond

// EnsureNamespace creates the namespace name unless it exists.
func EnsureNamespace(ctx context.Context, c client.Client, name string) error {
	err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", name, err)
	}
	return nil
}

// ApplyObjects server-side applies objs (as FieldOwner, forcing ownership).
//
// An organization's objects live in the namespace the operator creates for
// it, which exists only once its Organization has been reconciled. So objects
// are applied in rounds: each round applies every object whose namespace
// exists (and is not terminating), in the given order; then ApplyObjects
// waits for one of the missing namespaces to appear. A hierarchy thus comes
// up parent first, whatever the order of objs. It gives up when no missing
// namespace appears within timeout, naming them.
func ApplyObjects(ctx context.Context, c client.Client, objs []*unstructured.Unstructured, timeout time.Duration, log logr.Logger) error {
	if log.GetSink() == nil {
		log = logr.Discard()
	}
	pending := slices.Clone(objs)
	for len(pending) > 0 {
		var waiting []*unstructured.Unstructured
		for _, obj := range pending {
			ready, err := namespaceUsable(ctx, c, obj.GetNamespace())
			if err != nil {
				return err
			}
			if !ready {
				waiting = append(waiting, obj)
				continue
			}
			if err := apply(ctx, c, obj); err != nil {
				return err
			}
			log.V(1).Info("applied", "kind", obj.GetKind(), "namespace", obj.GetNamespace(), "name", obj.GetName())
		}
		if len(waiting) == 0 {
			return nil
		}
		if len(waiting) == len(pending) {
			// Nothing could be applied this round: wait for a namespace.
			if err := waitForAnyNamespace(ctx, c, waiting, timeout); err != nil {
				return err
			}
		}
		pending = waiting
	}
	return nil
}

func apply(ctx context.Context, c client.Client, obj *unstructured.Unstructured) error {
	desc := fmt.Sprintf("%s %s", obj.GetKind(), client.ObjectKeyFromObject(obj))
	// A CRD that has just become established can still be missing from
	// discovery for a moment; retry what may pass on a second try.
	var err error
	backoff := wait.Backoff{Duration: 100 * time.Millisecond, Factor: 2, Steps: 6}
	_ = wait.ExponentialBackoffWithContext(ctx, backoff, func(ctx context.Context) (bool, error) {
		err = c.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj.DeepCopy()),
			client.FieldOwner(FieldOwner), client.ForceOwnership)
		return err == nil || !retryable(err), nil
	})
	if err != nil {
		return fmt.Errorf("applying %s: %w", desc, err)
	}
	return nil
}

func retryable(err error) bool {
	return meta.IsNoMatchError(err) || apierrors.IsNotFound(err) || apierrors.IsConflict(err) ||
		apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) ||
		apierrors.IsTooManyRequests(err) || apierrors.IsServiceUnavailable(err)
}

// namespaceUsable reports whether objects can be created in namespace ns
// ("" for cluster-scoped objects always can).
func namespaceUsable(ctx context.Context, c client.Reader, ns string) (bool, error) {
	if ns == "" {
		return true, nil
	}
	n := &corev1.Namespace{}
	err := c.Get(ctx, client.ObjectKey{Name: ns}, n)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading namespace %s: %w", ns, err)
	}
	return n.Status.Phase != corev1.NamespaceTerminating, nil
}

func waitForAnyNamespace(ctx context.Context, c client.Reader, waiting []*unstructured.Unstructured, timeout time.Duration) error {
	var missing []string
	for _, obj := range waiting {
		if !slices.Contains(missing, obj.GetNamespace()) {
			missing = append(missing, obj.GetNamespace())
		}
	}
	err := wait.PollUntilContextTimeout(ctx, pollInterval, timeout, false, func(ctx context.Context) (bool, error) {
		for _, ns := range missing {
			if ok, err := namespaceUsable(ctx, c, ns); ok || err != nil {
				return ok, err
			}
		}
		return false, nil
	})
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("namespaces %s did not appear within %s (each is created by the operator for the "+
			"Organization of that name; is it among the objects and Ready?): %w", strings.Join(missing, ", "), timeout, err)
	}
	return err
}

// Organizations returns the Organization objects of objs.
func Organizations(objs []*unstructured.Unstructured) []*unstructured.Unstructured {
	var orgs []*unstructured.Unstructured
	for _, obj := range objs {
		if obj.GetKind() == "Organization" && strings.HasPrefix(obj.GetAPIVersion(), "iam.orgkeeper.io/") {
			orgs = append(orgs, obj)
		}
	}
	return orgs
}

// WaitForReady waits until every object of objs (read again from the API
// server) has the condition Ready=True for its current generation. On
// timeout the error names each object that is not Ready, with its reason and
// message.
func WaitForReady(ctx context.Context, c client.Reader, objs []*unstructured.Unstructured, timeout time.Duration) error {
	var notReady []string
	err := wait.PollUntilContextTimeout(ctx, pollInterval, timeout, true, func(ctx context.Context) (bool, error) {
		notReady = notReady[:0]
		for _, want := range objs {
			got := &unstructured.Unstructured{}
			got.SetGroupVersionKind(want.GroupVersionKind())
			if err := c.Get(ctx, client.ObjectKeyFromObject(want), got); err != nil {
				notReady = append(notReady, fmt.Sprintf("%s %s: %v", want.GetKind(), client.ObjectKeyFromObject(want), err))
				continue
			}
			if ok, why := isReady(got); !ok {
				notReady = append(notReady, fmt.Sprintf("%s %s: %s", want.GetKind(), client.ObjectKeyFromObject(want), why))
			}
		}
		return len(notReady) == 0, nil
	})
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("not Ready within %s:\n  %s", timeout, strings.Join(notReady, "\n  "))
	}
	return err
}

// isReady reports whether obj has Ready=True for its current generation and,
// if not, why.
func isReady(obj *unstructured.Unstructured) (bool, string) {
	if observed, found, _ := unstructured.NestedInt64(obj.Object, "status", "observedGeneration"); found && observed < obj.GetGeneration() {
		return false, fmt.Sprintf("generation %d not yet observed (status is for %d)", obj.GetGeneration(), observed)
	}
	conditions, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, raw := range conditions {
		cond, ok := raw.(map[string]any)
		if !ok || cond["type"] != "Ready" {
			continue
		}
		if cond["status"] == string(metav1.ConditionTrue) {
			return true, ""
		}
		return false, fmt.Sprintf("Ready=%v, reason %v: %v", cond["status"], cond["reason"], cond["message"])
	}
	return false, "no Ready condition yet"
}
