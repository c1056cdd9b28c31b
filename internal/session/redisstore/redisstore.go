package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/orgkeeper/orgkeeper/internal/session"
)

var _ session.Store = (*Store)(nil)

// DefaultPrefix starts every key the store writes, so that one Redis
// database can be shared with other programs (or other installations, with
// another prefix).
const DefaultPrefix = "orgkeeper:"

// ttlGrace is added to each record's Redis TTL: the record's own ExpiresAt
// decides when it is gone (checked against the store's clock on every read);
// the TTL only cleans up, and must not fire early when the Redis host's clock
// runs ahead of the replicas'.
const ttlGrace = time.Minute

// maxUpdateAttempts bounds the optimistic transactions of UpdateAuthRequest
// and UpdateLoginSession: each retry means another replica changed the same
// record between our read and our write.
const maxUpdateAttempts = 64

// Option configures New.
type Option func(*Store)

// WithClock sets the clock (time.Now by default).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithRand sets the source of token values and IDs (crypto/rand by default).
func WithRand(r io.Reader) Option { return func(s *Store) { s.rand = r } }

// WithTTLs sets the default lifetimes; zero fields keep session.DefaultTTLs().
func WithTTLs(t session.TTLs) Option {
	return func(s *Store) { s.ttl = session.MergeTTLs(s.ttl, t) }
}

// WithPrefix sets the key prefix (DefaultPrefix by default).
func WithPrefix(p string) Option { return func(s *Store) { s.prefix = p } }

// Store is a session.Store in Redis, shared by every replica of the issuer.
// Each record is one hash; every change that reads before it writes is one
// Lua script or an optimistic (WATCH) transaction, so concurrent replicas
// consume a code once and rotate a refresh token once. Records carry Redis
// TTLs, so Redis itself drops what expired; GC sweeps what is left.
type Store struct {
	rdb    redis.UniversalClient
	now    func() time.Time
	rand   io.Reader
	ttl    session.TTLs
	prefix string
}

// New returns a store on rdb. It does not contact Redis; call Ping to check
// the connection.
func New(rdb redis.UniversalClient, opts ...Option) *Store {
	s := &Store{rdb: rdb, now: time.Now, rand: rand.Reader, ttl: session.DefaultTTLs(), prefix: DefaultPrefix}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Ping checks that Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("session store: redis does not answer: %w", err)
	}
	return nil
}

// Key kinds. Secrets (codes, refresh tokens, login session IDs) appear only
// as session.HashSecret of the value; failure keys are hashed too, to bound
// their length.
const (
	kindAuthRequest  = "ar:"
	kindCode         = "code:"
	kindRefreshToken = "rt:"
	kindFamily       = "fam:"
	kindOwner        = "owner:"
	kindFamilyTokens = "famtok:"
	kindLoginSession = "ls:"
	kindFailures     = "fail:"
)

func (s *Store) key(kind, id string) string { return s.prefix + kind + id }

func micros(t time.Time) string { return fmt.Sprintf("%d", t.UnixMicro()) }

// pxat is the Redis expiry (Unix ms) of a record that ends at t.
func pxat(t time.Time) string { return fmt.Sprintf("%d", t.Add(ttlGrace).UnixMilli()) }

func graceMillis() string { return fmt.Sprintf("%d", ttlGrace.Milliseconds()) }

func jsonTime(t time.Time) (string, error) {
	b, err := json.Marshal(t)
	return string(b), err
}

func parseJSONTime(s string) (time.Time, error) {
	var t time.Time
	err := json.Unmarshal([]byte(s), &t)
	return t, err
}

func expired(exp, now time.Time) bool { return !now.Before(exp) }

func notFound(kind string) error   { return fmt.Errorf("%s: %w", kind, session.ErrNotFound) }
func expiredErr(kind string) error { return fmt.Errorf("%s expired: %w", kind, session.ErrNotFound) }

