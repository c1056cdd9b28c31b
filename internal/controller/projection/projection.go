// Package projection turns the API objects into what the OIDC server serves.
// It runs on every replica (not leader-elected): on any change of the four
// Orgkeeper kinds, of a Secret, of an organization's namespace, or of the
// signing keys, it lists everything
// from the informer cache, calls the pure snapshot.Build, and publishes the
// result through a snapshot.SnapshotSetter. The server never reads the API.
//
// After publishing, it tells the status reconcilers which objects are now
// served at a new generation (or have new problems), so their Ready condition
// flips only once the server actually serves what the object says.
package projection

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/audit"
	"github.com/orgkeeper/orgkeeper/internal/keys"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
	"github.com/orgkeeper/orgkeeper/internal/telemetry"
)

// SigningKeySecret is the Secret in the system namespace that holds the
// signing keys, written by the leader's key reconciler.
const SigningKeySecret = "orgkeeper-signing-keys"

// ServerKeySecret is the Secret in the system namespace that holds the
// issuer's shared symmetric keys (keys.ServerKeys), written by the leader.
const ServerKeySecret = "orgkeeper-server-keys"

// the single work item: every change means "rebuild", and the work queue
// folds a burst of changes into one rebuild.
var rebuild = reconcile.Request{NamespacedName: types.NamespacedName{Name: "snapshot"}}

// restFactor is how many times as long as its last build the projection
// rests before the next one (see Reconcile).
const restFactor = 3

// Projection builds and publishes snapshots and signing keys.
type Projection struct {
	// Reader is the manager's cached client.
	Reader          client.Reader
	SystemNamespace string
	// Snapshots receives every new snapshot.
	Snapshots snapshot.SnapshotSetter
	// Now defaults to time.Now; it only stamps snapshots.
	Now func() time.Time
	// AllowLoopbackIssuers serves identity providers on plain http loopback
	// issuers (snapshot.Input.AllowLoopbackIssuers): dev and tests only.
	AllowLoopbackIssuers bool
	// Metrics records build duration, snapshot size and projection lag;
	// nil records nothing.
	Metrics *telemetry.Metrics
	// Audit receives admin changes (objects created, changed or deleted)
	// on the leader; nil records none.
	Audit audit.Sink
	// Elected is closed once this replica leads (manager.Elected()); nil
	// means it always does.
	Elected <-chan struct{}

	// writes is set by TrackWrites; tstate only Reconcile touches.
	writesOnce sync.Once
	writes     *writeLog
	tstate     telemetryState

	version atomic.Int64
	keySet  atomic.Pointer[keys.KeySet]
	keyRV   atomic.Pointer[string]

	serverKeys   atomic.Pointer[keys.ServerKeys]
	serverKeysRV atomic.Pointer[string]

	// lastBuild and lastEnd pace rebuilds (see Reconcile); only Reconcile
	// touches them, and it never runs concurrently.
	lastBuild time.Duration
	lastEnd   time.Time

	mu       sync.Mutex
	last     *snapshot.Snapshot
	problems map[snapshot.ObjectKey][]snapshot.Problem
	events   map[snapshot.Kind]chan event.GenericEvent
}

// KeySet returns the current signing keys (nil until the leader made them);
// it makes Projection an oidc.KeySetGetter.
func (p *Projection) KeySet() *keys.KeySet { return p.keySet.Load() }

// ServerKeys returns the issuer's shared crypto and CSRF keys (nil until the
// leader made them); it makes Projection a server.ServerKeysGetter.
func (p *Projection) ServerKeys() *keys.ServerKeys { return p.serverKeys.Load() }

// Problems returns what the last build found wrong with one object.
func (p *Projection) Problems(key snapshot.ObjectKey) []snapshot.Problem {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.problems[key]
}

// Served returns the last published snapshot (nil before the first).
func (p *Projection) Served() *snapshot.Snapshot {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last
}

// ServesObject reports whether the last published snapshot serves obj as it
// is now (same UID and generation).
func (p *Projection) ServesObject(kind snapshot.Kind, obj metav1.Object) bool {
	return p.Served().ServesObject(kind, obj)
}

