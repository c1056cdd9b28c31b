package login_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/orgkeeper/orgkeeper/internal/login"
	"github.com/orgkeeper/orgkeeper/internal/session"
)

// lockRaceStore is the memory store with one guess held at the moment
// after it has seen the account unlocked and before it counts itself:
// its RecordFailure for the account waits until the lock has been set and
// the account's count reset.
type lockRaceStore struct {
	login.SessionStore
	account string
	held    chan struct{} // closed when the held guess is waiting
	reset   chan struct{} // closed when the account's count was reset
	once    sync.Once
}

type heldGuess struct{}

func (s *lockRaceStore) RecordFailure(ctx context.Context, key string, window time.Duration) (session.Failures, error) {
	if key == s.account && ctx.Value(heldGuess{}) != nil {
		close(s.held)
		<-s.reset
	}
	return s.SessionStore.RecordFailure(ctx, key, window)
}

func (s *lockRaceStore) ResetFailures(ctx context.Context, key string) error {
	err := s.SessionStore.ResetFailures(ctx, key)
	if key == s.account {
		s.once.Do(func() { close(s.reset) })
	}
	return err
}

// A guess that saw the account unlocked, but counts itself only after the
// guess before it locked the account (and so reset its count), must not be
// verified: the lock is checked again once the attempt is reserved.
func TestAGuessRacingTheLockIsNotVerified(t *testing.T) {
	var store *lockRaceStore
	e := newEnvWith(t, func(c *login.Config) {
		store = &lockRaceStore{SessionStore: c.Sessions, held: make(chan struct{}), reset: make(chan struct{})}
		c.Sessions = store
	})
	store.account = "password:user/" + e.snaps.Load().UserByLogin("acme", "alice@acme.example").ID

	id := e.authorize(func(a *session.AuthRequest) { a.Organization = "acme" })
	form := parseForm(t, e.start(id).Body.String()).values
	post := func(ctx context.Context, pw string) *httptest.ResponseRecorder {
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		f.Set("username", "alice@acme.example")
		f.Set("password", pw)
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, e.prepare(httptestPost(login.PathPassword, f)).WithContext(ctx))
		return rec
	}
	for i := range 4 {
		wantStatus(t, post(context.Background(), "wrong-"+strconv.Itoa(i)), http.StatusOK)
	}

	// The attacker's right guess has checked the lock (none yet) and is
	// about to count itself when the fifth wrong guess locks the account.
	done := make(chan *httptest.ResponseRecorder)
	go func() { done <- post(context.WithValue(context.Background(), heldGuess{}, true), password) }()
	<-store.held
	wantStatus(t, post(context.Background(), "wrong-5"), http.StatusTooManyRequests)
	rec := <-done

	if e.authRequest(id).UserID != "" {
		t.Fatal("a guess made while the account was being locked was verified and signed in")
	}
	wantStatus(t, rec, http.StatusTooManyRequests)
}