// redisErr wraps an error from Redis, keeping a context error recognisable.
func redisErr(ctx context.Context, what string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	return fmt.Errorf("session store: %s: %w", what, err)
}

// create stores v under key unless the key exists.
func (s *Store) create(ctx context.Context, key string, v any, exp time.Time) (bool, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return false, err
	}
	n, err := createScript.Run(ctx, s.rdb, []string{key}, string(raw), micros(exp), pxat(exp)).Int()
	if err != nil {
		return false, redisErr(ctx, "storing a record", err)
	}
	return n == 1, nil
}

// read loads the JSON record at key into v and returns its expiry; found is
// false if there is none.
func (s *Store) read(ctx context.Context, key string, v any) (found bool, err error) {
	raw, err := s.rdb.HGet(ctx, key, "v").Result()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, redisErr(ctx, "reading a record", err)
	}
	if err := json.Unmarshal([]byte(raw), v); err != nil {
		return false, fmt.Errorf("session store: record %s is corrupt: %w", key, err)
	}
	return true, nil
}

// update is an optimistic transaction on the JSON record at key: it reads
// the record, lets change edit it (change reports the kind's not-found and
// expiry errors itself), and writes it back only if the stored JSON is still
// what it read (compare-and-set in one script), retrying a bounded number
// of times when another replica wrote in between. Two round trips, where
// WATCH/MULTI/EXEC takes three.
func (s *Store) update(ctx context.Context, key string, decode func(raw []byte) error, change func() (any, error)) error {
	for range maxUpdateAttempts {
		raw, err := s.rdb.HGet(ctx, key, "v").Result()
		if errors.Is(err, redis.Nil) {
			raw = ""
		} else if err != nil {
			return redisErr(ctx, "reading a record", err)
		}
		if err := decode([]byte(raw)); err != nil {
			return err
		}
		next, err := change()
		if err != nil {
			return err
		}
		out, err := json.Marshal(next)
		if err != nil {
			return err
		}
		n, err := casScript.Run(ctx, s.rdb, []string{key}, raw, string(out)).Int()
		if err != nil {
			return redisErr(ctx, "updating a record", err)
		}
		if n == 1 {
			return nil
		}
		// Another replica wrote the record (or it expired): read it again.
	}
	return fmt.Errorf("session store: record changed concurrently %d times in a row; giving up", maxUpdateAttempts)
}

// ---- auth requests

// CreateAuthRequest implements session.AuthRequestStore.
func (s *Store) CreateAuthRequest(ctx context.Context, req session.AuthRequest) (session.AuthRequest, error) {
	if err := ctx.Err(); err != nil {
		return session.AuthRequest{}, err
	}
	req, err := session.PrepareAuthRequest(req, s.rand, s.now(), s.ttl.AuthRequest)
	if err != nil {
		return session.AuthRequest{}, err
	}
	ok, err := s.create(ctx, s.key(kindAuthRequest, req.ID), req, req.ExpiresAt)
	if err != nil {
		return session.AuthRequest{}, err
	}
	if !ok {
		return session.AuthRequest{}, fmt.Errorf("auth request %q: %w", req.ID, session.ErrAlreadyExists)
	}
	return req, nil
}

// GetAuthRequest implements session.AuthRequestStore.
func (s *Store) GetAuthRequest(ctx context.Context, id string) (session.AuthRequest, error) {
	if err := ctx.Err(); err != nil {
		return session.AuthRequest{}, err
	}
	var r session.AuthRequest
	found, err := s.read(ctx, s.key(kindAuthRequest, id), &r)
	switch {
	case err != nil:
		return session.AuthRequest{}, err
	case !found:
		return session.AuthRequest{}, notFound("auth request")
	case expired(r.ExpiresAt, s.now()):
		return session.AuthRequest{}, expiredErr("auth request")
	}
	return r, nil
}

