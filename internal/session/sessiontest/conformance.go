// Package sessiontest is the conformance suite that every session.Store
// implementation must pass, and the fake clock it drives them with.
//
//	func TestConformance(t *testing.T) {
//		sessiontest.RunConformance(t, func(t *testing.T, c *sessiontest.FakeClock) session.Store {
//			return session.NewMemory(session.WithClock(c.Now))
//		})
//	}
package sessiontest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/orgkeeper/orgkeeper/internal/session"
)

// Start is the fake clock's initial reading in every test. Whole seconds, so
// that backends storing coarser timestamps still compare equal.
var Start = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// NewStoreFunc returns a new, empty store that reads time only from clock.
type NewStoreFunc func(t *testing.T, clock *FakeClock) session.Store

// RunConformance runs the whole suite against stores made by newStore, each
// subtest with a fresh store and clock.
func RunConformance(t *testing.T, newStore NewStoreFunc) {
	groups := []struct {
		name  string
		tests []conformanceTest
	}{
		{"AuthRequests", authRequestTests},
		{"Codes", codeTests},
		{"RefreshTokens", refreshTokenTests},
		{"LoginSessions", loginSessionTests},
		{"Failures", failureTests},
		{"GC", gcTests},
		{"Context", contextTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					clock := NewFakeClock(Start)
					s := newStore(t, clock)
					tc.run(t, &env{t: t, ctx: t.Context(), s: s, clock: clock})
				})
			}
		})
	}
}

type conformanceTest struct {
	name string
	run  func(t *testing.T, e *env)
}

// env is what each test gets: the store, its clock and helpers that fail the
// test on unexpected errors.
type env struct {
	t     *testing.T
	ctx   context.Context
	s     session.Store
	clock *FakeClock
}

func (e *env) authRequest(r session.AuthRequest) session.AuthRequest {
	e.t.Helper()
	got, err := e.s.CreateAuthRequest(e.ctx, r)
	if err != nil {
		e.t.Fatalf("CreateAuthRequest: %v", err)
	}
	return got
}

func (e *env) code(code string, c session.AuthCode) {
	e.t.Helper()
	if err := e.s.SaveCode(e.ctx, code, c); err != nil {
		e.t.Fatalf("SaveCode: %v", err)
	}
}

func (e *env) refreshToken(rt session.RefreshToken) (string, session.RefreshToken) {
	e.t.Helper()
	tok, got, err := e.s.CreateRefreshToken(e.ctx, rt)
	if err != nil {
		e.t.Fatalf("CreateRefreshToken: %v", err)
	}
	return tok, got
}

func (e *env) loginSession(ls session.LoginSession) session.LoginSession {
	e.t.Helper()
	got, err := e.s.CreateLoginSession(e.ctx, ls)
	if err != nil {
		e.t.Fatalf("CreateLoginSession: %v", err)
	}
	return got
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: error = %v, want %v", what, err, want)
	}
}

func noErr(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func sameRecord(t *testing.T, what string, got, want any) {
	t.Helper()
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("%s mismatch (-want +got):\n%s", what, d)
	}
}

func sampleAuthRequest() session.AuthRequest {
	maxAge := 5 * time.Minute
	return session.AuthRequest{
		ClientID:            "app-a",
		RedirectURI:         "https://app-a.example/callback",
		ResponseType:        "code",
		ResponseMode:        "query",
		Scopes:              []string{"openid", "profile", "offline_access"},
		State:               "st4te",
		Nonce:               "n0nce",
		CodeChallenge:       "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		CodeChallengeMethod: "S256",
		Prompt:              []string{"login"},
		MaxAge:              &maxAge,
		UILocales:           []string{"de", "en"},
		LoginHint:           "ada@acme.example",
		Organization:        "acme",
		ExpiresAt:           Start.Add(10 * time.Minute),
	}
}

func sampleRefreshToken(family, client string) session.RefreshToken {
	return session.RefreshToken{
		FamilyID:  family,
		ClientID:  client,
		Subject:   "user-1",
		OrgID:     "org-1",
		Scopes:    []string{"openid", "profile", "offline_access"},
		Audience:  []string{client},
		AMR:       []string{"pwd", "otp"},
		AuthTime:  Start.Add(-time.Minute),
		ExpiresAt: Start.Add(24 * time.Hour),
	}
}

