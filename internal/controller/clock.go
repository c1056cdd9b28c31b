package controller

import "time"

// nowOr is the time of clock, a reconciler's Now field (set by tests to
// drive schedules), or the wall clock's when the field is nil.
func nowOr(clock func() time.Time) time.Time {
	if clock != nil {
		return clock()
	}
	return time.Now()
}