// UpdateAuthRequest implements session.AuthRequestStore.
func (s *Store) UpdateAuthRequest(ctx context.Context, id string, update func(*session.AuthRequest) error) (session.AuthRequest, error) {
	if err := ctx.Err(); err != nil {
		return session.AuthRequest{}, err
	}
	var cur, next session.AuthRequest
	err := s.update(ctx, s.key(kindAuthRequest, id),
		func(raw []byte) error {
			cur = session.AuthRequest{}
			if len(raw) == 0 {
				return notFound("auth request")
			}
			return json.Unmarshal(raw, &cur)
		},
		func() (any, error) {
			if expired(cur.ExpiresAt, s.now()) {
				return nil, expiredErr("auth request")
			}
			next = cur.Clone()
			if err := update(&next); err != nil {
				return nil, err
			}
			if err := session.CheckAuthRequestUpdate(id, next); err != nil {
				return nil, err
			}
			return next, nil
		})
	if err != nil {
		return session.AuthRequest{}, err
	}
	return next.Clone(), nil
}

// DeleteAuthRequest implements session.AuthRequestStore.
func (s *Store) DeleteAuthRequest(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.rdb.Del(ctx, s.key(kindAuthRequest, id)).Err(); err != nil {
		return redisErr(ctx, "deleting an auth request", err)
	}
	return nil
}

// ---- codes

// SaveCode implements session.CodeStore.
func (s *Store) SaveCode(ctx context.Context, code string, c session.AuthCode) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c, err := session.PrepareCode(code, c, s.now(), s.ttl.Code)
	if err != nil {
		return err
	}
	ok, err := s.create(ctx, s.key(kindCode, session.HashSecret(code)), c, c.ExpiresAt)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("authorization code: %w", session.ErrAlreadyExists)
	}
	return nil
}

// ConsumeCode implements session.CodeStore.
func (s *Store) ConsumeCode(ctx context.Context, code string) (session.AuthCode, error) {
	if err := ctx.Err(); err != nil {
		return session.AuthCode{}, err
	}
	now := s.now()
	nowJSON, err := jsonTime(now)
	if err != nil {
		return session.AuthCode{}, err
	}
	res, err := consumeScript.Run(ctx, s.rdb, []string{s.key(kindCode, session.HashSecret(code))}, micros(now), nowJSON).StringSlice()
	if err != nil {
		return session.AuthCode{}, redisErr(ctx, "consuming a code", err)
	}
	switch res[0] {
	case "notfound":
		return session.AuthCode{}, notFound("authorization code")
	case "expired":
		return session.AuthCode{}, expiredErr("authorization code")
	}
	var c session.AuthCode
	if err := json.Unmarshal([]byte(res[1]), &c); err != nil {
		return session.AuthCode{}, fmt.Errorf("session store: corrupt authorization code: %w", err)
	}
	if c.ConsumedAt, err = parseJSONTime(res[2]); err != nil {
		return session.AuthCode{}, fmt.Errorf("session store: corrupt authorization code: %w", err)
	}
	if res[0] == "reused" {
		return c, session.ErrCodeReused
	}
	return c, nil
}

// ---- refresh tokens

// tokenState is a refresh token's record with its mutable fields.
type tokenState struct {
	rt      session.RefreshToken
	used    bool
	revoked bool
}

// readToken loads the live record of a token hash.
func (s *Store) readToken(ctx context.Context, h string, now time.Time) (tokenState, error) {
	vals, err := s.rdb.HMGet(ctx, s.key(kindRefreshToken, h), "v", "used", "revoked").Result()
	if err != nil {
		return tokenState{}, redisErr(ctx, "reading a refresh token", err)
	}
	raw, ok := vals[0].(string)
	if !ok {
		return tokenState{}, notFound("refresh token")
	}
	var st tokenState
	if err := json.Unmarshal([]byte(raw), &st.rt); err != nil {
		return tokenState{}, fmt.Errorf("session store: corrupt refresh token: %w", err)
	}
	if expired(st.rt.ExpiresAt, now) {
		return tokenState{}, expiredErr("refresh token")
	}
	st.used = vals[1] != nil
	st.revoked = vals[2] == "1"
	return st, nil
}