var authRequestTests = []conformanceTest{
	{"a created auth request reads back equal, with an ID and CreatedAt filled in", func(t *testing.T, e *env) {
		in := sampleAuthRequest()
		created := e.authRequest(in)
		if created.ID == "" {
			t.Fatal("CreateAuthRequest left the ID empty")
		}
		want := in
		want.ID = created.ID
		want.CreatedAt = Start
		sameRecord(t, "created", created, want)
		got, err := e.s.GetAuthRequest(e.ctx, created.ID)
		noErr(t, "GetAuthRequest", err)
		sameRecord(t, "read back", got, want)
	}},
	{"two auth requests get different IDs", func(t *testing.T, e *env) {
		a := e.authRequest(sampleAuthRequest())
		b := e.authRequest(sampleAuthRequest())
		if a.ID == b.ID {
			t.Fatalf("both requests got ID %q", a.ID)
		}
	}},
	{"an auth request with a given ID keeps it, and a second one with that ID is refused", func(t *testing.T, e *env) {
		in := sampleAuthRequest()
		in.ID = "req-1"
		if got := e.authRequest(in); got.ID != "req-1" {
			t.Fatalf("ID = %q, want req-1", got.ID)
		}
		_, err := e.s.CreateAuthRequest(e.ctx, in)
		wantErr(t, "second CreateAuthRequest", err, session.ErrAlreadyExists)
	}},
	{"an auth request without a client ID is invalid", func(t *testing.T, e *env) {
		in := sampleAuthRequest()
		in.ClientID = ""
		_, err := e.s.CreateAuthRequest(e.ctx, in)
		wantErr(t, "CreateAuthRequest", err, session.ErrInvalid)
	}},
	{"an unknown auth request is not found", func(t *testing.T, e *env) {
		_, err := e.s.GetAuthRequest(e.ctx, "nope")
		wantErr(t, "GetAuthRequest", err, session.ErrNotFound)
		_, err = e.s.UpdateAuthRequest(e.ctx, "nope", func(*session.AuthRequest) error { return nil })
		wantErr(t, "UpdateAuthRequest", err, session.ErrNotFound)
	}},
	{"an auth request without ExpiresAt gets a lifetime and expires after it", func(t *testing.T, e *env) {
		in := sampleAuthRequest()
		in.ExpiresAt = time.Time{}
		created := e.authRequest(in)
		if !created.ExpiresAt.After(Start) {
			t.Fatalf("ExpiresAt = %v, want after %v", created.ExpiresAt, Start)
		}
		e.clock.Set(created.ExpiresAt)
		_, err := e.s.GetAuthRequest(e.ctx, created.ID)
		wantErr(t, "GetAuthRequest at expiry", err, session.ErrNotFound)
	}},
	{"an auth request is readable until just before ExpiresAt and not found from then on", func(t *testing.T, e *env) {
		created := e.authRequest(sampleAuthRequest())
		e.clock.Set(created.ExpiresAt.Add(-time.Second))
		_, err := e.s.GetAuthRequest(e.ctx, created.ID)
		noErr(t, "GetAuthRequest before expiry", err)
		e.clock.Set(created.ExpiresAt)
		_, err = e.s.GetAuthRequest(e.ctx, created.ID)
		wantErr(t, "GetAuthRequest at expiry", err, session.ErrNotFound)
		_, err = e.s.UpdateAuthRequest(e.ctx, created.ID, func(*session.AuthRequest) error { return nil })
		wantErr(t, "UpdateAuthRequest at expiry", err, session.ErrNotFound)
	}},
	{"an update attaching the login result is returned and visible to later reads", func(t *testing.T, e *env) {
		created := e.authRequest(sampleAuthRequest())
		authTime := Start.Add(30 * time.Second)
		updated, err := e.s.UpdateAuthRequest(e.ctx, created.ID, func(r *session.AuthRequest) error {
			r.UserID, r.OrgID, r.AuthTime = "user-1", "org-1", authTime
			r.AMR = []string{"pwd"}
			r.LoginSessionID = "ls-1"
			r.Done = true
			return nil
		})
		noErr(t, "UpdateAuthRequest", err)
		want := created
		want.UserID, want.OrgID, want.AuthTime = "user-1", "org-1", authTime
		want.AMR = []string{"pwd"}
		want.LoginSessionID = "ls-1"
		want.Done = true
		sameRecord(t, "returned", updated, want)
		got, err := e.s.GetAuthRequest(e.ctx, created.ID)
		noErr(t, "GetAuthRequest", err)
		sameRecord(t, "read back", got, want)
	}},
	{"an update whose function fails returns that error and changes nothing", func(t *testing.T, e *env) {
		created := e.authRequest(sampleAuthRequest())
		boom := errors.New("boom")
		_, err := e.s.UpdateAuthRequest(e.ctx, created.ID, func(r *session.AuthRequest) error {
			r.UserID = "intruder"
			return boom
		})
		wantErr(t, "UpdateAuthRequest", err, boom)
		got, err := e.s.GetAuthRequest(e.ctx, created.ID)
		noErr(t, "GetAuthRequest", err)
		sameRecord(t, "unchanged", got, created)
	}},
	{"an update cannot change the ID", func(t *testing.T, e *env) {
		created := e.authRequest(sampleAuthRequest())
		_, err := e.s.UpdateAuthRequest(e.ctx, created.ID, func(r *session.AuthRequest) error {
			r.ID = "other"
			return nil
		})
		wantErr(t, "UpdateAuthRequest", err, session.ErrInvalid)
		_, err = e.s.GetAuthRequest(e.ctx, "other")
		wantErr(t, "GetAuthRequest(other)", err, session.ErrNotFound)
	}},
	{"changing a record the store returned does not change the stored record", func(t *testing.T, e *env) {
		in := sampleAuthRequest()
		created := e.authRequest(in)
		in.Scopes[0] = "changed-input"
		created.Scopes[1] = "changed-output"
		*created.MaxAge = time.Hour
		got, err := e.s.GetAuthRequest(e.ctx, created.ID)
		noErr(t, "GetAuthRequest", err)
		if got.Scopes[0] != "openid" || got.Scopes[1] != "profile" || *got.MaxAge != 5*time.Minute {
			t.Fatalf("stored record changed through a returned one: scopes %v, max age %v", got.Scopes, *got.MaxAge)
		}
	}},
	{"a deleted auth request is not found, and deleting it again is no error", func(t *testing.T, e *env) {
		created := e.authRequest(sampleAuthRequest())
		noErr(t, "DeleteAuthRequest", e.s.DeleteAuthRequest(e.ctx, created.ID))
		_, err := e.s.GetAuthRequest(e.ctx, created.ID)
		wantErr(t, "GetAuthRequest", err, session.ErrNotFound)
		noErr(t, "second DeleteAuthRequest", e.s.DeleteAuthRequest(e.ctx, created.ID))
	}},
}

