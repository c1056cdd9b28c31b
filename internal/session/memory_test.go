package session_test

import (
	"context"
	"crypto/rand"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orgkeeper/orgkeeper/internal/session"
	"github.com/orgkeeper/orgkeeper/internal/session/sessiontest"
)

func newMemory(_ *testing.T, c *sessiontest.FakeClock) session.Store {
	return session.NewMemory(session.WithClock(c.Now))
}

func TestMemoryConformance(t *testing.T) {
	sessiontest.RunConformance(t, newMemory)
}

func TestMemoryGCEmptiesEveryMap(t *testing.T) {
	ctx := t.Context()
	clock := sessiontest.NewFakeClock(sessiontest.Start)
	m := session.NewMemory(session.WithClock(clock.Now))
	exp := sessiontest.Start.Add(time.Minute)

	req, err := m.CreateAuthRequest(ctx, session.AuthRequest{ClientID: "app-a", ExpiresAt: exp})
	must(t, err)
	must(t, m.SaveCode(ctx, "code", session.AuthCode{AuthRequestID: req.ID, ClientID: "app-a", ExpiresAt: exp}))
	tok, _, err := m.CreateRefreshToken(ctx, session.RefreshToken{FamilyID: req.ID, ClientID: "app-a", Subject: "u", ExpiresAt: exp})
	must(t, err)
	_, _, err = m.RotateRefreshToken(ctx, tok, "app-a", nil, exp)
	must(t, err)
	_, err = m.CreateLoginSession(ctx, session.LoginSession{UserID: "u", ExpiresAt: exp})
	must(t, err)
	_, err = m.RecordFailure(ctx, "k", time.Minute)
	must(t, err)

	want := session.MemoryStats{AuthRequests: 1, Codes: 1, RefreshTokens: 2, RefreshTokenFamilies: 1, LoginSessions: 1, FailureKeys: 1}
	if got := m.Stats(); got != want {
		t.Fatalf("Stats before GC = %+v, want %+v", got, want)
	}
	n, err := m.GC(ctx, exp)
	must(t, err)
	if n != 7 {
		t.Fatalf("GC removed %d records, want 7", n)
	}
	if got := m.Stats(); got != (session.MemoryStats{}) {
		t.Fatalf("Stats after GC = %+v, want all zero", got)
	}
}

func TestMemoryRunGCSweepsInTheBackgroundUntilCancelled(t *testing.T) {
	clock := sessiontest.NewFakeClock(sessiontest.Start)
	m := session.NewMemory(session.WithClock(clock.Now))
	_, err := m.CreateLoginSession(t.Context(), session.LoginSession{UserID: "u", ExpiresAt: sessiontest.Start.Add(time.Minute)})
	must(t, err)
	clock.Advance(time.Minute)

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- m.RunGC(ctx, time.Millisecond) }()

	deadline := time.Now().Add(5 * time.Second)
	for m.Stats().LoginSessions != 0 {
		if time.Now().After(deadline) {
			t.Fatal("RunGC did not remove the expired login session within 5s")
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		must(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("RunGC did not return after its context was cancelled")
	}
}

func TestMemoryWithTTLsOverridesOnlyTheGivenLifetimes(t *testing.T) {
	ctx := t.Context()
	clock := sessiontest.NewFakeClock(sessiontest.Start)
	m := session.NewMemory(session.WithClock(clock.Now), session.WithTTLs(session.TTLs{AuthRequest: time.Minute}))
	req, err := m.CreateAuthRequest(ctx, session.AuthRequest{ClientID: "app-a"})
	must(t, err)
	if want := sessiontest.Start.Add(time.Minute); !req.ExpiresAt.Equal(want) {
		t.Fatalf("auth request ExpiresAt = %v, want %v", req.ExpiresAt, want)
	}
	ls, err := m.CreateLoginSession(ctx, session.LoginSession{UserID: "u"})
	must(t, err)
	if want := sessiontest.Start.Add(session.DefaultTTLs().LoginSession); !ls.ExpiresAt.Equal(want) {
		t.Fatalf("login session ExpiresAt = %v, want the default %v", ls.ExpiresAt, want)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("entropy exhausted") }

func TestMemoryReportsAFailingRandomSource(t *testing.T) {
	m := session.NewMemory(session.WithRand(failingReader{}))
	_, _, err := m.CreateRefreshToken(t.Context(), session.RefreshToken{FamilyID: "f", ClientID: "a", Subject: "u"})
	if err == nil {
		t.Fatal("CreateRefreshToken succeeded without randomness")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func BenchmarkMemoryCodeSaveConsume(b *testing.B) {
	ctx := b.Context()
	m := session.NewMemory()
	c := session.AuthCode{AuthRequestID: "req", ClientID: "app-a"}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		code := "code-" + strconv.Itoa(i)
		i++
		if err := m.SaveCode(ctx, code, c); err != nil {
			b.Fatal(err)
		}
		if _, err := m.ConsumeCode(ctx, code); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMemoryCodeSaveConsumeParallel(b *testing.B) {
	ctx := b.Context()
	m := session.NewMemory()
	c := session.AuthCode{AuthRequestID: "req", ClientID: "app-a"}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			code, err := session.NewSecret(rand.Reader)
			if err != nil {
				b.Fatal(err)
			}
			if err := m.SaveCode(ctx, code, c); err != nil {
				b.Fatal(err)
			}
			if _, err := m.ConsumeCode(ctx, code); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkMemoryRefreshRotate(b *testing.B) {
	ctx := b.Context()
	m := session.NewMemory()
	tok, _, err := m.CreateRefreshToken(ctx, session.RefreshToken{
		FamilyID: "fam", ClientID: "app-a", Subject: "u", Scopes: []string{"openid", "offline_access"},
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if tok, _, err = m.RotateRefreshToken(ctx, tok, "app-a", nil, time.Time{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMemoryRefreshRotateParallel(b *testing.B) {
	ctx := b.Context()
	m := session.NewMemory()
	b.ReportAllocs()
	var fam atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		// One family per goroutine: independent users refreshing at once.
		tok, _, err := m.CreateRefreshToken(ctx, session.RefreshToken{
			FamilyID: "fam-" + strconv.FormatInt(fam.Add(1), 10), ClientID: "app-a", Subject: "u",
		})
		if err != nil {
			b.Fatal(err)
		}
		for pb.Next() {
			if tok, _, err = m.RotateRefreshToken(ctx, tok, "app-a", nil, time.Time{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