// Events returns the channel on which the projection announces objects of a
// kind whose served state changed. Status reconcilers watch it with
// source.Channel. Sends never block: when nobody listens (a replica that is
// not the leader) the announcement is dropped, and reconcilers waiting for
// the server also requeue on a timer.
func (p *Projection) Events(kind snapshot.Kind) <-chan event.GenericEvent {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.events == nil {
		p.events = map[snapshot.Kind]chan event.GenericEvent{}
	}
	ch, ok := p.events[kind]
	if !ok {
		ch = make(chan event.GenericEvent, 1<<16)
		p.events[kind] = ch
	}
	return ch
}

// Reconcile rebuilds the snapshot from the cache and publishes it.
func (p *Projection) Reconcile(ctx context.Context, _ reconcile.Request) (reconcile.Result, error) {
	// During a storm of changes (thousands of organizations applied at
	// once) rebuilding back to back would keep a core busy with snapshots
	// that are stale at once, and the cost of the storm would grow with the
	// square of the world's size (each build is linear, and they follow
	// one another for as long as the storm lasts). Resting restFactor times
	// as long as the last build took keeps the projection under a quarter
	// of a core, leaving the rest to the reconcilers and the API server
	// that the storm waits for; the work queue folds the changes that
	// arrive meanwhile into the next build. A small world builds in about
	// a millisecond, so a single change is served without delay.
	if rest := restFactor*p.lastBuild - time.Since(p.lastEnd); rest > 0 {
		select {
		case <-time.After(rest):
		case <-ctx.Done():
			return reconcile.Result{}, ctx.Err()
		}
	}
	start := time.Now()
	defer func() { p.lastBuild, p.lastEnd = time.Since(start), time.Now() }()
	if err := p.loadKeys(ctx); err != nil {
		return reconcile.Result{}, err
	}
	if err := p.loadServerKeys(ctx); err != nil {
		return reconcile.Result{}, err
	}
	// Build only reads its input, so the cache's objects need no copying.
	noCopy := client.UnsafeDisableDeepCopy
	orgs, users := &iamv1.OrganizationList{}, &iamv1.OrgUserList{}
	apps, idps := &iamv1.SharedApplicationList{}, &iamv1.IdentityProviderList{}
	secrets, namespaces := &corev1.SecretList{}, &corev1.NamespaceList{}
	for _, l := range []client.ObjectList{orgs, users, apps, idps, secrets, namespaces} {
		if err := p.Reader.List(ctx, l, noCopy); err != nil {
			p.Metrics.SnapshotBuilt(time.Since(start), err, telemetry.SnapshotSize{})
			return reconcile.Result{}, fmt.Errorf("listing for the snapshot: %w", err)
		}
	}
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	snap, problems := snapshot.Build(snapshot.Input{
		SystemNamespace:   p.SystemNamespace,
		Version:           p.version.Add(1),
		Now:               now(),
		Organizations:     orgs.Items,
		Namespaces:        namespaces.Items,
		Users:             users.Items,
		Applications:      apps.Items,
		IdentityProviders: idps.Items,
		Secrets:           secrets.Items,

		AllowLoopbackIssuers: p.AllowLoopbackIssuers,
	})
	p.Snapshots.SetSnapshot(snap)

	byObject := snapshot.ProblemsByObject(problems)
	p.mu.Lock()
	prev, prevProblems := p.last, p.problems
	p.last, p.problems = snap, byObject
	p.mu.Unlock()

	p.announce(snap, prev, byObject, prevProblems, orgs.Items, users.Items, apps.Items, idps.Items)
	p.observeBuild(ctx, time.Since(start), sizeOf(snap, idps.Items), objectsOf(orgs, users, apps, idps), objectsOf(secrets))
	logf.FromContext(ctx).V(1).Info("snapshot published", "version", snap.Version,
		"organizations", len(orgs.Items), "users", len(users.Items), "applications", len(apps.Items),
		"problems", len(problems), "took", time.Since(start))
	return reconcile.Result{}, nil
}