var codeTests = []conformanceTest{
	{"a saved code is consumed once, returning its auth request and client", func(t *testing.T, e *env) {
		e.code("code-1", session.AuthCode{AuthRequestID: "req-1", ClientID: "app-a", ExpiresAt: Start.Add(time.Minute)})
		e.clock.Advance(10 * time.Second)
		got, err := e.s.ConsumeCode(e.ctx, "code-1")
		noErr(t, "ConsumeCode", err)
		sameRecord(t, "code", got, session.AuthCode{
			AuthRequestID: "req-1", ClientID: "app-a",
			CreatedAt: Start, ExpiresAt: Start.Add(time.Minute), ConsumedAt: Start.Add(10 * time.Second),
		})
	}},
	{"a second consume of a code is ErrCodeReused and still names the auth request to revoke", func(t *testing.T, e *env) {
		e.code("code-1", session.AuthCode{AuthRequestID: "req-1", ClientID: "app-a", ExpiresAt: Start.Add(time.Minute)})
		_, err := e.s.ConsumeCode(e.ctx, "code-1")
		noErr(t, "first ConsumeCode", err)
		got, err := e.s.ConsumeCode(e.ctx, "code-1")
		wantErr(t, "second ConsumeCode", err, session.ErrCodeReused)
		if errors.Is(err, session.ErrNotFound) {
			t.Fatal("a reused code must be distinguishable from an unknown one")
		}
		if got.AuthRequestID != "req-1" || got.ClientID != "app-a" {
			t.Fatalf("reused code record = %+v, want auth request req-1 of app-a", got)
		}
	}},
	{"of many concurrent consumes of one code exactly one succeeds and the rest see reuse", func(t *testing.T, e *env) {
		const rounds, n = 20, 32
		for round := range rounds {
			code := fmt.Sprintf("contended-%d", round)
			e.code(code, session.AuthCode{AuthRequestID: "req-1", ClientID: "app-a", ExpiresAt: Start.Add(time.Minute)})
			errs := make([]error, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					<-start
					_, errs[i] = e.s.ConsumeCode(e.ctx, code)
				})
			}
			close(start)
			wg.Wait()
			wins := 0
			for i, err := range errs {
				switch {
				case err == nil:
					wins++
				case errors.Is(err, session.ErrCodeReused):
				default:
					t.Fatalf("round %d, consumer %d: unexpected error %v", round, i, err)
				}
			}
			if wins != 1 {
				t.Fatalf("round %d: %d consumers succeeded, want exactly 1", round, wins)
			}
		}
	}},
	{"an unknown code is not found", func(t *testing.T, e *env) {
		_, err := e.s.ConsumeCode(e.ctx, "nope")
		wantErr(t, "ConsumeCode", err, session.ErrNotFound)
	}},
	{"an expired code is not found, not reused", func(t *testing.T, e *env) {
		e.code("code-1", session.AuthCode{AuthRequestID: "req-1", ClientID: "app-a", ExpiresAt: Start.Add(time.Minute)})
		e.clock.Advance(time.Minute)
		_, err := e.s.ConsumeCode(e.ctx, "code-1")
		wantErr(t, "ConsumeCode", err, session.ErrNotFound)
	}},
	{"a code without ExpiresAt gets a lifetime and expires after it", func(t *testing.T, e *env) {
		e.code("code-1", session.AuthCode{AuthRequestID: "req-1", ClientID: "app-a"})
		e.code("code-2", session.AuthCode{AuthRequestID: "req-2", ClientID: "app-a"})
		got, err := e.s.ConsumeCode(e.ctx, "code-1")
		noErr(t, "ConsumeCode", err)
		if !got.ExpiresAt.After(Start) {
			t.Fatalf("ExpiresAt = %v, want after %v", got.ExpiresAt, Start)
		}
		e.clock.Set(got.ExpiresAt)
		_, err = e.s.ConsumeCode(e.ctx, "code-2")
		wantErr(t, "ConsumeCode at expiry", err, session.ErrNotFound)
	}},
	{"saving the same code twice is refused", func(t *testing.T, e *env) {
		e.code("code-1", session.AuthCode{AuthRequestID: "req-1", ClientID: "app-a"})
		err := e.s.SaveCode(e.ctx, "code-1", session.AuthCode{AuthRequestID: "req-2", ClientID: "app-b"})
		wantErr(t, "second SaveCode", err, session.ErrAlreadyExists)
		got, err := e.s.ConsumeCode(e.ctx, "code-1")
		noErr(t, "ConsumeCode", err)
		if got.AuthRequestID != "req-1" {
			t.Fatalf("the second save overwrote the first: %+v", got)
		}
	}},
	{"a code without auth request, client or value is invalid", func(t *testing.T, e *env) {
		wantErr(t, "no auth request", e.s.SaveCode(e.ctx, "c", session.AuthCode{ClientID: "app-a"}), session.ErrInvalid)
		wantErr(t, "no client", e.s.SaveCode(e.ctx, "c", session.AuthCode{AuthRequestID: "req-1"}), session.ErrInvalid)
		wantErr(t, "no value", e.s.SaveCode(e.ctx, "", session.AuthCode{AuthRequestID: "req-1", ClientID: "app-a"}), session.ErrInvalid)
	}},
	{"codes of different clients are independent and each stays bound to its client", func(t *testing.T, e *env) {
		e.code("code-a", session.AuthCode{AuthRequestID: "req-a", ClientID: "app-a"})
		e.code("code-b", session.AuthCode{AuthRequestID: "req-b", ClientID: "app-b"})
		a, err := e.s.ConsumeCode(e.ctx, "code-a")
		noErr(t, "ConsumeCode(a)", err)
		b, err := e.s.ConsumeCode(e.ctx, "code-b")
		noErr(t, "ConsumeCode(b)", err)
		if a.ClientID != "app-a" || a.AuthRequestID != "req-a" || b.ClientID != "app-b" || b.AuthRequestID != "req-b" {
			t.Fatalf("codes mixed up: a=%+v b=%+v", a, b)
		}
	}},
	{"deleting the auth request keeps its consumed code, so a replay is still detected", func(t *testing.T, e *env) {
		req := e.authRequest(sampleAuthRequest())
		e.code("code-1", session.AuthCode{AuthRequestID: req.ID, ClientID: req.ClientID})
		_, err := e.s.ConsumeCode(e.ctx, "code-1")
		noErr(t, "ConsumeCode", err)
		noErr(t, "DeleteAuthRequest", e.s.DeleteAuthRequest(e.ctx, req.ID))
		_, err = e.s.ConsumeCode(e.ctx, "code-1")
		wantErr(t, "replayed ConsumeCode", err, session.ErrCodeReused)
	}},
}

