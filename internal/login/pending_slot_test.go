package login_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/orgkeeper/orgkeeper/internal/session"
)

// A sign-in that the login UI ends with an error (here prompt=none without
// a session, which single-page applications send on every page load) is
// finished: it gives back its slot of the /authorize cap on pending
// sign-ins, as a sign-in that ends with tokens does.
func TestASignInEndedWithAnErrorGivesBackItsSlot(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const key = "authorize:192.0.2.1"
	var f session.Failures
	for range 2 {
		var err error
		if f, err = e.store.RecordFailure(ctx, key, 30*time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	id := e.authorize(func(a *session.AuthRequest) {
		a.Prompt = []string{"none"}
		a.Slot = session.Slot{Key: key, WindowEnd: f.WindowEnd}
	})
	wantStatus(t, e.start(id), http.StatusSeeOther)
	got, err := e.store.GetFailures(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if got.Count != 1 {
		t.Fatalf("pending sign-ins counted after one ended with login_required: %d, want 1", got.Count)
	}
}
