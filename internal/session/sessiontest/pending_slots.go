package sessiontest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/orgkeeper/orgkeeper/internal/session"
)

// A failure counter also serves as an allowance of things in progress (the
// pending sign-ins of one client address): ReleaseFailure gives one slot
// back when the thing finishes. A release must never free more than was
// taken: not below zero, not from a later window than the one the slot was
// counted in, not twice for one auth request.
func init() {
	failureTests = append(failureTests,
		conformanceTest{"a release takes one off the count of its window and keeps the window's end", func(t *testing.T, e *env) {
			const window = 30 * time.Minute
			f := recordFailures(t, e, "authorize:a", 3, window)
			e.clock.Advance(time.Minute)
			noErr(t, "ReleaseFailure", e.s.ReleaseFailure(e.ctx, "authorize:a", f.WindowEnd))
			wantFailures(t, e, "authorize:a", 2, Start.Add(window))
			// The window does not move: the next count is in the same one.
			g, err := e.s.RecordFailure(e.ctx, "authorize:a", window)
			noErr(t, "RecordFailure after release", err)
			if g.Count != 3 || !g.WindowEnd.Equal(Start.Add(window)) {
				t.Fatalf("RecordFailure after a release = %+v, want 3 until %v", g, Start.Add(window))
			}
		}},
		conformanceTest{"releases never take the count below zero", func(t *testing.T, e *env) {
			f, err := e.s.RecordFailure(e.ctx, "authorize:a", time.Minute)
			noErr(t, "RecordFailure", err)
			for range 3 {
				noErr(t, "ReleaseFailure", e.s.ReleaseFailure(e.ctx, "authorize:a", f.WindowEnd))
			}
			g, err := e.s.RecordFailure(e.ctx, "authorize:a", time.Minute)
			noErr(t, "RecordFailure", err)
			if g.Count != 1 {
				t.Fatalf("count after one failure, three releases and one failure = %d, want 1", g.Count)
			}
		}},
		conformanceTest{"a release names its window: one from an ended window takes nothing off the next", func(t *testing.T, e *env) {
			first, err := e.s.RecordFailure(e.ctx, "authorize:a", time.Minute)
			noErr(t, "RecordFailure", err)
			e.clock.Advance(time.Minute)
			for range 2 {
				_, err = e.s.RecordFailure(e.ctx, "authorize:a", time.Minute)
				noErr(t, "RecordFailure in the next window", err)
			}
			noErr(t, "ReleaseFailure of the first window", e.s.ReleaseFailure(e.ctx, "authorize:a", first.WindowEnd))
			wantFailures(t, e, "authorize:a", 2, Start.Add(2*time.Minute))
		}},
		conformanceTest{"a release touches only its own key, and one for an unknown key is no error", func(t *testing.T, e *env) {
			a, err := e.s.RecordFailure(e.ctx, "authorize:a", time.Minute)
			noErr(t, "RecordFailure(a)", err)
			_, err = e.s.RecordFailure(e.ctx, "authorize:b", time.Minute)
			noErr(t, "RecordFailure(b)", err)
			noErr(t, "ReleaseFailure(unknown)", e.s.ReleaseFailure(e.ctx, "authorize:c", a.WindowEnd))
			noErr(t, "ReleaseFailure(a)", e.s.ReleaseFailure(e.ctx, "authorize:a", a.WindowEnd))
			wantFailures(t, e, "authorize:a", 0, time.Time{})
			wantFailures(t, e, "authorize:b", 1, Start.Add(time.Minute))
		}},
	)
	authRequestTests = append(authRequestTests,
		conformanceTest{"an auth request keeps its slot, and finishing it releases the slot once though finished concurrently", func(t *testing.T, e *env) {
			const window = 30 * time.Minute
			f := recordFailures(t, e, "authorize:a", 3, window)
			r := sampleAuthRequest()
			r.Slot = session.Slot{Key: "authorize:a", WindowEnd: f.WindowEnd}
			created := e.authRequest(r)
			got, err := e.s.GetAuthRequest(e.ctx, created.ID)
			noErr(t, "GetAuthRequest", err)
			if got.Slot.Key != "authorize:a" || !got.Slot.WindowEnd.Equal(f.WindowEnd) {
				t.Fatalf("stored slot = %+v, want %+v", got.Slot, r.Slot)
			}
			// Every call reaches DeleteAuthRequest before any deletes: all of
			// them have read (or taken out) the slot by then, as replicas
			// that finish the same sign-in at once may.
			errs := make([]error, 8)
			s := &DeleteBarrier{Store: e.s, N: len(errs)}
			var wg sync.WaitGroup
			for i := range errs {
				wg.Go(func() { errs[i] = session.FinishAuthRequest(e.ctx, s, created.ID) })
			}
			wg.Wait()
			for i, err := range errs {
				noErr(t, "FinishAuthRequest "+string(rune('0'+i)), err)
			}
			_, err = e.s.GetAuthRequest(e.ctx, created.ID)
			wantErr(t, "GetAuthRequest after FinishAuthRequest", err, session.ErrNotFound)
			wantFailures(t, e, "authorize:a", 2, f.WindowEnd)
		}},
		conformanceTest{"finishing a request without a slot, or a missing one, releases nothing", func(t *testing.T, e *env) {
			f, err := e.s.RecordFailure(e.ctx, "authorize:a", time.Hour)
			noErr(t, "RecordFailure", err)
			created := e.authRequest(sampleAuthRequest())
			noErr(t, "FinishAuthRequest", session.FinishAuthRequest(e.ctx, e.s, created.ID))
			noErr(t, "FinishAuthRequest(missing)", session.FinishAuthRequest(e.ctx, e.s, "no-such-request"))
			wantFailures(t, e, "authorize:a", 1, f.WindowEnd)
		}},
	)
}

func wantFailures(t *testing.T, e *env, key string, count int, end time.Time) {
	t.Helper()
	got, err := e.s.GetFailures(e.ctx, key)
	noErr(t, "GetFailures("+key+")", err)
	if got.Count != count || (count > 0 && !got.WindowEnd.Equal(end)) {
		t.Fatalf("GetFailures(%s) = %+v, want %d until %v", key, got, count, end)
	}
}

// DeleteBarrier is a store whose DeleteAuthRequest waits until N calls of
// it are waiting, then lets them all go: the interleaving where several
// callers finishing one auth request all come before its deletion.
type DeleteBarrier struct {
	session.Store
	N int

	mu      sync.Mutex
	arrived int
	all     chan struct{}
}

// DeleteAuthRequest waits for the other calls, then deletes.
func (b *DeleteBarrier) DeleteAuthRequest(ctx context.Context, id string) error {
	b.mu.Lock()
	if b.all == nil {
		b.all = make(chan struct{})
	}
	all := b.all
	b.arrived++
	if b.arrived == b.N {
		close(all)
	}
	b.mu.Unlock()
	select {
	case <-all:
	case <-ctx.Done():
		return ctx.Err()
	}
	return b.Store.DeleteAuthRequest(ctx, id)
}

// recordFailures counts n failures of key in window and returns the last
// state.
func recordFailures(t *testing.T, e *env, key string, n int, window time.Duration) session.Failures {
	t.Helper()
	var f session.Failures
	for range n {
		var err error
		f, err = e.s.RecordFailure(e.ctx, key, window)
		noErr(t, "RecordFailure", err)
	}
	return f
}