var refreshTokenTests = []conformanceTest{
	{"a created refresh token reads back by its value, which is a fresh secret and not its ID", func(t *testing.T, e *env) {
		in := sampleRefreshToken("fam-1", "app-a")
		tok, created := e.refreshToken(in)
		if len(tok) < 32 {
			t.Fatalf("token value %q is too short to be a secret", tok)
		}
		if created.ID == "" || created.ID == tok {
			t.Fatalf("ID = %q, want a non-empty ID different from the token value", created.ID)
		}
		want := in
		want.ID = created.ID
		want.IssuedAt = Start
		sameRecord(t, "created", created, want)
		got, err := e.s.GetRefreshToken(e.ctx, tok)
		noErr(t, "GetRefreshToken", err)
		sameRecord(t, "read back", got, want)
		tok2, _ := e.refreshToken(in)
		if tok2 == tok {
			t.Fatal("two tokens got the same value")
		}
	}},
	{"a user holds at most MaxLiveFamilies families at a client: one more revokes the oldest", func(t *testing.T, e *env) {
		var first, second string
		for i := range session.MaxLiveFamilies {
			tok, _ := e.refreshToken(sampleRefreshToken(fmt.Sprintf("fam-%03d", i), "app-a"))
			switch i {
			case 0:
				first = tok
			case 1:
				second = tok
			}
			e.clock.Advance(time.Millisecond)
		}
		// Another user, and the same user at another client, count apart.
		other := sampleRefreshToken("fam-other-user", "app-a")
		other.Subject = "someone-else"
		otherTok, _ := e.refreshToken(other)
		otherClient, _ := e.refreshToken(sampleRefreshToken("fam-other-client", "app-b"))
		// A rotation keeps its family: no new one counts.
		rotated, _, err := e.s.RotateRefreshToken(e.ctx, second, "app-a", nil, time.Time{})
		noErr(t, "RotateRefreshToken", err)
		_, err = e.s.GetRefreshToken(e.ctx, first)
		noErr(t, "GetRefreshToken of the first family, at the bound", err)

		e.clock.Advance(time.Millisecond)
		newest, _ := e.refreshToken(sampleRefreshToken("fam-one-more", "app-a"))
		_, err = e.s.GetRefreshToken(e.ctx, first)
		wantErr(t, "GetRefreshToken of the oldest family, beyond the bound", err, session.ErrRevoked)
		for name, tok := range map[string]string{"the newest": newest, "the rotated second": rotated, "another user's": otherTok, "another client's": otherClient} {
			if _, err := e.s.GetRefreshToken(e.ctx, tok); err != nil {
				t.Errorf("%s token: %v", name, err)
			}
		}
	}},
	{"a refresh token without family, client or subject is invalid", func(t *testing.T, e *env) {
		for _, clear := range []func(*session.RefreshToken){
			func(r *session.RefreshToken) { r.FamilyID = "" },
			func(r *session.RefreshToken) { r.ClientID = "" },
			func(r *session.RefreshToken) { r.Subject = "" },
		} {
			rt := sampleRefreshToken("fam-1", "app-a")
			clear(&rt)
			_, _, err := e.s.CreateRefreshToken(e.ctx, rt)
			wantErr(t, "CreateRefreshToken", err, session.ErrInvalid)
		}
	}},
	{"an unknown refresh token is not found everywhere", func(t *testing.T, e *env) {
		_, err := e.s.GetRefreshToken(e.ctx, "nope")
		wantErr(t, "GetRefreshToken", err, session.ErrNotFound)
		_, _, err = e.s.RotateRefreshToken(e.ctx, "nope", "app-a", nil, time.Time{})
		wantErr(t, "RotateRefreshToken", err, session.ErrNotFound)
		wantErr(t, "RevokeRefreshToken", e.s.RevokeRefreshToken(e.ctx, "nope", "app-a"), session.ErrNotFound)
	}},
	{"a refresh token expires at ExpiresAt, and one without gets a lifetime", func(t *testing.T, e *env) {
		tok, created := e.refreshToken(sampleRefreshToken("fam-1", "app-a"))
		noDefault := sampleRefreshToken("fam-2", "app-a")
		noDefault.ExpiresAt = time.Time{}
		_, defaulted := e.refreshToken(noDefault)
		if !defaulted.ExpiresAt.After(Start) {
			t.Fatalf("default ExpiresAt = %v, want after %v", defaulted.ExpiresAt, Start)
		}
		e.clock.Set(created.ExpiresAt)
		_, err := e.s.GetRefreshToken(e.ctx, tok)
		wantErr(t, "GetRefreshToken", err, session.ErrNotFound)
		_, _, err = e.s.RotateRefreshToken(e.ctx, tok, "app-a", nil, time.Time{})
		wantErr(t, "RotateRefreshToken", err, session.ErrNotFound)
	}},
	{"rotation issues a new token that keeps the grant and takes the new scopes and expiry", func(t *testing.T, e *env) {
		old, oldRec := e.refreshToken(sampleRefreshToken("fam-1", "app-a"))
		e.clock.Advance(time.Hour)
		newExp := Start.Add(48 * time.Hour)
		tok, rec, err := e.s.RotateRefreshToken(e.ctx, old, "app-a", []string{"openid", "offline_access"}, newExp)
		noErr(t, "RotateRefreshToken", err)
		if tok == old || rec.ID == oldRec.ID {
			t.Fatalf("rotation kept the old value or ID: %q %q", tok, rec.ID)
		}
		want := oldRec
		want.ID = rec.ID
		want.Scopes = []string{"openid", "offline_access"}
		want.IssuedAt = Start.Add(time.Hour)
		want.ExpiresAt = newExp
		sameRecord(t, "rotated", rec, want)
		got, err := e.s.GetRefreshToken(e.ctx, tok)
		noErr(t, "GetRefreshToken(new)", err)
		sameRecord(t, "read back", got, want)
	}},
	{"rotation with nil scopes keeps the scopes, and a chain of rotations works", func(t *testing.T, e *env) {
		tok, first := e.refreshToken(sampleRefreshToken("fam-1", "app-a"))
		for i := range 5 {
			var rec session.RefreshToken
			var err error
			tok, rec, err = e.s.RotateRefreshToken(e.ctx, tok, "app-a", nil, time.Time{})
			noErr(t, "RotateRefreshToken", err)
			if d := cmp.Diff(first.Scopes, rec.Scopes); d != "" || rec.FamilyID != "fam-1" {
				t.Fatalf("rotation %d: family %q, scopes changed:\n%s", i, rec.FamilyID, d)
			}
		}
	}},
	{"presenting a rotated token again revokes the whole family", func(t *testing.T, e *env) {
		old, _ := e.refreshToken(sampleRefreshToken("fam-1", "app-a"))
		cur, _, err := e.s.RotateRefreshToken(e.ctx, old, "app-a", nil, time.Time{})
		noErr(t, "RotateRefreshToken", err)
		_, _, err = e.s.RotateRefreshToken(e.ctx, old, "app-a", nil, time.Time{})
		wantErr(t, "replayed RotateRefreshToken", err, session.ErrRefreshTokenReused)
		_, err = e.s.GetRefreshToken(e.ctx, cur)
		wantErr(t, "GetRefreshToken(current)", err, session.ErrRevoked)
		_, _, err = e.s.RotateRefreshToken(e.ctx, cur, "app-a", nil, time.Time{})
		wantErr(t, "RotateRefreshToken(current)", err, session.ErrRevoked)
	}},
	{"looking up a rotated token also counts as reuse and revokes the family", func(t *testing.T, e *env) {
		old, _ := e.refreshToken(sampleRefreshToken("fam-1", "app-a"))
		cur, _, err := e.s.RotateRefreshToken(e.ctx, old, "app-a", nil, time.Time{})
		noErr(t, "RotateRefreshToken", err)
		_, err = e.s.GetRefreshToken(e.ctx, old)
		wantErr(t, "GetRefreshToken(old)", err, session.ErrRefreshTokenReused)
		_, err = e.s.GetRefreshToken(e.ctx, cur)
		wantErr(t, "GetRefreshToken(current)", err, session.ErrRevoked)
	}},
	{"of many concurrent rotations of one token exactly one succeeds", func(t *testing.T, e *env) {
		// Several rounds, each on a fresh family, to give a race many chances.
		const rounds, n = 20, 32
		for round := range rounds {
			tok, _ := e.refreshToken(sampleRefreshToken(fmt.Sprintf("fam-%d", round), "app-a"))
			errs := make([]error, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					<-start
					_, _, errs[i] = e.s.RotateRefreshToken(e.ctx, tok, "app-a", nil, time.Time{})
				})
			}
			close(start)
			wg.Wait()
			wins := 0
			for i, err := range errs {
				switch {
				case err == nil:
					wins++
				case errors.Is(err, session.ErrRefreshTokenReused), errors.Is(err, session.ErrRevoked):
				default:
					t.Fatalf("round %d, rotation %d: unexpected error %v", round, i, err)
				}
			}
			if wins != 1 {
				t.Fatalf("round %d: %d rotations succeeded, want exactly 1", round, wins)
			}
		}
	}},
	{"another client can neither rotate nor revoke a token, and the owner still can", func(t *testing.T, e *env) {
		tok, _ := e.refreshToken(sampleRefreshToken("fam-1", "app-a"))
		_, _, err := e.s.RotateRefreshToken(e.ctx, tok, "app-b", nil, time.Time{})
		wantErr(t, "RotateRefreshToken by app-b", err, session.ErrNotFound)
		wantErr(t, "RevokeRefreshToken by app-b", e.s.RevokeRefreshToken(e.ctx, tok, "app-b"), session.ErrNotFound)
		_, _, err = e.s.RotateRefreshToken(e.ctx, tok, "app-a", nil, time.Time{})
		noErr(t, "RotateRefreshToken by app-a", err)
	}},
	{"revoking one token leaves other families alone", func(t *testing.T, e *env) {
		a, _ := e.refreshToken(sampleRefreshToken("fam-a", "app-a"))
		b, _ := e.refreshToken(sampleRefreshToken("fam-b", "app-a"))
		noErr(t, "RevokeRefreshToken", e.s.RevokeRefreshToken(e.ctx, a, "app-a"))
		_, err := e.s.GetRefreshToken(e.ctx, a)
		wantErr(t, "GetRefreshToken(revoked)", err, session.ErrRevoked)
		_, _, err = e.s.RotateRefreshToken(e.ctx, a, "app-a", nil, time.Time{})
		wantErr(t, "RotateRefreshToken(revoked)", err, session.ErrRevoked)
		noErr(t, "revoking again", e.s.RevokeRefreshToken(e.ctx, a, "app-a"))
		_, err = e.s.GetRefreshToken(e.ctx, b)
		noErr(t, "GetRefreshToken(other family)", err)
	}},
	{"revoking a family revokes its tokens and refuses new ones, but not other clients' families", func(t *testing.T, e *env) {
		a1, _ := e.refreshToken(sampleRefreshToken("fam-a", "app-a"))
		a2, _ := e.refreshToken(sampleRefreshToken("fam-a", "app-a"))
		b, _ := e.refreshToken(sampleRefreshToken("fam-b", "app-b"))
		noErr(t, "RevokeRefreshTokenFamily", e.s.RevokeRefreshTokenFamily(e.ctx, "fam-a"))
		for _, tok := range []string{a1, a2} {
			_, err := e.s.GetRefreshToken(e.ctx, tok)
			wantErr(t, "GetRefreshToken(family member)", err, session.ErrRevoked)
		}
		_, _, err := e.s.CreateRefreshToken(e.ctx, sampleRefreshToken("fam-a", "app-a"))
		wantErr(t, "CreateRefreshToken in revoked family", err, session.ErrRevoked)
		_, _, err = e.s.RotateRefreshToken(e.ctx, b, "app-b", nil, time.Time{})
		noErr(t, "RotateRefreshToken(other client's family)", err)
	}},
	{"revoking a family before any token exists refuses tokens created in it later", func(t *testing.T, e *env) {
		// A replayed code revokes the family named after its auth request while
		// the legitimate exchange may still be about to create its token.
		noErr(t, "RevokeRefreshTokenFamily", e.s.RevokeRefreshTokenFamily(e.ctx, "req-1"))
		_, _, err := e.s.CreateRefreshToken(e.ctx, sampleRefreshToken("req-1", "app-a"))
		wantErr(t, "CreateRefreshToken", err, session.ErrRevoked)
	}},
}