// loadKeys reads the signing keys when their Secret changed.
func (p *Projection) loadKeys(ctx context.Context) error {
	return loadKeySecret(ctx, p.Reader, types.NamespacedName{Namespace: p.SystemNamespace, Name: SigningKeySecret},
		"signing key", keys.FromSecretData, &p.keySet, &p.keyRV)
}

// loadServerKeys reads the server keys when their Secret changed.
func (p *Projection) loadServerKeys(ctx context.Context) error {
	return loadKeySecret(ctx, p.Reader, types.NamespacedName{Namespace: p.SystemNamespace, Name: ServerKeySecret},
		"server key", keys.ServerKeysFromSecretData, &p.serverKeys, &p.serverKeysRV)
}

// loadKeySecret parses the keys in the Secret at key into dst when the
// Secret's resourceVersion differs from the one in rv, the version dst was
// loaded from. A missing Secret or one that does not parse leaves dst alone:
// the leader creates or repairs it, and its event brings us back.
func loadKeySecret[K any](ctx context.Context, r client.Reader, key types.NamespacedName, noun string,
	parse func(map[string][]byte) (*K, error), dst *atomic.Pointer[K], rv *atomic.Pointer[string]) error {
	s := &corev1.Secret{}
	err := r.Get(ctx, key, s)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if loaded := rv.Load(); loaded != nil && *loaded == s.ResourceVersion {
		return nil
	}
	k, err := parse(s.Data)
	if err != nil {
		// Keep serving the keys we have; the leader repairs the Secret.
		logf.FromContext(ctx).Error(err, noun+" Secret is unusable; keeping the previous keys", "secret", key.Name)
		return nil
	}
	dst.Store(k)
	rv.Store(ptr.To(s.ResourceVersion))
	return nil
}

// announce sends an event for every object whose served version or problems
// changed between two snapshots.
func (p *Projection) announce(cur, prev *snapshot.Snapshot, problems, prevProblems map[snapshot.ObjectKey][]snapshot.Problem,
	orgs []iamv1.Organization, users []iamv1.OrgUser, apps []iamv1.SharedApplication, idps []iamv1.IdentityProvider) {
	p.mu.Lock()
	events := maps.Clone(p.events)
	p.mu.Unlock()
	changed := func(key snapshot.ObjectKey) bool {
		a, aok := cur.ServedVersion(key)
		b, bok := prev.ServedVersion(key)
		return a != b || aok != bok || !slices.Equal(problems[key], prevProblems[key])
	}
	send := func(kind snapshot.Kind, obj client.Object) {
		ch := events[kind]
		if ch == nil || !changed(snapshot.ObjectKey{Kind: kind, Namespace: obj.GetNamespace(), Name: obj.GetName()}) {
			return
		}
		select {
		case ch <- event.GenericEvent{Object: obj}:
		default:
		}
	}
	for i := range orgs {
		send(snapshot.KindOrganization, &orgs[i])
	}
	for i := range users {
		send(snapshot.KindOrgUser, &users[i])
	}
	for i := range apps {
		send(snapshot.KindSharedApplication, &apps[i])
	}
	for i := range idps {
		send(snapshot.KindIdentityProvider, &idps[i])
	}
}

// SetupWithManager registers the projection on every replica.
func (p *Projection) SetupWithManager(mgr ctrl.Manager) error {
	all := handler.EnqueueRequestsFromMapFunc(func(context.Context, client.Object) []reconcile.Request {
		return []reconcile.Request{rebuild}
	})
	return ctrl.NewControllerManagedBy(mgr).
		Named("projection").
		Watches(&iamv1.Organization{}, all).
		Watches(&iamv1.OrgUser{}, all).
		Watches(&iamv1.SharedApplication{}, all).
		Watches(&iamv1.IdentityProvider{}, all).
		Watches(&corev1.Secret{}, all).
		Watches(&corev1.Namespace{}, all).
		WithOptions(controller.Options{NeedLeaderElection: ptr.To(false), MaxConcurrentReconciles: 1}).
		Complete(p)
}
