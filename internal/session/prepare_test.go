package session_test

import (
	"errors"
	"testing"
	"time"

	"github.com/orgkeeper/orgkeeper/internal/session"
	"github.com/orgkeeper/orgkeeper/internal/session/sessiontest"
)

// zeros is a source of random bytes that never runs out.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestPrepareRefusesRecordsWithoutTheirRequiredFields(t *testing.T) {
	now := sessiontest.Start
	tests := []struct {
		name string
		err  func() error
	}{
		{"an auth request without a client ID is refused", func() error {
			_, err := session.PrepareAuthRequest(session.AuthRequest{}, zeros{}, now, time.Minute)
			return err
		}},
		{"an empty authorization code is refused", func() error {
			_, err := session.PrepareCode("", session.AuthCode{AuthRequestID: "r", ClientID: "c"}, now, time.Minute)
			return err
		}},
		{"an authorization code without an auth request ID is refused", func() error {
			_, err := session.PrepareCode("x", session.AuthCode{ClientID: "c"}, now, time.Minute)
			return err
		}},
		{"an authorization code without a client ID is refused", func() error {
			_, err := session.PrepareCode("x", session.AuthCode{AuthRequestID: "r"}, now, time.Minute)
			return err
		}},
		{"a refresh token without a family is refused", func() error {
			_, _, err := session.PrepareRefreshToken(session.RefreshToken{ClientID: "c", Subject: "u"}, zeros{}, now, time.Minute)
			return err
		}},
		{"a refresh token without a client ID is refused", func() error {
			_, _, err := session.PrepareRefreshToken(session.RefreshToken{FamilyID: "f", Subject: "u"}, zeros{}, now, time.Minute)
			return err
		}},
		{"a refresh token without a subject is refused", func() error {
			_, _, err := session.PrepareRefreshToken(session.RefreshToken{FamilyID: "f", ClientID: "c"}, zeros{}, now, time.Minute)
			return err
		}},
		{"a login session without a user ID is refused", func() error {
			_, _, err := session.PrepareLoginSession(session.LoginSession{}, zeros{}, now, time.Minute)
			return err
		}},
		{"an auth request update that changes the ID is refused", func() error {
			return session.CheckAuthRequestUpdate("a", session.AuthRequest{ID: "b", ClientID: "c"})
		}},
		{"a login session update that changes the ID is refused", func() error {
			return session.CheckLoginSessionUpdate("a", session.LoginSession{ID: "b", UserID: "u"})
		}},
		{"revoking a family without its ID is refused", func() error { return session.CheckFamilyID("") }},
		{"a failure window of zero is refused", func() error { return session.CheckFailureWindow(0) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.err(); !errors.Is(err, session.ErrInvalid) {
				t.Fatalf("error = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestPrepareFillsWhatTheStoreOwns(t *testing.T) {
	now := sessiontest.Start
	later := now.Add(time.Hour)

	code, err := session.PrepareCode("x", session.AuthCode{AuthRequestID: "r", ClientID: "c", ConsumedAt: now}, now, time.Minute)
	must(t, err)
	if !code.CreatedAt.Equal(now) || !code.ExpiresAt.Equal(now.Add(time.Minute)) || !code.ConsumedAt.IsZero() {
		t.Errorf("code = %+v, want created now, expiring after the TTL, not consumed", code)
	}

	req, err := session.PrepareAuthRequest(session.AuthRequest{ClientID: "c", ExpiresAt: later}, zeros{}, now, time.Minute)
	must(t, err)
	if req.ID == "" || !req.ExpiresAt.Equal(later) {
		t.Errorf("auth request = %+v, want a new ID and the expiry it asked for", req)
	}

	tok, rt, err := session.PrepareRefreshToken(session.RefreshToken{FamilyID: "f", ClientID: "c", Subject: "u"}, zeros{}, now, time.Minute)
	must(t, err)
	if tok == "" || rt.ID == "" || tok == rt.ID || !rt.IssuedAt.Equal(now) {
		t.Errorf("token %q, record %+v: want a token value, a different ID, issued now", tok, rt)
	}

	ls, stored, err := session.PrepareLoginSession(session.LoginSession{UserID: "u", AMR: []string{"pwd"}}, zeros{}, now, time.Minute)
	must(t, err)
	if ls.ID == "" || stored.ID != "" {
		t.Errorf("login session ID %q, stored ID %q: the caller gets the ID, the store keeps none", ls.ID, stored.ID)
	}
	stored.AMR[0] = "changed"
	if ls.AMR[0] != "pwd" {
		t.Error("the stored login session shares its AMR slice with the returned one")
	}

	next := session.RotatedRefreshToken(rt, "new", []string{"openid"}, time.Time{}, later, time.Minute)
	if next.ID != "new" || next.FamilyID != "f" || !next.IssuedAt.Equal(later) || !next.ExpiresAt.Equal(later.Add(time.Minute)) || len(next.Scopes) != 1 {
		t.Errorf("rotated token = %+v, want the new ID in the same family, issued at rotation with narrowed scopes", next)
	}
}

func TestMergeTTLsKeepsTheBaseForZeroFields(t *testing.T) {
	got := session.MergeTTLs(session.DefaultTTLs(), session.TTLs{Code: time.Second})
	want := session.DefaultTTLs()
	want.Code = time.Second
	if got != want {
		t.Fatalf("MergeTTLs = %+v, want %+v", got, want)
	}
}