// familyRevoked reports whether a live family is revoked.
func (s *Store) familyRevoked(ctx context.Context, familyID string, now time.Time) (bool, error) {
	vals, err := s.rdb.HMGet(ctx, s.key(kindFamily, familyID), "revoked", "exp").Result()
	if err != nil {
		return false, redisErr(ctx, "reading a refresh token family", err)
	}
	raw, _ := vals[1].(string)
	exp, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || exp <= now.UnixMicro() {
		return false, nil // no family, or one that ended: nothing is revoked
	}
	return vals[0] == "1", nil
}

func (s *Store) revokeFamily(ctx context.Context, familyID string, now time.Time) error {
	err := revokeFamilyScript.Run(ctx, s.rdb, []string{s.key(kindFamily, familyID)},
		micros(now), micros(now.Add(s.ttl.RevokedFamily)), graceMillis()).Err()
	if err != nil {
		return redisErr(ctx, "revoking a refresh token family", err)
	}
	return nil
}

// CreateRefreshToken implements session.RefreshTokenStore.
func (s *Store) CreateRefreshToken(ctx context.Context, rt session.RefreshToken) (string, session.RefreshToken, error) {
	if err := ctx.Err(); err != nil {
		return "", session.RefreshToken{}, err
	}
	now := s.now()
	token, rt, err := session.PrepareRefreshToken(rt, s.rand, now, s.ttl.RefreshToken)
	if err != nil {
		return "", session.RefreshToken{}, err
	}
	raw, err := json.Marshal(rt)
	if err != nil {
		return "", session.RefreshToken{}, err
	}
	res, err := createTokenScript.Run(ctx, s.rdb,
		[]string{s.key(kindFamily, rt.FamilyID), s.key(kindRefreshToken, session.HashSecret(token)), s.key(kindFamilyTokens, rt.FamilyID)},
		micros(now), string(raw), micros(rt.ExpiresAt), rt.ClientID, rt.FamilyID, graceMillis(), session.MaxFamilyTokens).Text()
	if err != nil {
		return "", session.RefreshToken{}, redisErr(ctx, "storing a refresh token", err)
	}
	switch res {
	case "revoked":
		return "", session.RefreshToken{}, fmt.Errorf("refresh token family: %w", session.ErrRevoked)
	case "exists":
		return "", session.RefreshToken{}, fmt.Errorf("refresh token: %w", session.ErrAlreadyExists)
	case "started":
		if err := s.trackFamily(ctx, rt, now); err != nil {
			return "", session.RefreshToken{}, err
		}
	}
	return token, rt, nil
}

