package session

import (
	"encoding/base64"
	"fmt"
	"io"
	"slices"
	"time"
)

// The Prepare functions hold the rules every Store applies to a record before
// it stores it: which fields are required, which the store fills in (IDs,
// CreatedAt, default expiry) and which it resets. Every backend calls them,
// so a new backend cannot drift from the others; the conformance suite
// (sessiontest) checks the result.

// MergeTTLs returns base with every positive field of override taken from
// override. It is what each backend's WithTTLs option does.
func MergeTTLs(base, override TTLs) TTLs {
	for _, f := range []struct{ dst, src *time.Duration }{
		{&base.AuthRequest, &override.AuthRequest},
		{&base.Code, &override.Code},
		{&base.RefreshToken, &override.RefreshToken},
		{&base.LoginSession, &override.LoginSession},
		{&base.RevokedFamily, &override.RevokedFamily},
	} {
		if *f.src > 0 {
			*f.dst = *f.src
		}
	}
	return base
}

// NewID returns a random 128-bit identifier from r, base64url-encoded. Stores
// use it for refresh token IDs, which name a token but do not grant anything.
func NewID(r io.Reader) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("session: generating ID: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// newStoreSecret is NewSecret with the error a store returns.
func newStoreSecret(r io.Reader) (string, error) {
	s, err := NewSecret(r)
	if err != nil {
		return "", fmt.Errorf("session: generating secret: %w", err)
	}
	return s, nil
}

// PrepareAuthRequest checks req and returns the copy a store keeps: a random
// ID from r if req has none, CreatedAt now, and ExpiresAt now+ttl if zero.
func PrepareAuthRequest(req AuthRequest, r io.Reader, now time.Time, ttl time.Duration) (AuthRequest, error) {
	if req.ClientID == "" {
		return AuthRequest{}, invalid("auth request without client ID")
	}
	req = req.Clone()
	if req.ID == "" {
		id, err := newStoreSecret(r)
		if err != nil {
			return AuthRequest{}, err
		}
		req.ID = id
	}
	req.CreatedAt = now
	req.ExpiresAt = expiry(req.ExpiresAt, now, ttl)
	return req, nil
}

// PrepareCode checks a code and its record and returns the record a store
// keeps: CreatedAt now, ExpiresAt now+ttl if zero, not consumed.
func PrepareCode(code string, c AuthCode, now time.Time, ttl time.Duration) (AuthCode, error) {
	switch {
	case code == "":
		return AuthCode{}, invalid("empty authorization code")
	case c.AuthRequestID == "":
		return AuthCode{}, invalid("authorization code without auth request ID")
	case c.ClientID == "":
		return AuthCode{}, invalid("authorization code without client ID")
	}
	c.CreatedAt = now
	c.ExpiresAt = expiry(c.ExpiresAt, now, ttl)
	c.ConsumedAt = time.Time{}
	return c, nil
}

// PrepareRefreshToken checks rt and returns a new token value from r and the
// copy a store keeps: a random ID from r if rt has none, IssuedAt now, and
// ExpiresAt now+ttl if zero.
func PrepareRefreshToken(rt RefreshToken, r io.Reader, now time.Time, ttl time.Duration) (string, RefreshToken, error) {
	switch {
	case rt.FamilyID == "":
		return "", RefreshToken{}, invalid("refresh token without family ID")
	case rt.ClientID == "":
		return "", RefreshToken{}, invalid("refresh token without client ID")
	case rt.Subject == "":
		return "", RefreshToken{}, invalid("refresh token without subject")
	}
	token, err := newStoreSecret(r)
	if err != nil {
		return "", RefreshToken{}, err
	}
	rt = rt.Clone()
	if rt.ID == "" {
		if rt.ID, err = NewID(r); err != nil {
			return "", RefreshToken{}, err
		}
	}
	rt.IssuedAt = now
	rt.ExpiresAt = expiry(rt.ExpiresAt, now, ttl)
	return token, rt, nil
}

// NewRotationValues returns the value and ID, from r, of the token that
// replaces one in RotateRefreshToken. Stores draw them before they take the
// lock (or run the script) that decides the rotation.
func NewRotationValues(r io.Reader) (token, id string, err error) {
	if token, err = newStoreSecret(r); err != nil {
		return "", "", err
	}
	if id, err = NewID(r); err != nil {
		return "", "", err
	}
	return token, id, nil
}

// RotatedRefreshToken returns the record of the token that replaces cur: the
// same family and grant, the new id, IssuedAt now, ExpiresAt expiresAt (or
// now+ttl if zero) and scopes if not nil (narrowed by the caller).
func RotatedRefreshToken(cur RefreshToken, id string, scopes []string, expiresAt, now time.Time, ttl time.Duration) RefreshToken {
	next := cur.Clone()
	next.ID = id
	next.IssuedAt = now
	next.ExpiresAt = expiry(expiresAt, now, ttl)
	if scopes != nil {
		next.Scopes = slices.Clone(scopes)
	}
	return next
}

// PrepareLoginSession checks s and returns the copy a store returns to the
// caller (a random ID from r if s has none, CreatedAt now, ExpiresAt now+ttl
// if zero) and the one it keeps: the same without the ID, which is the
// cookie's secret, so the store keeps only its HashSecret as the key.
func PrepareLoginSession(s LoginSession, r io.Reader, now time.Time, ttl time.Duration) (session, stored LoginSession, err error) {
	if s.UserID == "" {
		return LoginSession{}, LoginSession{}, invalid("login session without user ID")
	}
	s = s.Clone()
	if s.ID == "" {
		id, err := newStoreSecret(r)
		if err != nil {
			return LoginSession{}, LoginSession{}, err
		}
		s.ID = id
	}
	s.CreatedAt = now
	s.ExpiresAt = expiry(s.ExpiresAt, now, ttl)
	stored = s.Clone()
	stored.ID = ""
	return s, stored, nil
}

// CheckAuthRequestUpdate is the rule for the result of an UpdateAuthRequest
// callback on the request named id: the ID names the record and cannot
// change.
func CheckAuthRequestUpdate(id string, next AuthRequest) error {
	if next.ID != id {
		return invalid("auth request ID cannot change")
	}
	return nil
}

// CheckLoginSessionUpdate is the rule for the result of an
// UpdateLoginSession callback on the session named id: the ID is the
// cookie's secret and the record's key, and cannot change.
func CheckLoginSessionUpdate(id string, next LoginSession) error {
	if next.ID != id {
		return invalid("login session ID cannot change")
	}
	return nil
}

// CheckFamilyID checks the family ID given to RevokeRefreshTokenFamily.
func CheckFamilyID(familyID string) error {
	if familyID == "" {
		return invalid("empty refresh token family ID")
	}
	return nil
}

// CheckFailureWindow checks the window given to RecordFailure.
func CheckFailureWindow(window time.Duration) error {
	if window <= 0 {
		return invalid("failure window must be positive")
	}
	return nil
}

func invalid(msg string) error { return fmt.Errorf("%w: %s", ErrInvalid, msg) }
