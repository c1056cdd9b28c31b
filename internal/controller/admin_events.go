package controller

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
)

// Kubernetes Events for what an administrator should notice without
// reading status: an identity provider whose discovery starts failing or
// recovers (an organization's domain changes are in organization_domains.go). They are
// emitted on transitions only (computed from the status before and after a
// pass), so a steady state says nothing.

// Reasons of the identity provider Events.
const (
	EventDiscoveryFailed    = "DiscoveryFailed"
	EventDiscoveryRecovered = "DiscoveryRecovered"
)

// adminEvent is one Event to emit.
type adminEvent struct {
	typ, reason, note string
}

// discoveryEvent compares an identity provider's DiscoveryReady condition
// before a pass with the pass's discovery check: failing after working (or
// on its first try) is a Warning, working after failing a recovery.
func discoveryEvent(before []metav1.Condition, now check) (adminEvent, bool) {
	if !now.ran {
		return adminEvent{}, false
	}
	prev := meta.FindStatusCondition(before, iamv1.ConditionDiscoveryReady)
	wasFailing := prev != nil && prev.Status == metav1.ConditionFalse
	switch {
	case !now.ok && !wasFailing:
		return adminEvent{corev1.EventTypeWarning, EventDiscoveryFailed, now.message}, true
	case now.ok && wasFailing:
		return adminEvent{corev1.EventTypeNormal, EventDiscoveryRecovered, now.message}, true
	}
	return adminEvent{}, false
}

// emit sends events about obj through rec (nil: none).
func emit(rec events.EventRecorder, obj runtime.Object, action string, evs ...adminEvent) {
	if rec == nil {
		return
	}
	for _, e := range evs {
		rec.Eventf(obj, nil, e.typ, e.reason, action, "%s", e.note)
	}
}
