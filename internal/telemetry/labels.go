package telemetry

import "sync"

// Label values shared by several metrics.
const (
	// LabelOther is the value of a capped label once its limit is reached.
	LabelOther = "other"
	// LabelNone is the value of a label that has no value for the event
	// (a sign-in refused before its organization was known).
	LabelNone = "none"
)

// DefaultMaxLabelValues is the default cap of the organization, client and
// identity provider labels.
const DefaultMaxLabelValues = 100

// LabelLimiter caps the distinct values of one label. The first Max values
// it is asked about keep their own series for the life of the process;
// every later value maps to LabelOther. With Max 0 every value is
// LabelOther (the label carries nothing). It is safe for concurrent use.
//
// First-seen keeps the series stable (a series never changes its meaning
// while the process runs) and needs no configuration on a small
// installation, where every organization gets its own series. On a large
// one the busiest organizations are usually seen first after a restart;
// those who need specific ones can raise the cap.
type LabelLimiter struct {
	max  int
	mu   sync.RWMutex
	seen map[string]struct{}
}

// NewLabelLimiter returns a limiter of n distinct values (negative is 0).
func NewLabelLimiter(n int) *LabelLimiter {
	return &LabelLimiter{max: max(n, 0), seen: make(map[string]struct{})}
}

// Value returns v if it has (or now gets) its own series, else LabelOther.
// An empty v is LabelNone and takes no slot.
func (l *LabelLimiter) Value(v string) string {
	if v == "" {
		return LabelNone
	}
	l.mu.RLock()
	_, ok := l.seen[v]
	full := len(l.seen) >= l.max
	l.mu.RUnlock()
	if ok {
		return v
	}
	if full {
		return LabelOther
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.seen[v]; ok {
		return v
	}
	if len(l.seen) >= l.max {
		return LabelOther
	}
	l.seen[v] = struct{}{}
	return v
}
