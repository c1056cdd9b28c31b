package projection

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/audit"
	"github.com/orgkeeper/orgkeeper/internal/audit/audittest"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
	"github.com/orgkeeper/orgkeeper/internal/telemetry/telemetrytest"
)

// observedFixture is newFixture with metrics, audit and write tracking on.
func observedFixture(t *testing.T) (*fixture, *prometheus.Registry, *audittest.Recorder, func(client.Object, time.Time, string)) {
	t.Helper()
	f := newFixture(t)
	reg := prometheus.NewRegistry()
	m := telemetrytest.New(t, reg)
	sink := &audittest.Recorder{}
	f.p.Metrics, f.p.Audit = m, sink
	transform := f.p.TrackWrites(nil)
	// written runs the transform on obj as the informer would on a watch
	// event after a write at when by manager.
	written := func(obj client.Object, when time.Time, manager string) {
		obj.SetManagedFields([]metav1.ManagedFieldsEntry{{Manager: manager, Operation: metav1.ManagedFieldsOperationUpdate,
			Time: &metav1.Time{Time: when}}})
		if _, err := transform(obj); err != nil {
			t.Fatal(err)
		}
	}
	return f, reg, sink, written
}

func TestABuildRecordsItsDurationAndTheSizeOfWhatIsServed(t *testing.T) {
	f, reg, _, _ := observedFixture(t)
	f.reconcile(t)
	want := `
# HELP orgkeeper_snapshot_objects Objects in the snapshot being served, by kind (organizations, users, clients, identity_providers).
# TYPE orgkeeper_snapshot_objects gauge
orgkeeper_snapshot_objects{kind="clients"} 1
orgkeeper_snapshot_objects{kind="identity_providers"} 0
orgkeeper_snapshot_objects{kind="organizations"} 1
orgkeeper_snapshot_objects{kind="users"} 1
# HELP orgkeeper_snapshot_builds_total Snapshot builds, by result (published, error).
# TYPE orgkeeper_snapshot_builds_total counter
orgkeeper_snapshot_builds_total{result="published"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "orgkeeper_snapshot_objects", "orgkeeper_snapshot_builds_total"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(reg, "orgkeeper_snapshot_build_duration_seconds"); n != 1 {
		t.Errorf("build duration: %d series, want 1", n)
	}
}

func TestTheLagFromANewWriteToItsBeingServedIsMeasuredOncePerWrite(t *testing.T) {
	f, reg, _, written := observedFixture(t)
	ctx := context.Background()
	org := &iamv1.Organization{}
	if err := f.c.Get(ctx, client.ObjectKey{Namespace: st.SystemNamespace, Name: "acme"}, org); err != nil {
		t.Fatal(err)
	}
	// What the cache held at start-up is not a lag: the first build is the
	// baseline.
	written(org, time.Now().Add(-time.Hour), "kubectl")
	f.reconcile(t)
	if n := lagSamples(t, reg); n != 0 {
		t.Fatalf("the first build measured %d lags, want none", n)
	}
	// A write three seconds ago, served now.
	written(org, time.Now().Add(-3*time.Second), "kubectl")
	f.reconcile(t)
	if n := lagSamples(t, reg); n != 1 {
		t.Fatalf("lags measured after one write: %d, want 1", n)
	}
	if sum := lagSum(t, reg); sum < 3 || sum > 3600 {
		t.Errorf("lag %vs, want at least the 3s since the write (and not the hour of the start-up state)", sum)
	}
	// A rebuild with no newer write measures nothing more.
	f.reconcile(t)
	if n := lagSamples(t, reg); n != 1 {
		t.Errorf("a rebuild without a new write measured a lag (%d samples)", n)
	}
}

func lagSamples(t *testing.T, reg *prometheus.Registry) uint64 {
	t.Helper()
	return lagHistogram(t, reg).GetSampleCount()
}

func lagSum(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	return lagHistogram(t, reg).GetSampleSum()
}

func lagHistogram(t *testing.T, reg *prometheus.Registry) interface {
	GetSampleCount() uint64
	GetSampleSum() float64
} {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "orgkeeper_projection_lag_seconds" {
			return mf.GetMetric()[0].GetHistogram()
		}
	}
	t.Fatal("no orgkeeper_projection_lag_seconds")
	return nil
}

func TestAdminChangesAreAuditedWithKindNameGenerationAndManagerOnTheLeaderOnly(t *testing.T) {
	f, _, sink, written := observedFixture(t)
	ctx := context.Background()
	f.reconcile(t) // baseline: nothing is "created" at start-up
	if got := sink.Take(); len(got) != 0 {
		t.Fatalf("the first build audited %d changes, want none: %+v", len(got), got)
	}

	// A spec change (new generation), a new user and a deleted user.
	org := &iamv1.Organization{}
	if err := f.c.Get(ctx, client.ObjectKey{Namespace: st.SystemNamespace, Name: "acme"}, org); err != nil {
		t.Fatal(err)
	}
	org.Spec.DisplayName = "ACME Corporation"
	org.Generation++
	if err := f.c.Update(ctx, org); err != nil {
		t.Fatal(err)
	}
	written(org, time.Now(), "kubectl-edit")
	bob := st.User("acme", "bob", "bob@acme.example")
	if err := f.c.Create(ctx, &bob); err != nil {
		t.Fatal(err)
	}
	written(&bob, time.Now(), "argocd-controller")
	ada := &iamv1.OrgUser{}
	if err := f.c.Get(ctx, client.ObjectKey{Namespace: "acme", Name: "ada"}, ada); err != nil {
		t.Fatal(err)
	}
	if err := f.c.Delete(ctx, ada); err != nil {
		t.Fatal(err)
	}
	f.reconcile(t)

	byName := map[string]audit.Event{}
	for _, e := range sink.Take() {
		if e.Event != audit.EventAdminChange || e.Object == nil {
			t.Fatalf("unexpected event %+v", e)
		}
		byName[e.Object.Kind+"/"+e.Object.Name] = e
	}
	for key, want := range map[string]audit.Object{
		"Organization/acme": {Kind: "Organization", Namespace: st.SystemNamespace, Name: "acme", Generation: org.Generation, Change: "updated", Manager: "kubectl-edit"},
		"OrgUser/bob":       {Kind: "OrgUser", Namespace: "acme", Name: "bob", Generation: bob.Generation, Change: "created", Manager: "argocd-controller"},
		"OrgUser/ada":       {Kind: "OrgUser", Namespace: "acme", Name: "ada", Generation: ada.Generation, Change: "deleted"},
	} {
		got, ok := byName[key]
		if !ok {
			t.Errorf("no audit line for %s; got %v", key, byName)
			continue
		}
		if *got.Object != want || got.Organization != "acme" {
			t.Errorf("%s: %+v (organization %q), want %+v (organization acme)", key, *got.Object, got.Organization, want)
		}
	}
	if len(byName) != 3 {
		t.Errorf("%d changes audited, want 3: %v", len(byName), byName)
	}

	// A replica that does not lead records nothing: the leader does.
	f.p.Elected = make(chan struct{})
	org.Generation++
	if err := f.c.Update(ctx, org); err != nil {
		t.Fatal(err)
	}
	f.reconcile(t)
	if got := sink.Take(); len(got) != 0 {
		t.Errorf("a replica that is not the leader audited %d changes", len(got))
	}
}
