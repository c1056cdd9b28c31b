package projection

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/event"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/keys"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

// fakeSetter records every snapshot the projection publishes.
type fakeSetter struct {
	mu    sync.Mutex
	snaps []*snapshot.Snapshot
}

func (f *fakeSetter) SetSnapshot(s *snapshot.Snapshot) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.snaps = append(f.snaps, s)
}

func (f *fakeSetter) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.snaps)
}

func (f *fakeSetter) last() *snapshot.Snapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.snaps[len(f.snaps)-1]
}

type fixture struct {
	c      client.Client
	setter *fakeSetter
	p      *Projection
}

// newFixture is a projection over a fake cache holding a small world: a root
// organization with one user and one application.
func newFixture(t *testing.T, extra ...client.Object) *fixture {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := iamv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	in := st.World(st.Org("acme"), st.User("acme", "ada", "ada@acme.example"), st.App("acme", "portal"))
	objs := append([]client.Object{}, extra...)
	for i := range in.Organizations {
		objs = append(objs, &in.Organizations[i])
	}
	for i := range in.Users {
		objs = append(objs, &in.Users[i])
	}
	for i := range in.Applications {
		objs = append(objs, &in.Applications[i])
	}
	for i := range in.Secrets {
		objs = append(objs, &in.Secrets[i])
	}
	for i := range in.Namespaces {
		objs = append(objs, &in.Namespaces[i])
	}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).Build()
	setter := &fakeSetter{}
	return &fixture{c: c, setter: setter, p: &Projection{Reader: c, SystemNamespace: st.SystemNamespace, Snapshots: setter}}
}

func (f *fixture) reconcile(t *testing.T) {
	t.Helper()
	if _, err := f.p.Reconcile(context.Background(), rebuild); err != nil {
		t.Fatal(err)
	}
}

// received drains the announcements waiting on ch.
func received(ch <-chan event.GenericEvent) []string {
	var names []string
	for {
		select {
		case e := <-ch:
			names = append(names, e.Object.GetNamespace()+"/"+e.Object.GetName())
		default:
			return names
		}
	}
}

func TestReconcilePublishesASnapshotWithAGrowingVersion(t *testing.T) {
	f := newFixture(t)
	f.reconcile(t)
	f.reconcile(t)
	if f.setter.count() != 2 {
		t.Fatalf("%d snapshots published, want 2", f.setter.count())
	}
	if v1, v2 := f.setter.snaps[0].Version, f.setter.snaps[1].Version; v2 <= v1 {
		t.Fatalf("versions %d then %d: not increasing", v1, v2)
	}
	if f.p.Served() != f.setter.last() {
		t.Fatal("Served() is not the snapshot last published")
	}
}

func TestAnObjectIsAnnouncedWhenItsServedVersionChangesAndNotOtherwise(t *testing.T) {
	f := newFixture(t)
	users := f.p.Events(snapshot.KindOrgUser)
	apps := f.p.Events(snapshot.KindSharedApplication)

	f.reconcile(t)
	if got := received(users); len(got) != 1 || got[0] != "acme/ada" {
		t.Fatalf("first build announced users %v, want [acme/ada]", got)
	}
	if got := received(apps); len(got) != 1 || got[0] != "acme/portal" {
		t.Fatalf("first build announced applications %v, want [acme/portal]", got)
	}

	f.reconcile(t)
	if got := append(received(users), received(apps)...); len(got) != 0 {
		t.Fatalf("a rebuild with nothing changed announced %v", got)
	}

	u := &iamv1.OrgUser{}
	if err := f.c.Get(context.Background(), client.ObjectKey{Namespace: "acme", Name: "ada"}, u); err != nil {
		t.Fatal(err)
	}
	u.Spec.DisplayName = "Ada Lovelace"
	u.Generation++
	if err := f.c.Update(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	f.reconcile(t)
	if got := received(users); len(got) != 1 || got[0] != "acme/ada" {
		t.Fatalf("after ada changed, users announced %v, want [acme/ada]", got)
	}
	if got := received(apps); len(got) != 0 {
		t.Fatalf("after ada changed, applications announced %v, want none", got)
	}
	if !f.p.ServesObject(snapshot.KindOrgUser, u) {
		t.Fatal("the projection does not serve ada's new generation")
	}
}

func TestAnnouncementsNeverBlockWhenNobodyListens(t *testing.T) {
	f := newFixture(t)
	ch := f.p.Events(snapshot.KindOrgUser)
	for range cap(ch) {
		f.p.events[snapshot.KindOrgUser] <- event.GenericEvent{Object: &iamv1.OrgUser{}}
	}
	done := make(chan struct{})
	go func() { defer close(done); f.reconcile(t) }()
	<-done // with a full channel, a blocking send would hang here (and the test time out)
	if f.setter.count() != 1 {
		t.Fatal("no snapshot published")
	}
}

func TestARebuildRightAfterASlowOneRestsFirst(t *testing.T) {
	// The last build took an hour and ended just now: the next one must
	// wait, and gives up when its context ends instead of building.
	f := newFixture(t)
	f.p.lastBuild, f.p.lastEnd = time.Hour, time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.p.Reconcile(ctx, rebuild); !errors.Is(err, context.Canceled) {
		t.Fatalf("Reconcile = %v, want context.Canceled while resting", err)
	}
	if f.setter.count() != 0 {
		t.Fatal("the projection built during its rest")
	}
	// The rest is several times the build: two hours after a build of an
	// hour, it still rests (the projection stays well under half a core
	// during a storm).
	f.p.lastEnd = time.Now().Add(-2 * time.Hour)
	if _, err := f.p.Reconcile(ctx, rebuild); !errors.Is(err, context.Canceled) {
		t.Fatalf("Reconcile = %v, want context.Canceled while resting", err)
	}
	if f.setter.count() != 0 {
		t.Fatal("the projection built during its rest")
	}
	// Once the rest is over (here: a build long ago) it builds at once.
	f.p.lastEnd = time.Now().Add(-(restFactor + 1) * time.Hour)
	f.reconcile(t)
	if f.setter.count() != 1 {
		t.Fatal("no build after the rest")
	}
	if f.p.lastBuild <= 0 || f.p.lastBuild >= time.Hour {
		t.Fatalf("lastBuild = %v, want the duration of this build", f.p.lastBuild)
	}
}

func signingSecret(t *testing.T) *corev1.Secret {
	t.Helper()
	set, err := keys.NewKeySet(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	data, err := set.SecretData()
	if err != nil {
		t.Fatal(err)
	}
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: st.SystemNamespace, Name: SigningKeySecret}, Data: data}
}

