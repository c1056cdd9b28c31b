package snapshot_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/orgkeeper/orgkeeper/internal/snapshot"
)

func version(v int64) *snapshot.Snapshot {
	s, _ := snapshot.Build(snapshot.Input{Version: v})
	return s
}

func TestStore(t *testing.T) {
	tests := []struct {
		name    string
		publish []int64 // versions passed to Set, in order
		want    []bool  // what each Set returns
		current int64
	}{
		{"the first snapshot is always published", []int64{5}, []bool{true}, 5},
		{"newer versions replace older ones", []int64{1, 2, 3}, []bool{true, true, true}, 3},
		{"an older version never replaces a newer one", []int64{3, 2}, []bool{true, false}, 3},
		{"a snapshot of the same version replaces the current one", []int64{3, 3}, []bool{true, true}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s snapshot.Store
			if s.Load() != nil {
				t.Fatal("a new store is not empty")
			}
			var last *snapshot.Snapshot
			for i, v := range tt.publish {
				snap := version(v)
				if got := s.Set(snap); got != tt.want[i] {
					t.Errorf("Set(version %d) = %v, want %v", v, got, tt.want[i])
				}
				if tt.want[i] {
					last = snap
				}
			}
			if got := s.Load(); got != last || got.Version != tt.current {
				t.Errorf("Load() = version %d, want %d", got.Version, tt.current)
			}
		})
	}
}

func TestStoreIgnoresNil(t *testing.T) {
	var s snapshot.Store
	s.SetSnapshot(version(1))
	if s.Set(nil) || s.Load() == nil {
		t.Error("nil was published")
	}
}

func TestWaitForVersionReturnsOnceTheVersionIsPublished(t *testing.T) {
	var s snapshot.Store
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	done := make(chan *snapshot.Snapshot)
	go func() {
		got, err := s.WaitForVersion(ctx, 2)
		if err != nil {
			t.Errorf("WaitForVersion: %v", err)
		}
		done <- got
	}()
	s.Set(version(1))
	select {
	case got := <-done:
		t.Fatalf("returned version %d before version 2 was published", got.Version)
	default:
	}
	s.Set(version(2))
	if got := <-done; got == nil || got.Version != 2 {
		t.Errorf("got %v", got)
	}
	// Already there: no wait.
	if got, err := s.WaitForVersion(ctx, 0); err != nil || got.Version != 2 {
		t.Errorf("WaitForVersion(0) = %v, %v", got, err)
	}
}

func TestWaitForVersionStopsWithItsContext(t *testing.T) {
	var s snapshot.Store
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.WaitForVersion(ctx, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
}

func TestChangedIsClosedByTheNextPublish(t *testing.T) {
	var s snapshot.Store
	ch := s.Changed()
	select {
	case <-ch:
		t.Fatal("closed before any publish")
	default:
	}
	s.Set(version(1))
	<-ch // would block forever (test timeout) if not closed
	if s.Set(version(0)) {
		t.Fatal("older version published")
	}
	select {
	case <-s.Changed():
		t.Error("a refused Set closed the channel")
	default:
	}
}

// TestStoreUnderConcurrency is for the race detector: readers never see a
// version go back while writers publish in any order.
func TestStoreUnderConcurrency(t *testing.T) {
	var s snapshot.Store
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for v := range int64(200) {
				s.Set(version(v*4 + int64(w)))
			}
		})
	}
	for range 4 {
		wg.Go(func() {
			var last int64 = -1
			for range 1000 {
				if cur := s.Load(); cur != nil {
					if cur.Version < last {
						t.Errorf("version went back from %d to %d", last, cur.Version)
						return
					}
					last = cur.Version
				}
			}
		})
	}
	wg.Wait()
	if got := s.Load().Version; got != 199*4+3 {
		t.Errorf("final version %d", got)
	}
}
