package oidc_test

import (
	"context"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	orgoidc "github.com/orgkeeper/orgkeeper/internal/oidc"
	"github.com/orgkeeper/orgkeeper/internal/session"
	"github.com/orgkeeper/orgkeeper/internal/session/sessiontest"
)

// The /authorize cap counts the sign-ins an address has pending, not the
// ones it started: a company signing in from one NAT address must be able
// to sign in more than the cap's number of times in an auth request
// lifetime, as long as the sign-ins finish.

const (
	officeAddr  = "192.0.2.1"
	otherAddr   = "192.0.2.2"
	backendAddr = "198.51.100.7"
	portalCB    = "https://portal.example/callback"
)

// addresses is where the test's requests come from: browser requests from
// browser, token requests (the application's back end) from backend.
type addresses struct {
	browser, backend atomic.Value
}

func (a *addresses) clientIP(r *http.Request) string {
	if r.URL.Path == "/oauth/token" {
		return a.backend.Load().(string)
	}
	return a.browser.Load().(string)
}

// capEnv is an env whose provider caps pending sign-ins at max (0: the
// default) and reads the client address from addrs.
func capEnv(t *testing.T, max int, opts ...envOption) (*env, *addresses) {
	addrs := &addresses{}
	addrs.browser.Store(officeAddr)
	addrs.backend.Store(backendAddr)
	opts = append([]envOption{func(_ *env, c *orgoidc.Config) {
		c.MaxPendingAuthRequestsPerAddress = max
		c.ClientIP = addrs.clientIP
	}}, opts...)
	return newEnv(t, world{}, opts...), addrs
}

// start begins a sign-in at portal and returns its auth request ID, or ""
// if /authorize refused it with temporarily_unavailable (the cap).
func (e *env) start() string {
	e.t.Helper()
	resp := e.authorize(authParams("portal", portalCB))
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if loc != nil && loc.Host == "portal.example" && loc.Query().Get("error") == "temporarily_unavailable" {
		return ""
	}
	return e.authRequestID(resp)
}

// finish completes the sign-in id as alice: login, callback, code
// exchange.
func (e *env) finish(id string) {
	e.t.Helper()
	e.login(id, e.userID("acme", "alice"))
	code := e.callback(id).Query().Get("code")
	if status, body := e.redeem("portal", portalCB, code, ""); status != http.StatusOK {
		e.t.Fatalf("redeem: %d %v", status, body)
	}
}

// mustStart starts n sign-ins that must be accepted.
func (e *env) mustStart(n int) []string {
	e.t.Helper()
	ids := make([]string, 0, n)
	for i := range n {
		id := e.start()
		if id == "" {
			e.t.Fatalf("sign-in %d of %d was refused by the cap", i+1, n)
		}
		ids = append(ids, id)
	}
	return ids
}

func (e *env) mustBeRefused(what string) {
	e.t.Helper()
	if id := e.start(); id != "" {
		e.t.Fatalf("%s: the sign-in was accepted, want temporarily_unavailable", what)
	}
}

func TestCompletedSignInsDoNotCountAgainstTheCap(t *testing.T) {
	e, _ := capEnv(t, 0)
	for range orgoidc.DefaultMaxPendingAuthRequestsPerAddress {
		e.finish(e.mustStart(1)[0])
	}
	e.mustStart(1)
}

func TestPendingSignInsAreCappedUntilOneFinishes(t *testing.T) {
	e, _ := capEnv(t, 0)
	ids := e.mustStart(orgoidc.DefaultMaxPendingAuthRequestsPerAddress)
	e.mustBeRefused("one more than the cap of pending sign-ins")
	e.finish(ids[0])
	e.mustStart(1)
	e.mustBeRefused("the cap again after the freed slot was used")
}

