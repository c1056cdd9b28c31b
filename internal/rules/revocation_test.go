package rules

import (
	"testing"
	"time"
)

func TestSessionsRevokedAtIsAfterNowEvenOnceStoredToTheSecond(t *testing.T) {
	for _, now := range []time.Time{
		time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC),
		time.Date(2026, 12, 1, 10, 0, 0, 999_999_999, time.UTC),
		time.Date(2026, 12, 1, 10, 0, 0, 1, time.UTC),
	} {
		got := SessionsRevokedAt(now)
		if !now.Before(got) {
			t.Errorf("SessionsRevokedAt(%v) = %v, not after it", now, got)
		}
		if got.Truncate(time.Second) != got {
			t.Errorf("SessionsRevokedAt(%v) = %v has sub-second digits that a status would drop", now, got)
		}
		if got.Sub(now) > time.Second {
			t.Errorf("SessionsRevokedAt(%v) = %v is more than a second later", now, got)
		}
	}
}