var loginSessionTests = []conformanceTest{
	{"a created login session gets a secret ID and reads back equal", func(t *testing.T, e *env) {
		in := session.LoginSession{
			UserID: "user-1", OrgID: "org-1", AuthTime: Start, AMR: []string{"pwd"},
			ExpiresAt: Start.Add(time.Hour),
		}
		created := e.loginSession(in)
		if len(created.ID) < 32 {
			t.Fatalf("ID %q is too short to be a cookie secret", created.ID)
		}
		want := in
		want.ID = created.ID
		want.CreatedAt = Start
		sameRecord(t, "created", created, want)
		got, err := e.s.GetLoginSession(e.ctx, created.ID)
		noErr(t, "GetLoginSession", err)
		sameRecord(t, "read back", got, want)
		other := e.loginSession(in)
		if other.ID == created.ID {
			t.Fatal("two sessions got the same ID")
		}
	}},
	{"a login session without a user is invalid", func(t *testing.T, e *env) {
		_, err := e.s.CreateLoginSession(e.ctx, session.LoginSession{OrgID: "org-1"})
		wantErr(t, "CreateLoginSession", err, session.ErrInvalid)
	}},
	{"an unknown login session is not found", func(t *testing.T, e *env) {
		_, err := e.s.GetLoginSession(e.ctx, "nope")
		wantErr(t, "GetLoginSession", err, session.ErrNotFound)
	}},
	{"a step-up update adds to AMR and is visible to later reads", func(t *testing.T, e *env) {
		created := e.loginSession(session.LoginSession{UserID: "user-1", AMR: []string{"pwd"}, AuthTime: Start})
		e.clock.Advance(time.Minute)
		_, err := e.s.UpdateLoginSession(e.ctx, created.ID, func(s *session.LoginSession) error {
			s.AMR = append(s.AMR, "otp")
			s.AuthTime = Start.Add(time.Minute)
			return nil
		})
		noErr(t, "UpdateLoginSession", err)
		got, err := e.s.GetLoginSession(e.ctx, created.ID)
		noErr(t, "GetLoginSession", err)
		if d := cmp.Diff([]string{"pwd", "otp"}, got.AMR); d != "" || !got.AuthTime.Equal(Start.Add(time.Minute)) {
			t.Fatalf("update lost: auth time %v, AMR diff:\n%s", got.AuthTime, d)
		}
		_, err = e.s.UpdateLoginSession(e.ctx, created.ID, func(s *session.LoginSession) error {
			s.ID = "other"
			return nil
		})
		wantErr(t, "UpdateLoginSession changing the ID", err, session.ErrInvalid)
	}},
	{"a login session expires at ExpiresAt, and one without gets a lifetime", func(t *testing.T, e *env) {
		created := e.loginSession(session.LoginSession{UserID: "user-1", ExpiresAt: Start.Add(time.Hour)})
		defaulted := e.loginSession(session.LoginSession{UserID: "user-1"})
		if !defaulted.ExpiresAt.After(Start) {
			t.Fatalf("default ExpiresAt = %v, want after %v", defaulted.ExpiresAt, Start)
		}
		e.clock.Set(created.ExpiresAt)
		_, err := e.s.GetLoginSession(e.ctx, created.ID)
		wantErr(t, "GetLoginSession", err, session.ErrNotFound)
		_, err = e.s.UpdateLoginSession(e.ctx, created.ID, func(*session.LoginSession) error { return nil })
		wantErr(t, "UpdateLoginSession", err, session.ErrNotFound)
	}},
	{"a deleted login session is not found, and deleting it again is no error", func(t *testing.T, e *env) {
		created := e.loginSession(session.LoginSession{UserID: "user-1"})
		noErr(t, "DeleteLoginSession", e.s.DeleteLoginSession(e.ctx, created.ID))
		_, err := e.s.GetLoginSession(e.ctx, created.ID)
		wantErr(t, "GetLoginSession", err, session.ErrNotFound)
		noErr(t, "second DeleteLoginSession", e.s.DeleteLoginSession(e.ctx, created.ID))
	}},
}

