package login_test

import (
	"testing"
	"time"

	"github.com/orgkeeper/orgkeeper/internal/login"
)

func TestARegistrationLinksLifetimeMustBeBetweenFiveMinutesAndAWeek(t *testing.T) {
	for _, c := range []struct {
		name string
		ttl  time.Duration
		ok   bool
	}{
		{"the default of a day is accepted", login.DefaultRegistrationTTL, true},
		{"five minutes, the shortest, is accepted", 5 * time.Minute, true},
		{"a week, the longest, is accepted", 7 * 24 * time.Hour, true},
		{"a minute is too short for a mail to arrive", time.Minute, false},
		{"zero is refused rather than taken as a default", 0, false},
		{"a negative duration is refused", -time.Hour, false},
		{"a month keeps old mail able to create accounts for too long", 30 * 24 * time.Hour, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := login.CheckRegistrationTTL(c.ttl); (err == nil) != c.ok {
				t.Fatalf("CheckRegistrationTTL(%s) = %v, want ok=%v", c.ttl, err, c.ok)
			}
		})
	}
}
