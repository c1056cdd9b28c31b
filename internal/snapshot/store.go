package snapshot

import (
	"context"
	"sync"
	"sync/atomic"
)

// SnapshotSetter publishes a newly built snapshot. It is the role the
// projection controller needs from the server side; *Store implements it.
type SnapshotSetter interface {
	SetSnapshot(*Snapshot)
}

var _ SnapshotSetter = (*Store)(nil)

// Store holds the current snapshot for every request of the OIDC server.
// Load is one atomic read and never blocks; publishing is rare (once per
// change of the watched objects) and takes a mutex so that versions only go
// forward and waiters are woken exactly once per publish. The zero Store is
// empty and ready to use; do not copy a Store after first use.
type Store struct {
	current atomic.Pointer[Snapshot]

	mu      sync.Mutex
	changed chan struct{} // closed and replaced at every publish
}

// Load returns the current snapshot, or nil before the first one.
func (s *Store) Load() *Snapshot { return s.current.Load() }

// Set publishes snap unless it is nil or older than the current snapshot
// (a lower Version), and reports whether it did. A snapshot of the same
// Version replaces the current one. Versions never going back keeps a
// status that said Ready (served) from being undone by a late publisher.
func (s *Store) Set(snap *Snapshot) bool {
	if snap == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur := s.current.Load(); cur != nil && snap.Version < cur.Version {
		return false
	}
	s.current.Store(snap)
	if s.changed != nil {
		close(s.changed)
		s.changed = nil
	}
	return true
}

// SetSnapshot is Set for the SnapshotSetter role.
func (s *Store) SetSnapshot(snap *Snapshot) { s.Set(snap) }

// Changed returns a channel that is closed at the next publish after the
// call. Load the snapshot after receiving, and call Changed again for the
// publish after that.
func (s *Store) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changed == nil {
		s.changed = make(chan struct{})
	}
	return s.changed
}

// WaitForVersion blocks until a snapshot of at least version v is published
// and returns it, or returns ctx's error. WaitForVersion(ctx, 0) waits for
// the first snapshot, which is what readiness needs.
func (s *Store) WaitForVersion(ctx context.Context, v int64) (*Snapshot, error) {
	for {
		// Take the channel before loading, so that a publish between the
		// two cannot be missed.
		ch := s.Changed()
		if cur := s.Load(); cur != nil && cur.Version >= v {
			return cur, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
