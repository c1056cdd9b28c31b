// Package audittest gives tests an audit.Sink that keeps what it is given,
// so that a test can assert which audit events a flow recorded.
package audittest

import (
	"context"
	"sync"

	"github.com/orgkeeper/orgkeeper/internal/audit"
)

// Recorder is an audit.Sink that keeps every event, safe for concurrent
// use. The zero value is ready.
type Recorder struct {
	mu     sync.Mutex
	events []audit.Event
}

// Record keeps e.
func (r *Recorder) Record(_ context.Context, e audit.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

// Of returns the events recorded so far whose Event is event (one of the
// audit.Event* constants), oldest first.
func (r *Recorder) Of(event string) []audit.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []audit.Event
	for _, e := range r.events {
		if e.Event == event {
			out = append(out, e)
		}
	}
	return out
}

// Take returns every event recorded since the last Take, oldest first, and
// forgets them.
func (r *Recorder) Take() []audit.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.events
	r.events = nil
	return out
}