func serverSecret(t *testing.T) *corev1.Secret {
	t.Helper()
	k, err := keys.NewServerKeys(time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: st.SystemNamespace, Name: ServerKeySecret}, Data: k.SecretData()}
}

func TestKeysAreAbsentUntilTheLeaderMakesThemThenLoaded(t *testing.T) {
	f := newFixture(t)
	f.reconcile(t)
	if f.p.KeySet() != nil || f.p.ServerKeys() != nil {
		t.Fatal("keys without Secrets")
	}
	if f.setter.count() != 1 {
		t.Fatal("missing keys must not stop the snapshot")
	}
	sign, srv := signingSecret(t), serverSecret(t)
	for _, s := range []client.Object{sign, srv} {
		if err := f.c.Create(context.Background(), s); err != nil {
			t.Fatal(err)
		}
	}
	f.reconcile(t)
	if f.p.KeySet() == nil {
		t.Fatal("signing keys not loaded")
	}
	want, err := keys.ServerKeysFromSecretData(srv.Data)
	if err != nil {
		t.Fatal(err)
	}
	if !f.p.ServerKeys().Equal(want) {
		t.Fatal("server keys loaded are not the Secret's")
	}
}

func TestKeysAreReloadedOnlyWhenTheirSecretChanges(t *testing.T) {
	sign, srv := signingSecret(t), serverSecret(t)
	f := newFixture(t, sign, srv)
	f.reconcile(t)
	firstSet, firstServer := f.p.KeySet(), f.p.ServerKeys()
	f.reconcile(t)
	if f.p.KeySet() != firstSet || f.p.ServerKeys() != firstServer {
		t.Fatal("keys were reloaded although their Secrets did not change")
	}

	rotated, _, err := keys.RotateServerKeys(firstServer, firstServer.Created.Add(time.Hour), time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	cur := &corev1.Secret{}
	if err := f.c.Get(context.Background(), client.ObjectKeyFromObject(srv), cur); err != nil {
		t.Fatal(err)
	}
	cur.Data = rotated.SecretData()
	if err := f.c.Update(context.Background(), cur); err != nil {
		t.Fatal(err)
	}
	f.reconcile(t)
	if !f.p.ServerKeys().Equal(rotated) {
		t.Fatal("rotated server keys not loaded")
	}
	if f.p.KeySet() != firstSet {
		t.Fatal("signing keys reloaded although only the server keys changed")
	}
}

func TestAnUnusableKeySecretKeepsThePreviousKeys(t *testing.T) {
	sign, srv := signingSecret(t), serverSecret(t)
	f := newFixture(t, sign, srv)
	f.reconcile(t)
	set, server := f.p.KeySet(), f.p.ServerKeys()
	for _, obj := range []*corev1.Secret{sign, srv} {
		cur := &corev1.Secret{}
		if err := f.c.Get(context.Background(), client.ObjectKeyFromObject(obj), cur); err != nil {
			t.Fatal(err)
		}
		cur.Data = map[string][]byte{"garbage": []byte("x")}
		if err := f.c.Update(context.Background(), cur); err != nil {
			t.Fatal(err)
		}
	}
	f.reconcile(t)
	if f.p.KeySet() != set || f.p.ServerKeys() != server {
		t.Fatal("an unusable Secret replaced the keys being served")
	}
	if f.setter.count() != 2 {
		t.Fatal("an unusable key Secret stopped the snapshot")
	}
}