// trackFamily counts a family that a token just started among its owner's
// live ones and revokes the oldest beyond session.MaxLiveFamilies. A
// family counts until it expires or is revoked, as in the memory store:
// neither a client's refresh token lifetime longer than the store's
// default nor rotation lets a user hold more.
func (s *Store) trackFamily(ctx context.Context, rt session.RefreshToken, now time.Time) error {
	evicted, err := trackFamilyScript.Run(ctx, s.rdb, []string{s.ownerKey(rt)},
		micros(now), rt.FamilyID, session.MaxLiveFamilies, s.key(kindFamily, ""), graceMillis()).StringSlice()
	if err != nil {
		return redisErr(ctx, "counting a user's refresh token families", err)
	}
	for _, id := range evicted {
		if err := s.RevokeRefreshTokenFamily(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// ownerKey is the list of the live families of rt's user at rt's client.
func (s *Store) ownerKey(rt session.RefreshToken) string {
	return s.key(kindOwner, session.HashSecret(session.FamilyOwnerKey(rt.Subject, rt.ClientID)))
}

// GetRefreshToken implements session.RefreshTokenStore.
func (s *Store) GetRefreshToken(ctx context.Context, token string) (session.RefreshToken, error) {
	if err := ctx.Err(); err != nil {
		return session.RefreshToken{}, err
	}
	now := s.now()
	st, err := s.readToken(ctx, session.HashSecret(token), now)
	if err != nil {
		return session.RefreshToken{}, err
	}
	famRevoked, err := s.familyRevoked(ctx, st.rt.FamilyID, now)
	switch {
	case err != nil:
		return session.RefreshToken{}, err
	case st.revoked || famRevoked:
		return session.RefreshToken{}, fmt.Errorf("refresh token: %w", session.ErrRevoked)
	case st.used:
		if err := s.revokeFamily(ctx, st.rt.FamilyID, now); err != nil {
			return session.RefreshToken{}, err
		}
		return session.RefreshToken{}, session.ErrRefreshTokenReused
	}
	return st.rt, nil
}

// RotateRefreshToken implements session.RefreshTokenStore.
func (s *Store) RotateRefreshToken(ctx context.Context, token, clientID string, scopes []string, expiresAt time.Time) (string, session.RefreshToken, error) {
	if err := ctx.Err(); err != nil {
		return "", session.RefreshToken{}, err
	}
	now := s.now()
	h := session.HashSecret(token)
	// This read only finds the family and the grant to copy; the script
	// repeats every check that decides the outcome.
	st, err := s.readToken(ctx, h, now)
	if err != nil {
		return "", session.RefreshToken{}, err
	}
	newToken, newID, err := session.NewRotationValues(s.rand)
	if err != nil {
		return "", session.RefreshToken{}, err
	}
	next := session.RotatedRefreshToken(st.rt, newID, scopes, expiresAt, now, s.ttl.RefreshToken)
	raw, err := json.Marshal(next)
	if err != nil {
		return "", session.RefreshToken{}, err
	}
	nowJSON, err := jsonTime(now)
	if err != nil {
		return "", session.RefreshToken{}, err
	}
	res, err := rotateScript.Run(ctx, s.rdb,
		[]string{s.key(kindRefreshToken, h), s.key(kindFamily, st.rt.FamilyID), s.key(kindRefreshToken, session.HashSecret(newToken)), s.ownerKey(st.rt),
			s.key(kindFamilyTokens, st.rt.FamilyID)},
		micros(now), nowJSON, clientID, string(raw), micros(next.ExpiresAt), micros(now.Add(s.ttl.RevokedFamily)), graceMillis(), session.MaxFamilyTokens).Text()
	if err != nil {
		return "", session.RefreshToken{}, redisErr(ctx, "rotating a refresh token", err)
	}
	switch res {
	case "ok":
		return newToken, next, nil
	case "notfound":
		return "", session.RefreshToken{}, notFound("refresh token")
	case "expired":
		return "", session.RefreshToken{}, expiredErr("refresh token")
	case "revoked":
		return "", session.RefreshToken{}, fmt.Errorf("refresh token: %w", session.ErrRevoked)
	case "reused":
		return "", session.RefreshToken{}, session.ErrRefreshTokenReused
	case "exists":
		return "", session.RefreshToken{}, fmt.Errorf("refresh token: %w", session.ErrAlreadyExists)
	}
	return "", session.RefreshToken{}, fmt.Errorf("session store: unexpected rotation result %q", res)
}

// RevokeRefreshToken implements session.RefreshTokenStore.
func (s *Store) RevokeRefreshToken(ctx context.Context, token, clientID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	h := session.HashSecret(token)
	st, err := s.readToken(ctx, h, s.now())
	if err != nil {
		return err
	}
	if st.rt.ClientID != clientID {
		return notFound("refresh token")
	}
	if err := setIfExistsScript.Run(ctx, s.rdb, []string{s.key(kindRefreshToken, h)}, "revoked", "1").Err(); err != nil {
		return redisErr(ctx, "revoking a refresh token", err)
	}
	return nil
}

// RevokeRefreshTokenFamily implements session.RefreshTokenStore.
func (s *Store) RevokeRefreshTokenFamily(ctx context.Context, familyID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := session.CheckFamilyID(familyID); err != nil {
		return err
	}
	return s.revokeFamily(ctx, familyID, s.now())
}

// ---- login sessions

// CreateLoginSession implements session.LoginSessionStore.
func (s *Store) CreateLoginSession(ctx context.Context, ls session.LoginSession) (session.LoginSession, error) {
	if err := ctx.Err(); err != nil {
		return session.LoginSession{}, err
	}
	ls, stored, err := session.PrepareLoginSession(ls, s.rand, s.now(), s.ttl.LoginSession)
	if err != nil {
		return session.LoginSession{}, err
	}
	ok, err := s.create(ctx, s.key(kindLoginSession, session.HashSecret(ls.ID)), stored, ls.ExpiresAt)
	if err != nil {
		return session.LoginSession{}, err
	}
	if !ok {
		return session.LoginSession{}, fmt.Errorf("login session: %w", session.ErrAlreadyExists)
	}
	return ls, nil
}

// GetLoginSession implements session.LoginSessionStore.
func (s *Store) GetLoginSession(ctx context.Context, id string) (session.LoginSession, error) {
	if err := ctx.Err(); err != nil {
		return session.LoginSession{}, err
	}
	var ls session.LoginSession
	found, err := s.read(ctx, s.key(kindLoginSession, session.HashSecret(id)), &ls)
	switch {
	case err != nil:
		return session.LoginSession{}, err
	case !found:
		return session.LoginSession{}, notFound("login session")
	case expired(ls.ExpiresAt, s.now()):
		return session.LoginSession{}, expiredErr("login session")
	}
	ls.ID = id
	return ls, nil
}

// UpdateLoginSession implements session.LoginSessionStore.
func (s *Store) UpdateLoginSession(ctx context.Context, id string, update func(*session.LoginSession) error) (session.LoginSession, error) {
	if err := ctx.Err(); err != nil {
		return session.LoginSession{}, err
	}
	var cur, next session.LoginSession
	err := s.update(ctx, s.key(kindLoginSession, session.HashSecret(id)),
		func(raw []byte) error {
			cur = session.LoginSession{}
			if len(raw) == 0 {
				return notFound("login session")
			}
			return json.Unmarshal(raw, &cur)
		},
		func() (any, error) {
			if expired(cur.ExpiresAt, s.now()) {
				return nil, expiredErr("login session")
			}
			next = cur.Clone()
			next.ID = id
			if err := update(&next); err != nil {
				return nil, err
			}
			if err := session.CheckLoginSessionUpdate(id, next); err != nil {
				return nil, err
			}
			stored := next.Clone()
			stored.ID = ""
			return stored, nil
		})
	if err != nil {
		return session.LoginSession{}, err
	}
	return next.Clone(), nil
}

// DeleteLoginSession implements session.LoginSessionStore.
func (s *Store) DeleteLoginSession(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.rdb.Del(ctx, s.key(kindLoginSession, session.HashSecret(id))).Err(); err != nil {
		return redisErr(ctx, "deleting a login session", err)
	}
	return nil
}

// ---- failure counters

// RecordFailure implements session.FailureCounter.
func (s *Store) RecordFailure(ctx context.Context, key string, window time.Duration) (session.Failures, error) {
	if err := ctx.Err(); err != nil {
		return session.Failures{}, err
	}
	if err := session.CheckFailureWindow(window); err != nil {
		return session.Failures{}, err
	}
	now := s.now()
	end := now.Add(window)
	endJSON, err := jsonTime(end)
	if err != nil {
		return session.Failures{}, err
	}
	res, err := failureScript.Run(ctx, s.rdb, []string{s.key(kindFailures, session.HashSecret(key))},
		micros(now), micros(end), endJSON, pxat(end)).Slice()
	if err != nil {
		return session.Failures{}, redisErr(ctx, "counting a failure", err)
	}
	return parseFailures(res)
}

func parseFailures(res []any) (session.Failures, error) {
	if len(res) != 2 {
		return session.Failures{}, fmt.Errorf("session store: unexpected failure counter reply %v", res)
	}
	n, ok := res[0].(int64)
	endJSON, ok2 := res[1].(string)
	if !ok || !ok2 {
		return session.Failures{}, fmt.Errorf("session store: unexpected failure counter reply %v", res)
	}
	end, err := parseJSONTime(endJSON)
	if err != nil {
		return session.Failures{}, fmt.Errorf("session store: corrupt failure counter: %w", err)
	}
	return session.Failures{Count: int(n), WindowEnd: end}, nil
}

// GetFailures implements session.FailureCounter.
func (s *Store) GetFailures(ctx context.Context, key string) (session.Failures, error) {
	if err := ctx.Err(); err != nil {
		return session.Failures{}, err
	}
	vals, err := s.rdb.HMGet(ctx, s.key(kindFailures, session.HashSecret(key)), "count", "end").Result()
	if err != nil {
		return session.Failures{}, redisErr(ctx, "reading a failure counter", err)
	}
	count, _ := vals[0].(string)
	endJSON, _ := vals[1].(string)
	if count == "" || endJSON == "" {
		return session.Failures{}, nil
	}
	end, err := parseJSONTime(endJSON)
	if err != nil {
		return session.Failures{}, fmt.Errorf("session store: corrupt failure counter: %w", err)
	}
	if expired(end, s.now()) {
		return session.Failures{}, nil
	}
	var n int
	if _, err := fmt.Sscan(count, &n); err != nil {
		return session.Failures{}, fmt.Errorf("session store: corrupt failure counter: %w", err)
	}
	return session.Failures{Count: n, WindowEnd: end}, nil
}

// ReleaseFailure implements session.FailureCounter. The window is named by
// its end in microseconds, the precision the counter's record keeps.
func (s *Store) ReleaseFailure(ctx context.Context, key string, windowEnd time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := releaseScript.Run(ctx, s.rdb, []string{s.key(kindFailures, session.HashSecret(key))},
		micros(s.now()), micros(windowEnd)).Err(); err != nil {
		return redisErr(ctx, "releasing a counted failure", err)
	}
	return nil
}

// ResetFailures implements session.FailureCounter.
func (s *Store) ResetFailures(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.rdb.Del(ctx, s.key(kindFailures, session.HashSecret(key))).Err(); err != nil {
		return redisErr(ctx, "resetting a failure counter", err)
	}
	return nil
}

// ---- GC

// gcBatch is how many keys one SCAN step and one GC script handle.
const gcBatch = 500

// GC implements session.Collector. Redis TTLs already drop expired records
// (a little after they expire, see ttlGrace); GC deletes, with the store's
// clock, what expired and is still there. It scans the store's keys in
// batches, so it never blocks Redis for long.
func (s *Store) GC(ctx context.Context, now time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	total := 0
	var cursor uint64
	for {
		keys, next, err := s.rdb.Scan(ctx, cursor, s.prefix+"*", gcBatch).Result()
		if err != nil {
			return total, redisErr(ctx, "scanning for expired records", err)
		}
		if len(keys) > 0 {
			n, err := gcScript.Run(ctx, s.rdb, keys, micros(now)).Int()
			if err != nil {
				return total, redisErr(ctx, "deleting expired records", err)
			}
			total += n
		}
		if next == 0 {
			return total, nil
		}
		cursor = next
	}
}

// RunGC calls GC every interval until ctx is done, then returns nil.
func (s *Store) RunGC(ctx context.Context, interval time.Duration) error {
	return session.RunGC(ctx, s, interval, s.now)
}
