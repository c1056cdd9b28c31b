package controller

import (
	"context"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

// A pass that read the user before another pass wrote its status must not
// write over it: the revocation instant of a disable is decided once.
func TestAStaleStatusPatchConflictsInsteadOfOverwriting(t *testing.T) {
	ctx := context.Background()
	scheme := runtime.NewScheme()
	if err := iamv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	u := st.Ptr(st.User("acme", "dora", "dora@acme.example", st.Disabled()))
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(u).WithStatusSubresource(u).Build()

	read := func() *iamv1.OrgUser {
		got := &iamv1.OrgUser{}
		if err := c.Get(ctx, client.ObjectKeyFromObject(u), got); err != nil {
			t.Fatal(err)
		}
		return got
	}
	first, stale := read(), read()

	// The first pass revokes at 10:00:01 and writes it.
	firstBefore := first.DeepCopy()
	revokeOnDisable(first, time.Date(2030, 1, 1, 10, 0, 0, 0, time.UTC))
	if conflicted, err := patchStatusLocked(ctx, c, firstBefore, first, true); err != nil || conflicted {
		t.Fatalf("first patch: conflicted %v, err %v", conflicted, err)
	}
	// The stale pass still sees no revocation and would decide a later one.
	staleBefore := stale.DeepCopy()
	revokeOnDisable(stale, time.Date(2030, 1, 1, 10, 0, 5, 0, time.UTC))
	conflicted, err := patchStatusLocked(ctx, c, staleBefore, stale, true)
	if err != nil || !conflicted {
		t.Fatalf("stale patch: conflicted %v, err %v; want a conflict", conflicted, err)
	}
	want := time.Date(2030, 1, 1, 10, 0, 1, 0, time.UTC)
	if got := read().Status.SessionsRevokedAt; got == nil || !got.Time.Equal(want) {
		t.Fatalf("sessionsRevokedAt = %v, want the first pass's %v", got, want)
	}
}
