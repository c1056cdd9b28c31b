package redisstore_test

import (
	"testing"
	"time"

	"github.com/orgkeeper/orgkeeper/internal/session"
	"github.com/orgkeeper/orgkeeper/internal/session/redisstore"
	"github.com/orgkeeper/orgkeeper/internal/session/redisstore/redistest"
	"github.com/orgkeeper/orgkeeper/internal/session/sessiontest"
)

// A rotation extends its family, so the list of the user's families that
// the bound reads (the only sorted set the store writes) must live as long:
// were it to expire first, the next family the user starts would begin a
// new, empty list and the families kept alive by rotation would no longer
// count.
func TestRedisRotationKeepsTheUsersFamilyListAsLongAsTheFamily(t *testing.T) {
	rdb := redistest.Start(t).Client(t)
	clock := sessiontest.NewFakeClock(sessiontest.Start)
	s := redisstore.New(rdb, redisstore.WithClock(clock.Now), redisstore.WithPrefix("ownerttl:"))
	ctx := t.Context()
	tok, _, err := s.CreateRefreshToken(ctx, session.RefreshToken{FamilyID: "f1", ClientID: "app-a", Subject: "user-1",
		ExpiresAt: clock.Now().Add(time.Hour)})
	must(t, err)
	list := func() time.Duration {
		t.Helper()
		keys, err := rdb.Keys(ctx, "ownerttl:*owner:*").Result()
		must(t, err)
		if len(keys) != 1 {
			t.Fatalf("store wrote %d lists of a user's families, want 1: %v", len(keys), keys)
		}
		ttl, err := rdb.PTTL(ctx, keys[0]).Result()
		must(t, err)
		return ttl
	}
	before := list()
	clock.Advance(30 * time.Minute)
	_, _, err = s.RotateRefreshToken(ctx, tok, "app-a", nil, clock.Now().Add(24*time.Hour))
	must(t, err)
	// The family now ends 23.5 hours later than before the rotation.
	if after := list(); after < before+23*time.Hour {
		t.Fatalf("the list of the user's families ends in %v after the rotation, %v before: it would expire before the family", after, before)
	}
}
