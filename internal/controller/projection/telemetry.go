package projection

import (
	"context"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/audit"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
	"github.com/orgkeeper/orgkeeper/internal/telemetry"
)

// The informer cache drops managedFields (they are most of an object's
// size), but they are the only record of when an object was last written
// and by which field manager. TrackWrites keeps exactly that, per object,
// before the fields are dropped: the projection uses it to measure the lag
// from an API write to its being served, and to name the manager of an
// admin change in the audit line.

// lastWrite is the newest managedFields entry of an object.
type lastWrite struct {
	at      time.Time
	manager string
}

// writeLog is what TrackWrites saw, by UID.
type writeLog struct {
	mu sync.Mutex
	m  map[types.UID]lastWrite
}

func (l *writeLog) get(uid types.UID) lastWrite {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.m[uid]
}

// keepOnly forgets the objects that are not in live (deleted ones), except
// those written since notBefore: they may have been created after the
// listing, and are needed by the next build.
func (l *writeLog) keepOnly(live map[types.UID]struct{}, notBefore time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for uid, w := range l.m {
		if _, ok := live[uid]; !ok && w.at.Before(notBefore) {
			delete(l.m, uid)
		}
	}
}

// TrackWrites returns a cache transform that records the newest
// managedFields entry (time and manager) of each object the projection
// reads, then runs next (which strips managedFields). Give it as the
// cache's DefaultTransform.
func (p *Projection) TrackWrites(next toolscache.TransformFunc) toolscache.TransformFunc {
	p.writesOnce.Do(func() { p.writes = &writeLog{m: map[types.UID]lastWrite{}} })
	log := p.writes
	return func(in any) (any, error) {
		switch o := in.(type) {
		case *iamv1.Organization, *iamv1.OrgUser, *iamv1.SharedApplication, *iamv1.IdentityProvider, *corev1.Secret:
			if obj, ok := o.(metav1.Object); ok {
				if w, ok := newestWrite(obj.GetManagedFields()); ok {
					log.mu.Lock()
					log.m[obj.GetUID()] = w
					log.mu.Unlock()
				}
			}
		}
		if next == nil {
			return in, nil
		}
		return next(in)
	}
}

func newestWrite(entries []metav1.ManagedFieldsEntry) (lastWrite, bool) {
	var w lastWrite
	for _, e := range entries {
		if e.Time != nil && e.Time.After(w.at) {
			w = lastWrite{at: e.Time.Time, manager: e.Manager}
		}
	}
	return w, !w.at.IsZero()
}

// observed is what the previous build saw of one admin-managed object.
type observed struct {
	kind, namespace, name string
	generation            int64
}

// telemetryState is the projection's memory between builds for lag and
// admin changes; only Reconcile touches it (never concurrently).
type telemetryState struct {
	built       bool
	newestWrite time.Time
	objects     map[types.UID]observed
}

// observeBuild records a published build: its size, the lag from the
// newest write it includes, and (on the leader) the admin changes since
// the previous build. objs are the Organizations, OrgUsers,
// SharedApplications and IdentityProviders listed; others (Secrets) only
// count for the lag.
func (p *Projection) observeBuild(ctx context.Context, took time.Duration, size telemetry.SnapshotSize, objs, others []client.Object) {
	p.Metrics.SnapshotBuilt(took, nil, size)
	if p.writes == nil {
		return
	}
	now := time.Now()
	st := &p.tstate
	live := make(map[types.UID]struct{}, len(objs)+len(others))
	newest := st.newestWrite
	for _, set := range [][]client.Object{objs, others} {
		for _, o := range set {
			live[o.GetUID()] = struct{}{}
			if w := p.writes.get(o.GetUID()); w.at.After(newest) {
				newest = w.at
			}
		}
	}
	if st.built && newest.After(st.newestWrite) {
		p.Metrics.ProjectionLag(now.Sub(newest))
	}
	st.newestWrite = newest
	p.auditChanges(ctx, objs)
	st.built = true
	// Write times have one-second precision, hence the margin.
	p.writes.keepOnly(live, now.Add(-took-2*time.Second))
}

// auditChanges records created, changed (new generation) and deleted
// objects as admin changes, on the leader only: every replica sees them,
// one line is enough. The first build is the baseline.
func (p *Projection) auditChanges(ctx context.Context, objs []client.Object) {
	st := &p.tstate
	prev := st.objects
	st.objects = make(map[types.UID]observed, len(objs))
	for _, o := range objs {
		st.objects[o.GetUID()] = observed{kind: kindOf(o), namespace: o.GetNamespace(), name: o.GetName(), generation: o.GetGeneration()}
	}
	if !st.built || p.Audit == nil || !p.leading() {
		return
	}
	record := func(uid types.UID, ob observed, change string) {
		p.Audit.Record(ctx, audit.Event{Event: audit.EventAdminChange, Organization: orgOf(ob), Object: &audit.Object{
			Kind: ob.kind, Namespace: ob.namespace, Name: ob.name, Generation: ob.generation,
			Change: change, Manager: p.writes.get(uid).manager}})
	}
	for uid, ob := range st.objects {
		before, ok := prev[uid]
		switch {
		case !ok:
			record(uid, ob, "created")
		case before.generation != ob.generation:
			record(uid, ob, "updated")
		}
	}
	for uid, ob := range prev {
		if _, ok := st.objects[uid]; !ok {
			record(uid, ob, "deleted")
		}
	}
}

// leading reports whether this replica is the leader (Elected closed; no
// channel means a single replica, which leads).
func (p *Projection) leading() bool {
	if p.Elected == nil {
		return true
	}
	select {
	case <-p.Elected:
		return true
	default:
		return false
	}
}

// orgOf is the organization an object belongs to: its namespace, except
// for an Organization, which is its own.
func orgOf(ob observed) string {
	if ob.kind == "Organization" {
		return ob.name
	}
	return ob.namespace
}

func kindOf(o client.Object) string {
	switch o.(type) {
	case *iamv1.Organization:
		return "Organization"
	case *iamv1.OrgUser:
		return "OrgUser"
	case *iamv1.SharedApplication:
		return "SharedApplication"
	case *iamv1.IdentityProvider:
		return "IdentityProvider"
	}
	return ""
}

// sizeOf counts what snap serves; idps are the IdentityProviders listed
// (the snapshot keeps them by organization, not in one set).
func sizeOf(snap *snapshot.Snapshot, idps []iamv1.IdentityProvider) telemetry.SnapshotSize {
	n := 0
	for i := range idps {
		if _, ok := snap.ServedVersion(snapshot.ObjectKey{Kind: snapshot.KindIdentityProvider, Namespace: idps[i].Namespace, Name: idps[i].Name}); ok {
			n++
		}
	}
	return telemetry.SnapshotSize{Organizations: len(snap.Orgs()), Users: snap.UserCount(), Clients: len(snap.Clients()), IdentityProviders: n}
}

// objectsOf flattens lists of the projection's kinds into their objects
// (pointers into each list's Items, so nothing is copied).
func objectsOf(lists ...client.ObjectList) []client.Object {
	var out []client.Object
	for _, l := range lists {
		items, err := meta.ExtractList(l)
		if err != nil {
			continue // not a list: nothing to flatten
		}
		for _, it := range items {
			if o, ok := it.(client.Object); ok {
				out = append(out, o)
			}
		}
	}
	return out
}
