package redisstore_test

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orgkeeper/orgkeeper/internal/session"
	"github.com/orgkeeper/orgkeeper/internal/session/redisstore"
	"github.com/orgkeeper/orgkeeper/internal/session/redisstore/redistest"
	"github.com/orgkeeper/orgkeeper/internal/session/sessiontest"
)

func TestRedisConformance(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	var n atomic.Int64
	sessiontest.RunConformance(t, func(_ *testing.T, c *sessiontest.FakeClock) session.Store {
		// One server for the whole suite; a fresh prefix makes each store empty.
		return redisstore.New(rdb, redisstore.WithClock(c.Now), redisstore.WithPrefix(fmt.Sprintf("t%d:", n.Add(1))))
	})
}

func TestRedisTwoStoresOnOneServerShareEverything(t *testing.T) {
	rdb := redistest.Start(t).Client(t)
	clock := sessiontest.NewFakeClock(sessiontest.Start)
	a := redisstore.New(rdb, redisstore.WithClock(clock.Now))
	b := redisstore.New(rdb, redisstore.WithClock(clock.Now))
	ctx := t.Context()

	req, err := a.CreateAuthRequest(ctx, session.AuthRequest{ClientID: "app-a"})
	must(t, err)
	_, err = b.UpdateAuthRequest(ctx, req.ID, func(r *session.AuthRequest) error { r.UserID, r.Done = "u", true; return nil })
	must(t, err)
	got, err := a.GetAuthRequest(ctx, req.ID)
	must(t, err)
	if !got.Done || got.UserID != "u" {
		t.Fatalf("replica a does not see replica b's update: %+v", got)
	}
	must(t, a.SaveCode(ctx, "code", session.AuthCode{AuthRequestID: req.ID, ClientID: "app-a"}))
	_, err = b.ConsumeCode(ctx, "code")
	must(t, err)
	if _, err := a.ConsumeCode(ctx, "code"); !errors.Is(err, session.ErrCodeReused) {
		t.Fatalf("a code consumed on replica b is not reused on replica a: %v", err)
	}
	tok, _, err := a.CreateRefreshToken(ctx, session.RefreshToken{FamilyID: req.ID, ClientID: "app-a", Subject: "u"})
	must(t, err)
	next, _, err := b.RotateRefreshToken(ctx, tok, "app-a", nil, time.Time{})
	must(t, err)
	if _, _, err := a.RotateRefreshToken(ctx, tok, "app-a", nil, time.Time{}); !errors.Is(err, session.ErrRefreshTokenReused) {
		t.Fatalf("replaying on replica a a token rotated on replica b: %v, want reuse", err)
	}
	if _, err := b.GetRefreshToken(ctx, next); !errors.Is(err, session.ErrRevoked) {
		t.Fatalf("the family revoked on replica a still works on replica b: %v", err)
	}
}

func TestRedisRecordsCarryATTLSoRedisDropsThemWithoutGC(t *testing.T) {
	rdb := redistest.Start(t).Client(t)
	s := redisstore.New(rdb, redisstore.WithPrefix("ttl:"))
	ctx := t.Context()
	_, err := s.CreateAuthRequest(ctx, session.AuthRequest{ClientID: "app-a"})
	must(t, err)
	must(t, s.SaveCode(ctx, "c", session.AuthCode{AuthRequestID: "r", ClientID: "app-a"}))
	_, _, err = s.CreateRefreshToken(ctx, session.RefreshToken{FamilyID: "f", ClientID: "app-a", Subject: "u"})
	must(t, err)
	_, err = s.CreateLoginSession(ctx, session.LoginSession{UserID: "u"})
	must(t, err)
	_, err = s.RecordFailure(ctx, "k", time.Minute)
	must(t, err)
	keys, err := rdb.Keys(ctx, "ttl:*").Result()
	must(t, err)
	if len(keys) != 8 { // auth request, code, token, family, its tokens, the user's families, login session, counter
		t.Fatalf("store wrote %d keys, want 8: %v", len(keys), keys)
	}
	for _, k := range keys {
		ttl, err := rdb.PTTL(ctx, k).Result()
		must(t, err)
		if ttl <= 0 {
			t.Errorf("key %s has no TTL (%v)", k, ttl)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestRedisConcurrentUpdatesOfOneRecordAreAllKept(t *testing.T) {
	// Replicas updating one auth request or login session at once (for
	// example two tabs) must not lose an update: the compare-and-set retries.
	rdb := redistest.Start(t).Client(t)
	ctx := t.Context()
	a, b := redisstore.New(rdb), redisstore.New(rdb)
	ls, err := a.CreateLoginSession(ctx, session.LoginSession{UserID: "u"})
	must(t, err)
	req, err := a.CreateAuthRequest(ctx, session.AuthRequest{ClientID: "app-a"})
	must(t, err)
	const n = 32
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Go(func() {
			_, err := s.UpdateLoginSession(ctx, ls.ID, func(l *session.LoginSession) error {
				l.AMR = append(l.AMR, fmt.Sprint(i))
				return nil
			})
			errs <- err
		})
		wg.Go(func() {
			_, err := s.UpdateAuthRequest(ctx, req.ID, func(r *session.AuthRequest) error {
				r.Scopes = append(r.Scopes, fmt.Sprint(i))
				return nil
			})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err)
	}
	gotLS, err := a.GetLoginSession(ctx, ls.ID)
	must(t, err)
	gotReq, err := b.GetAuthRequest(ctx, req.ID)
	must(t, err)
	if len(gotLS.AMR) != n || len(gotReq.Scopes) != n {
		t.Fatalf("kept %d of %d login session updates and %d of %d auth request updates", len(gotLS.AMR), n, len(gotReq.Scopes), n)
	}
}
