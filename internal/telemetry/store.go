package telemetry

import (
	"context"
	"errors"
	"time"

	"github.com/orgkeeper/orgkeeper/internal/session"
)

// InstrumentStore returns s counting its failures in
// orgkeeper_session_store_errors_total{store=name}. A miss, an invalid
// record refused (the caller logs its own bug), a reuse, a
// revocation, an error of an update function and a cancelled request are
// answers, not failures, and are not counted. A nil *Metrics returns s.
//
// Methods that session.Store gains later pass through uncounted until they
// are added here (the interface is embedded).
func (m *Metrics) InstrumentStore(s session.Store, name string) session.Store {
	if m == nil || s == nil {
		return s
	}
	return &countedStore{Store: s, m: m, name: name}
}

type countedStore struct {
	session.Store
	m    *Metrics
	name string
}

var _ session.Store = (*countedStore)(nil)

// expected are the store's answers that are not failures.
var expected = []error{session.ErrNotFound, session.ErrAlreadyExists, session.ErrInvalid, session.ErrCodeReused,
	session.ErrRefreshTokenReused, session.ErrRevoked, context.Canceled}

func (c *countedStore) count(op string, err error) {
	if err == nil {
		return
	}
	for _, e := range expected {
		if errors.Is(err, e) {
			return
		}
	}
	c.m.StoreError(c.name, op)
}

// updateErr tells an update function's own error (returned as is, an
// answer) from the store's.
type updateErr struct{ err error }

// countUpdate runs an update through store, counting the store's error as
// op's but not the error of update itself, which the store returns as is:
// that is the caller's answer, not a failure of the store.
func countUpdate[T any](c *countedStore, op string, update func(*T) error, store func(func(*T) error) (T, error)) (T, error) {
	var own *updateErr
	r, err := store(func(v *T) error {
		own = nil
		if err := update(v); err != nil {
			own = &updateErr{err}
			return err
		}
		return nil
	})
	if own == nil || !errors.Is(err, own.err) {
		c.count(op, err)
	}
	return r, err
}

func (c *countedStore) CreateAuthRequest(ctx context.Context, req session.AuthRequest) (session.AuthRequest, error) {
	r, err := c.Store.CreateAuthRequest(ctx, req)
	c.count("create_auth_request", err)
	return r, err
}

func (c *countedStore) GetAuthRequest(ctx context.Context, id string) (session.AuthRequest, error) {
	r, err := c.Store.GetAuthRequest(ctx, id)
	c.count("get_auth_request", err)
	return r, err
}

func (c *countedStore) UpdateAuthRequest(ctx context.Context, id string, update func(*session.AuthRequest) error) (session.AuthRequest, error) {
	return countUpdate(c, "update_auth_request", update, func(fn func(*session.AuthRequest) error) (session.AuthRequest, error) {
		return c.Store.UpdateAuthRequest(ctx, id, fn)
	})
}

func (c *countedStore) DeleteAuthRequest(ctx context.Context, id string) error {
	err := c.Store.DeleteAuthRequest(ctx, id)
	c.count("delete_auth_request", err)
	return err
}

func (c *countedStore) SaveCode(ctx context.Context, code string, ac session.AuthCode) error {
	err := c.Store.SaveCode(ctx, code, ac)
	c.count("save_code", err)
	return err
}

func (c *countedStore) ConsumeCode(ctx context.Context, code string) (session.AuthCode, error) {
	r, err := c.Store.ConsumeCode(ctx, code)
	c.count("consume_code", err)
	return r, err
}

func (c *countedStore) CreateRefreshToken(ctx context.Context, rt session.RefreshToken) (string, session.RefreshToken, error) {
	t, r, err := c.Store.CreateRefreshToken(ctx, rt)
	c.count("create_refresh_token", err)
	return t, r, err
}

func (c *countedStore) GetRefreshToken(ctx context.Context, token string) (session.RefreshToken, error) {
	r, err := c.Store.GetRefreshToken(ctx, token)
	c.count("get_refresh_token", err)
	return r, err
}

func (c *countedStore) RotateRefreshToken(ctx context.Context, token, clientID string, scopes []string, expiresAt time.Time) (string, session.RefreshToken, error) {
	t, r, err := c.Store.RotateRefreshToken(ctx, token, clientID, scopes, expiresAt)
	c.count("rotate_refresh_token", err)
	return t, r, err
}

func (c *countedStore) RevokeRefreshToken(ctx context.Context, token, clientID string) error {
	err := c.Store.RevokeRefreshToken(ctx, token, clientID)
	c.count("revoke_refresh_token", err)
	return err
}

func (c *countedStore) RevokeRefreshTokenFamily(ctx context.Context, familyID string) error {
	err := c.Store.RevokeRefreshTokenFamily(ctx, familyID)
	c.count("revoke_refresh_token_family", err)
	return err
}

func (c *countedStore) CreateLoginSession(ctx context.Context, s session.LoginSession) (session.LoginSession, error) {
	r, err := c.Store.CreateLoginSession(ctx, s)
	c.count("create_login_session", err)
	return r, err
}

func (c *countedStore) GetLoginSession(ctx context.Context, id string) (session.LoginSession, error) {
	r, err := c.Store.GetLoginSession(ctx, id)
	c.count("get_login_session", err)
	return r, err
}

func (c *countedStore) UpdateLoginSession(ctx context.Context, id string, update func(*session.LoginSession) error) (session.LoginSession, error) {
	return countUpdate(c, "update_login_session", update, func(fn func(*session.LoginSession) error) (session.LoginSession, error) {
		return c.Store.UpdateLoginSession(ctx, id, fn)
	})
}

func (c *countedStore) DeleteLoginSession(ctx context.Context, id string) error {
	err := c.Store.DeleteLoginSession(ctx, id)
	c.count("delete_login_session", err)
	return err
}

func (c *countedStore) RecordFailure(ctx context.Context, key string, window time.Duration) (session.Failures, error) {
	r, err := c.Store.RecordFailure(ctx, key, window)
	c.count("record_failure", err)
	return r, err
}

func (c *countedStore) GetFailures(ctx context.Context, key string) (session.Failures, error) {
	r, err := c.Store.GetFailures(ctx, key)
	c.count("get_failures", err)
	return r, err
}

func (c *countedStore) ReleaseFailure(ctx context.Context, key string, windowEnd time.Time) error {
	err := c.Store.ReleaseFailure(ctx, key, windowEnd)
	c.count("release_failure", err)
	return err
}

func (c *countedStore) ResetFailures(ctx context.Context, key string) error {
	err := c.Store.ResetFailures(ctx, key)
	c.count("reset_failures", err)
	return err
}

func (c *countedStore) GC(ctx context.Context, now time.Time) (int, error) {
	n, err := c.Store.GC(ctx, now)
	c.count("gc", err)
	return n, err
}
