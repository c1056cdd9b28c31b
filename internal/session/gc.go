package session

import (
	"context"
	"time"
)

// RunGC calls c.GC with the time from now every interval until ctx is done,
// then returns nil. It is every backend's RunGC; run it in its own goroutine.
// A failed sweep is left for the next one: records past their expiry are
// invisible to reads already, GC only frees their space.
func RunGC(ctx context.Context, c Collector, interval time.Duration, now func() time.Time) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			_, _ = c.GC(ctx, now())
		}
	}
}