var failureTests = []conformanceTest{
	{"failures count up within the window and restart after it", func(t *testing.T, e *env) {
		const window = 15 * time.Minute
		for i := 1; i <= 3; i++ {
			f, err := e.s.RecordFailure(e.ctx, "pwd:acme/ada", window)
			noErr(t, "RecordFailure", err)
			if f.Count != i || !f.WindowEnd.Equal(Start.Add(window)) {
				t.Fatalf("after %d failures: %+v, window end want %v", i, f, Start.Add(window))
			}
			e.clock.Advance(time.Minute)
		}
		got, err := e.s.GetFailures(e.ctx, "pwd:acme/ada")
		noErr(t, "GetFailures", err)
		if got.Count != 3 {
			t.Fatalf("GetFailures = %+v, want count 3", got)
		}
		e.clock.Set(Start.Add(window))
		got, err = e.s.GetFailures(e.ctx, "pwd:acme/ada")
		noErr(t, "GetFailures after window", err)
		if got.Count != 0 {
			t.Fatalf("GetFailures after window = %+v, want 0", got)
		}
		f, err := e.s.RecordFailure(e.ctx, "pwd:acme/ada", window)
		noErr(t, "RecordFailure after window", err)
		if f.Count != 1 || !f.WindowEnd.Equal(Start.Add(2*window)) {
			t.Fatalf("first failure of a new window = %+v", f)
		}
	}},
	{"keys are counted separately and reset forgets one key", func(t *testing.T, e *env) {
		for range 2 {
			_, err := e.s.RecordFailure(e.ctx, "a", time.Minute)
			noErr(t, "RecordFailure(a)", err)
		}
		_, err := e.s.RecordFailure(e.ctx, "b", time.Minute)
		noErr(t, "RecordFailure(b)", err)
		noErr(t, "ResetFailures(a)", e.s.ResetFailures(e.ctx, "a"))
		a, err := e.s.GetFailures(e.ctx, "a")
		noErr(t, "GetFailures(a)", err)
		b, err := e.s.GetFailures(e.ctx, "b")
		noErr(t, "GetFailures(b)", err)
		if a.Count != 0 || b.Count != 1 {
			t.Fatalf("a = %+v (want 0), b = %+v (want 1)", a, b)
		}
	}},
	{"a non-positive window is invalid", func(t *testing.T, e *env) {
		_, err := e.s.RecordFailure(e.ctx, "a", 0)
		wantErr(t, "RecordFailure", err, session.ErrInvalid)
	}},
}