func TestRefusedAuthorizeRequestsTakeNoSlot(t *testing.T) {
	e, _ := capEnv(t, 3)
	bad := authParams("portal", portalCB)
	bad.Set("code_challenge", verifier)
	bad.Set("code_challenge_method", "plain")
	for range 10 {
		resp := e.authorize(bad)
		if loc, _ := url.Parse(resp.Header.Get("Location")); loc == nil || loc.Query().Get("error") != "invalid_request" {
			t.Fatalf("a plain PKCE challenge: %d %q, want invalid_request", resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	ids := e.mustStart(3)
	// Requests the cap itself refuses take no slot either: once one
	// sign-in finishes, exactly one more is accepted.
	for range 10 {
		e.mustBeRefused("over the cap")
	}
	e.finish(ids[0])
	e.mustStart(1)
	e.mustBeRefused("the cap again")
	if st := e.sessions.Stats(); st.AuthRequests != 3 {
		t.Fatalf("%d auth requests stored, want 3", st.AuthRequests)
	}
}

// The slot given back is the one stored when the sign-in started, never one
// derived from the request that finishes it: the code exchange comes from
// the application's back end, whose address may be another client's.
func TestFinishingASignInGivesBackTheSlotOfTheAddressThatStartedIt(t *testing.T) {
	e, addrs := capEnv(t, 3)
	addrs.browser.Store(otherAddr)
	e.mustStart(3)
	e.mustBeRefused("the other address at its cap")

	addrs.browser.Store(officeAddr)
	addrs.backend.Store(otherAddr) // the back end shares the other address
	first := e.mustStart(3)
	e.finish(first[0])

	addrs.browser.Store(otherAddr)
	e.mustBeRefused("the other address after a sign-in of the office finished from its address")
	addrs.browser.Store(officeAddr)
	e.mustStart(1)
	e.mustBeRefused("the office at its cap again")
}

// Two replicas may both delete the auth request of one sign-in (a retry
// after a timeout); the sign-in's slot goes back once.
func TestASignInGivesItsSlotBackOnceThoughDeletedByTwoReplicas(t *testing.T) {
	e, _ := capEnv(t, 3)
	ids := e.mustStart(3)
	// Both replicas have begun finishing before either deletes the record.
	const calls = 16
	store := &sessiontest.DeleteBarrier{Store: e.sessions, N: calls}
	replicas := make([]*orgoidc.Storage, 2)
	for i := range replicas {
		s, err := orgoidc.NewStorage(orgoidc.StorageConfig{
			Snapshots: e.snaps, Sessions: store, Keys: orgoidc.StaticKeys{Set: e.keys},
			LoginURL: func(string) string { return "https://login.test/" },
		})
		if err != nil {
			t.Fatal(err)
		}
		replicas[i] = s
	}
	var wg sync.WaitGroup
	for i := range calls {
		wg.Go(func() {
			if err := replicas[i%2].DeleteAuthRequest(context.Background(), ids[0]); err != nil {
				t.Errorf("DeleteAuthRequest: %v", err)
			}
		})
	}
	wg.Wait()
	e.mustStart(1)
	e.mustBeRefused("the cap after one sign-in's request was deleted 16 times")
}

// A slot counted in a window that has ended was forgotten with it; giving
// it back later must not take it off the next window's count, or an
// address could hold more than the cap of sign-ins started in one window
// (each request lives as long as a window, so one started late in a window
// finishes in the next).
func TestASlotOfAnEndedWindowIsNotGivenBackToTheNext(t *testing.T) {
	clock := sessiontest.NewFakeClock(time.Now().Truncate(time.Second))
	e, _ := capEnv(t, 3, func(e *env, c *orgoidc.Config) {
		e.sessions = session.NewMemory(session.WithClock(clock.Now))
		c.Sessions = e.sessions
		c.Now = clock.Now
	})
	e.mustStart(1) // opens the window
	clock.Advance(orgoidc.DefaultAuthRequestLifetime - time.Minute)
	late := e.mustStart(2)
	clock.Advance(2 * time.Minute) // the window ended; late's requests live on
	e.mustStart(3)
	e.mustBeRefused("the cap in the new window")
	for _, id := range late {
		e.finish(id)
	}
	e.mustBeRefused("the cap in the new window after sign-ins of the old one finished")
}
