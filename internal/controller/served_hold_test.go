package controller

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
)

func TestAFirstStatusIsHeldOnlyWhileItWouldSayNothingButWaitingForTheServer(t *testing.T) {
	waiting := []check{passed(iamv1.ReasonReconciled, ""), failed(iamv1.ReasonWaitingForServer, "not yet")}
	ready := []check{passed(iamv1.ReasonReconciled, ""), passed(iamv1.ReasonReconciled, "")}
	conflict := []check{failed(iamv1.ReasonNamespaceConflict, "taken"), failed(iamv1.ReasonWaitingForServer, "not yet")}
	obj := &metav1.ObjectMeta{Namespace: "platform", Name: "acme", UID: "uid-1"}
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

	clock := t0
	h := heldStatuses{now: func() time.Time { return clock }}
	if !h.hold(obj, true, waiting) {
		t.Fatal("a new object's first status, waiting for the server, is written at once")
	}
	clock = t0.Add(firstStatusGrace - time.Millisecond)
	if !h.hold(obj, true, waiting) {
		t.Fatal("the status is written before the grace is over")
	}
	clock = t0.Add(firstStatusGrace)
	if h.hold(obj, true, waiting) {
		t.Fatal("a status that waited for the whole grace is still held: it would never say WaitingForServer")
	}
	if len(h.held) != 0 {
		t.Fatalf("a written status is still remembered: %v", h.held)
	}

	cases := []struct {
		name         string
		neverWritten bool
		checks       []check
	}{
		{"a status that says Ready is written at once", true, ready},
		{"a status that reports a problem is written at once", true, conflict},
		{"an object that already has a status gets every change written", false, waiting},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := heldStatuses{now: func() time.Time { return t0 }}
			if h.hold(obj, tc.neverWritten, tc.checks) {
				t.Fatal("held")
			}
			if len(h.held) != 0 {
				t.Fatalf("remembered: %v", h.held)
			}
		})
	}

	t.Run("a new object of the same name starts its own grace", func(t *testing.T) {
		clock := t0
		h := heldStatuses{now: func() time.Time { return clock }}
		h.hold(obj, true, waiting)
		clock = t0.Add(firstStatusGrace)
		again := &metav1.ObjectMeta{Namespace: obj.Namespace, Name: obj.Name, UID: "uid-2"}
		if !h.hold(again, true, waiting) {
			t.Fatal("the recreated object inherits the old one's wait")
		}
	})
	t.Run("a deleted object is forgotten", func(t *testing.T) {
		var h heldStatuses
		h.hold(obj, true, waiting)
		h.forget(types.NamespacedName{Namespace: obj.Namespace, Name: obj.Name})
		if len(h.held) != 0 {
			t.Fatalf("remembered: %v", h.held)
		}
	})
}