var gcTests = []conformanceTest{
	{"GC removes expired records of every kind and keeps live ones", func(t *testing.T, e *env) {
		short := Start.Add(time.Minute)
		long := Start.Add(time.Hour)

		shortReq := sampleAuthRequest()
		shortReq.ExpiresAt = short
		e.authRequest(shortReq)
		longReq := sampleAuthRequest()
		longReq.ExpiresAt = long
		liveReq := e.authRequest(longReq)

		e.code("short-code", session.AuthCode{AuthRequestID: "r", ClientID: "app-a", ExpiresAt: short})
		e.code("long-code", session.AuthCode{AuthRequestID: "r", ClientID: "app-a", ExpiresAt: long})

		shortRT := sampleRefreshToken("fam-short", "app-a")
		shortRT.ExpiresAt = short
		e.refreshToken(shortRT)
		longRT := sampleRefreshToken("fam-long", "app-a")
		longRT.ExpiresAt = long
		liveTok, _ := e.refreshToken(longRT)

		e.loginSession(session.LoginSession{UserID: "u", ExpiresAt: short})
		liveLS := e.loginSession(session.LoginSession{UserID: "u", ExpiresAt: long})

		_, err := e.s.RecordFailure(e.ctx, "short", time.Minute)
		noErr(t, "RecordFailure", err)
		_, err = e.s.RecordFailure(e.ctx, "long", time.Hour)
		noErr(t, "RecordFailure", err)

		n, err := e.s.GC(e.ctx, Start)
		noErr(t, "GC before expiry", err)
		if n != 0 {
			t.Fatalf("GC before any expiry removed %d records", n)
		}

		e.clock.Set(short)
		n, err = e.s.GC(e.ctx, short)
		noErr(t, "GC", err)
		// One auth request, code, refresh token, login session and failure key;
		// backends may count bookkeeping records (token families) too.
		if n < 5 {
			t.Fatalf("GC removed %d records, want at least 5", n)
		}
		if n2, err := e.s.GC(e.ctx, short); err != nil || n2 != 0 {
			t.Fatalf("second GC removed %d records (err %v), want 0", n2, err)
		}

		_, err = e.s.GetAuthRequest(e.ctx, liveReq.ID)
		noErr(t, "GetAuthRequest(live)", err)
		_, err = e.s.ConsumeCode(e.ctx, "long-code")
		noErr(t, "ConsumeCode(live)", err)
		_, _, err = e.s.RotateRefreshToken(e.ctx, liveTok, "app-a", nil, long)
		noErr(t, "RotateRefreshToken(live)", err)
		_, err = e.s.GetLoginSession(e.ctx, liveLS.ID)
		noErr(t, "GetLoginSession(live)", err)
		f, err := e.s.GetFailures(e.ctx, "long")
		noErr(t, "GetFailures(live)", err)
		if f.Count != 1 {
			t.Fatalf("live failure count = %d, want 1", f.Count)
		}
	}},
	{"reuse of a rotated token is detected until the token itself expires", func(t *testing.T, e *env) {
		rt := sampleRefreshToken("fam-1", "app-a")
		rt.ExpiresAt = Start.Add(time.Hour)
		old, _ := e.refreshToken(rt)
		cur, _, err := e.s.RotateRefreshToken(e.ctx, old, "app-a", nil, Start.Add(3*time.Hour))
		noErr(t, "RotateRefreshToken", err)
		e.clock.Set(Start.Add(time.Hour - time.Second))
		_, err = e.s.GC(e.ctx, e.clock.Now())
		noErr(t, "GC", err)
		_, err = e.s.GetRefreshToken(e.ctx, old)
		wantErr(t, "GetRefreshToken(old) after GC", err, session.ErrRefreshTokenReused)
		_, err = e.s.GetRefreshToken(e.ctx, cur)
		wantErr(t, "GetRefreshToken(current)", err, session.ErrRevoked)
	}},
	{"a revoked family still refuses new tokens after GC", func(t *testing.T, e *env) {
		noErr(t, "RevokeRefreshTokenFamily", e.s.RevokeRefreshTokenFamily(e.ctx, "req-1"))
		e.clock.Advance(time.Second)
		_, err := e.s.GC(e.ctx, e.clock.Now())
		noErr(t, "GC", err)
		_, _, err = e.s.CreateRefreshToken(e.ctx, sampleRefreshToken("req-1", "app-a"))
		wantErr(t, "CreateRefreshToken", err, session.ErrRevoked)
	}},
}

