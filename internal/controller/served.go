package controller

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/source"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
)

// Server is what the status reconcilers need from the serving side (the
// projection): whether the OIDC server serves an object as it is now, what
// the snapshot build found wrong with it, and a feed of objects whose served
// state changed. With it, Ready=True means "being served" (api.md section 6).
type Server interface {
	ServesObject(kind snapshot.Kind, obj metav1.Object) bool
	Problems(key snapshot.ObjectKey) []snapshot.Problem
	Events(kind snapshot.Kind) <-chan event.GenericEvent
}

// servedRetry bounds how long a status may wait for the server when an
// announcement was missed.
const servedRetry = 2 * time.Second

// servedCheck is the last check of a served kind's Ready chain. Without a
// Server (reconciler tests without the OIDC side) it passes.
func servedCheck(srv Server, kind snapshot.Kind, obj metav1.Object) check {
	if srv == nil {
		return passed(iamv1.ReasonReconciled, "")
	}
	if problems := srv.Problems(snapshot.ObjectKey{Kind: kind, Namespace: obj.GetNamespace(), Name: obj.GetName()}); len(problems) > 0 {
		return failed(problems[0].Reason, "%s", problems[0].Message)
	}
	if !srv.ServesObject(kind, obj) {
		return failed(iamv1.ReasonWaitingForServer, "the OIDC server does not serve generation %d yet", obj.GetGeneration())
	}
	return passed(iamv1.ReasonReconciled, "")
}

// watchServed adds the server's feed of served-state changes to a controller.
func watchServed(b *builder.Builder, srv Server, kind snapshot.Kind) *builder.Builder {
	if srv == nil {
		return b
	}
	return b.WatchesRawSource(source.Channel(srv.Events(kind), &handler.EnqueueRequestForObject{}))
}
