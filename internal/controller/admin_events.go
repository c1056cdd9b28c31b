package controller

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
)

// Kubernetes Events for what an administrator should notice without
// reading status: an organization losing a domain or meeting a conflict,
// an identity provider whose discovery starts failing or recovers. They are
// emitted on transitions only (computed from the status before and after a
// pass), so a steady state says nothing.

// Reasons of the Events.
const (
	EventDomainVerified     = "DomainVerified"
	EventDomainLost         = "DomainLost"
	EventDomainConflict     = "DomainConflict"
	EventDiscoveryFailed    = "DiscoveryFailed"
	EventDiscoveryRecovered = "DiscoveryRecovered"
)

// adminEvent is one Event to emit.
type adminEvent struct {
	typ, reason, note string
}

// domainEvents compares an organization's domains before and after a pass:
// a domain that another organization now holds is a conflict (whether or
// not it was verified here before), one that stops being verified for
// another reason is lost, one that becomes verified is announced.
func domainEvents(before, after []iamv1.DomainStatus) []adminEvent {
	was := map[iamv1.Domain]iamv1.DomainStatus{}
	for _, d := range before {
		was[d.Name] = d
	}
	var out []adminEvent
	for _, d := range after {
		prev, known := was[d.Name]
		switch {
		case d.Reason == iamv1.DomainConflict && (!known || prev.Reason != iamv1.DomainConflict):
			out = append(out, adminEvent{corev1.EventTypeWarning, EventDomainConflict,
				fmt.Sprintf("domain %s is held by another organization, so sign-ins with it are not routed here: %s", d.Name, d.Message)})
		case !d.Verified && known && prev.Verified:
			out = append(out, adminEvent{corev1.EventTypeWarning, EventDomainLost,
				fmt.Sprintf("domain %s is no longer verified (%s): %s", d.Name, d.Reason, d.Message)})
		case d.Verified && (!known || !prev.Verified):
			out = append(out, adminEvent{corev1.EventTypeNormal, EventDomainVerified,
				fmt.Sprintf("domain %s is verified: sign-ins with it are routed to this organization", d.Name)})
		}
	}
	return out
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