var contextTests = []conformanceTest{
	{"every method returns the error of a cancelled context", func(t *testing.T, e *env) {
		ctx, cancel := context.WithCancel(e.ctx)
		cancel()
		s := e.s
		calls := map[string]error{}
		_, calls["CreateAuthRequest"] = s.CreateAuthRequest(ctx, sampleAuthRequest())
		_, calls["GetAuthRequest"] = s.GetAuthRequest(ctx, "x")
		_, calls["UpdateAuthRequest"] = s.UpdateAuthRequest(ctx, "x", func(*session.AuthRequest) error { return nil })
		calls["DeleteAuthRequest"] = s.DeleteAuthRequest(ctx, "x")
		calls["SaveCode"] = s.SaveCode(ctx, "c", session.AuthCode{AuthRequestID: "r", ClientID: "a"})
		_, calls["ConsumeCode"] = s.ConsumeCode(ctx, "c")
		_, _, calls["CreateRefreshToken"] = s.CreateRefreshToken(ctx, sampleRefreshToken("f", "a"))
		_, calls["GetRefreshToken"] = s.GetRefreshToken(ctx, "x")
		_, _, calls["RotateRefreshToken"] = s.RotateRefreshToken(ctx, "x", "a", nil, time.Time{})
		calls["RevokeRefreshToken"] = s.RevokeRefreshToken(ctx, "x", "a")
		calls["RevokeRefreshTokenFamily"] = s.RevokeRefreshTokenFamily(ctx, "f")
		_, calls["CreateLoginSession"] = s.CreateLoginSession(ctx, session.LoginSession{UserID: "u"})
		_, calls["GetLoginSession"] = s.GetLoginSession(ctx, "x")
		_, calls["UpdateLoginSession"] = s.UpdateLoginSession(ctx, "x", func(*session.LoginSession) error { return nil })
		calls["DeleteLoginSession"] = s.DeleteLoginSession(ctx, "x")
		_, calls["RecordFailure"] = s.RecordFailure(ctx, "k", time.Minute)
		_, calls["GetFailures"] = s.GetFailures(ctx, "k")
		calls["ResetFailures"] = s.ResetFailures(ctx, "k")
		calls["ReleaseFailure"] = s.ReleaseFailure(ctx, "k", Start)
		_, calls["GC"] = s.GC(ctx, Start)
		for name, err := range calls {
			if !errors.Is(err, context.Canceled) {
				t.Errorf("%s: error = %v, want context.Canceled", name, err)
			}
		}
	}},
}
