package session

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"slices"
	"time"
)

var _ Store = (*Memory)(nil)

// TTLs are the default lifetimes of records created with a zero ExpiresAt.
type TTLs struct {
	AuthRequest  time.Duration
	Code         time.Duration
	RefreshToken time.Duration
	LoginSession time.Duration
	// RevokedFamily is how long a revoked refresh token family is remembered
	// when none of its tokens lives longer, so that a token created in it
	// after the revocation (a code exchange racing with a replay) is refused.
	RevokedFamily time.Duration
}

// DefaultTTLs returns the lifetimes NewMemory uses unless WithTTLs overrides
// them.
func DefaultTTLs() TTLs {
	return TTLs{
		AuthRequest:   30 * time.Minute,
		Code:          2 * time.Minute,
		RefreshToken:  30 * 24 * time.Hour,
		LoginSession:  12 * time.Hour,
		RevokedFamily: time.Hour,
	}
}

// MemoryOption configures NewMemory.
type MemoryOption func(*Memory)

// WithClock sets the clock (time.Now by default).
func WithClock(now func() time.Time) MemoryOption {
	return func(m *Memory) { m.now = now }
}

// WithRand sets the source of token values and IDs (crypto/rand by default).
// It must be safe for concurrent use.
func WithRand(r io.Reader) MemoryOption {
	return func(m *Memory) { m.rand = r }
}

// WithTTLs sets the default lifetimes; zero fields keep DefaultTTLs().
func WithTTLs(t TTLs) MemoryOption {
	return func(m *Memory) { m.ttl = MergeTTLs(m.ttl, t) }
}

// Memory is a Store in process memory, for a single replica. Each kind of
// record lives in its own sharded map (one lock per shard), so concurrent
// requests rarely contend. Expired records are invisible at once and removed
// by GC (or RunGC).
type Memory struct {
	now  func() time.Time
	rand io.Reader
	ttl  TTLs

	authRequests  *shardedMap[AuthRequest]
	codes         *shardedMap[AuthCode]
	refreshTokens *shardedMap[refreshRecord]
	// families indexes refresh tokens by family. A family's shard lock is
	// held across every change to the family or to one of its tokens, which
	// makes rotation and revocation atomic. Lock order: family shard, then
	// token shard; never the reverse.
	families *shardedMap[family]
	// owners lists the live families of each user at each client
	// (familyOwnerKey), oldest first, for MaxLiveFamilies. Lock order:
	// owner shard, then family shard.
	owners        *shardedMap[[]string]
	loginSessions *shardedMap[LoginSession]
	failures      *shardedMap[Failures]
}

type refreshRecord struct {
	rt      RefreshToken
	usedAt  time.Time
	revoked bool
}

type family struct {
	tokens    []string // HashSecret of each token value
	revoked   bool
	expiresAt time.Time
}

// NewMemory returns an empty in-memory store.
func NewMemory(opts ...MemoryOption) *Memory {
	m := &Memory{
		now:           time.Now,
		rand:          rand.Reader,
		ttl:           DefaultTTLs(),
		authRequests:  newShardedMap[AuthRequest](),
		codes:         newShardedMap[AuthCode](),
		refreshTokens: newShardedMap[refreshRecord](),
		families:      newShardedMap[family](),
		owners:        newShardedMap[[]string](),
		loginSessions: newShardedMap[LoginSession](),
		failures:      newShardedMap[Failures](),
	}
	for _, o := range opts {
		o(m)
	}
	return m
}

// MemoryStats counts the records held, expired or not, for metrics and tests.
type MemoryStats struct {
	AuthRequests, Codes, RefreshTokens, RefreshTokenFamilies, LoginSessions, FailureKeys int
}

// Stats returns the number of records of each kind.
func (m *Memory) Stats() MemoryStats {
	return MemoryStats{
		AuthRequests:         m.authRequests.len(),
		Codes:                m.codes.len(),
		RefreshTokens:        m.refreshTokens.len(),
		RefreshTokenFamilies: m.families.len(),
		LoginSessions:        m.loginSessions.len(),
		FailureKeys:          m.failures.len(),
	}
}

// RunGC calls GC every interval until ctx is done, then returns nil. Run it in
// its own goroutine.
func (m *Memory) RunGC(ctx context.Context, interval time.Duration) error {
	return RunGC(ctx, m, interval, m.now)
}

// GC implements Collector.
func (m *Memory) GC(ctx context.Context, now time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	n := m.authRequests.deleteIf(func(r AuthRequest) bool { return expired(r.ExpiresAt, now) })
	n += m.codes.deleteIf(func(c AuthCode) bool { return expired(c.ExpiresAt, now) })
	n += m.refreshTokens.deleteIf(func(r refreshRecord) bool { return expired(r.rt.ExpiresAt, now) })
	n += m.gcFamilies(now)
	m.gcOwners(now)
	n += m.loginSessions.deleteIf(func(s LoginSession) bool { return expired(s.ExpiresAt, now) })
	n += m.failures.deleteIf(func(f Failures) bool { return expired(f.WindowEnd, now) })
	return n, nil
}

// gcFamilies removes expired families and drops the hashes of tokens that GC
// already removed from the live ones.
func (m *Memory) gcFamilies(now time.Time) int {
	n := 0
	for i := range m.families.shards {
		sh := &m.families.shards[i]
		sh.mu.Lock()
		for id, f := range sh.m {
			if expired(f.expiresAt, now) {
				delete(sh.m, id)
				n++
				continue
			}
			f.tokens = slices.DeleteFunc(f.tokens, func(h string) bool {
				_, ok := m.refreshTokens.get(h)
				return !ok
			})
			sh.m[id] = f
		}
		sh.mu.Unlock()
	}
	return n
}

// expired reports whether a record with this expiry is gone at now.
func expired(expiresAt, now time.Time) bool { return !now.Before(expiresAt) }

func notFound(kind string) error { return fmt.Errorf("%s: %w", kind, ErrNotFound) }

func expiredErr(kind string) error { return fmt.Errorf("%s expired: %w", kind, ErrNotFound) }

// expiry returns exp, or now+ttl if exp is zero.
func expiry(exp, now time.Time, ttl time.Duration) time.Time {
	if exp.IsZero() {
		return now.Add(ttl)
	}
	return exp
}

// ---- auth requests

// CreateAuthRequest implements AuthRequestStore.
func (m *Memory) CreateAuthRequest(ctx context.Context, req AuthRequest) (AuthRequest, error) {
	if err := ctx.Err(); err != nil {
		return AuthRequest{}, err
	}
	req, err := PrepareAuthRequest(req, m.rand, m.now(), m.ttl.AuthRequest)
	if err != nil {
		return AuthRequest{}, err
	}
	if !m.authRequests.putIfAbsent(req.ID, req) {
		return AuthRequest{}, fmt.Errorf("auth request %q: %w", req.ID, ErrAlreadyExists)
	}
	return req.Clone(), nil
}

// GetAuthRequest implements AuthRequestStore.
func (m *Memory) GetAuthRequest(ctx context.Context, id string) (AuthRequest, error) {
	if err := ctx.Err(); err != nil {
		return AuthRequest{}, err
	}
	r, ok := m.authRequests.get(id)
	if !ok {
		return AuthRequest{}, notFound("auth request")
	}
	if expired(r.ExpiresAt, m.now()) {
		return AuthRequest{}, expiredErr("auth request")
	}
	return r.Clone(), nil
}

// UpdateAuthRequest implements AuthRequestStore.
func (m *Memory) UpdateAuthRequest(ctx context.Context, id string, update func(*AuthRequest) error) (AuthRequest, error) {
	if err := ctx.Err(); err != nil {
		return AuthRequest{}, err
	}
	sh := m.authRequests.shardFor(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	r, ok := sh.m[id]
	if !ok {
		return AuthRequest{}, notFound("auth request")
	}
	if expired(r.ExpiresAt, m.now()) {
		return AuthRequest{}, expiredErr("auth request")
	}
	next := r.Clone()
	if err := update(&next); err != nil {
		return AuthRequest{}, err
	}
	if err := CheckAuthRequestUpdate(id, next); err != nil {
		return AuthRequest{}, err
	}
	// Store a copy: update may have kept a pointer to next.
	sh.m[id] = next.Clone()
	return next.Clone(), nil
}

// DeleteAuthRequest implements AuthRequestStore.
func (m *Memory) DeleteAuthRequest(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.authRequests.delete(id)
	return nil
}

// ---- codes

// SaveCode implements CodeStore.
func (m *Memory) SaveCode(ctx context.Context, code string, c AuthCode) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c, err := PrepareCode(code, c, m.now(), m.ttl.Code)
	if err != nil {
		return err
	}
	if !m.codes.putIfAbsent(HashSecret(code), c) {
		return fmt.Errorf("authorization code: %w", ErrAlreadyExists)
	}
	return nil
}

// ConsumeCode implements CodeStore.
func (m *Memory) ConsumeCode(ctx context.Context, code string) (AuthCode, error) {
	if err := ctx.Err(); err != nil {
		return AuthCode{}, err
	}
	h := HashSecret(code)
	sh := m.codes.shardFor(h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	c, ok := sh.m[h]
	if !ok {
		return AuthCode{}, notFound("authorization code")
	}
	now := m.now()
	if expired(c.ExpiresAt, now) {
		return AuthCode{}, expiredErr("authorization code")
	}
	if !c.ConsumedAt.IsZero() {
		return c, ErrCodeReused
	}
	c.ConsumedAt = now
	sh.m[h] = c
	return c, nil
}

// ---- refresh tokens

// CreateRefreshToken implements RefreshTokenStore.
func (m *Memory) CreateRefreshToken(ctx context.Context, rt RefreshToken) (string, RefreshToken, error) {
	if err := ctx.Err(); err != nil {
		return "", RefreshToken{}, err
	}
	now := m.now()
	token, rt, err := PrepareRefreshToken(rt, m.rand, now, m.ttl.RefreshToken)
	if err != nil {
		return "", RefreshToken{}, err
	}

	fsh := m.families.shardFor(rt.FamilyID)
	fsh.mu.Lock()
	started, err := m.addToFamilyLocked(fsh, token, rt, now)
	fsh.mu.Unlock()
	if err != nil {
		return "", RefreshToken{}, err
	}
	if started {
		m.trackFamily(ctx, rt, now)
	}
	return token, rt.Clone(), nil
}

// trackFamily records a family that a token just started among its
// owner's live families, and revokes the oldest beyond MaxLiveFamilies.
func (m *Memory) trackFamily(ctx context.Context, rt RefreshToken, now time.Time) {
	key := familyOwnerKey(rt.Subject, rt.ClientID)
	sh := m.owners.shardFor(key)
	sh.mu.Lock()
	ids := slices.DeleteFunc(sh.m[key], func(id string) bool { return !m.familyLive(id, now) })
	ids = append(ids, rt.FamilyID)
	var evicted []string
	if n := len(ids) - MaxLiveFamilies; n > 0 {
		evicted = slices.Clone(ids[:n])
		ids = slices.Clone(ids[n:])
	}
	sh.m[key] = ids
	sh.mu.Unlock()
	for _, id := range evicted {
		// The new family exists already; a failure here only leaves an
		// old one to expire on its own.
		_ = m.RevokeRefreshTokenFamily(ctx, id)
	}
}

// familyLive reports whether the family exists, unexpired and unrevoked.
func (m *Memory) familyLive(id string, now time.Time) bool {
	fsh := m.families.shardFor(id)
	fsh.mu.RLock()
	f, ok := fsh.m[id]
	fsh.mu.RUnlock()
	return ok && !f.revoked && !expired(f.expiresAt, now)
}

// gcOwners drops the families that are no longer live from the owners'
// lists, and the owners left without any.
func (m *Memory) gcOwners(now time.Time) {
	for i := range m.owners.shards {
		sh := &m.owners.shards[i]
		sh.mu.Lock()
		for key, ids := range sh.m {
			if ids = slices.DeleteFunc(ids, func(id string) bool { return !m.familyLive(id, now) }); len(ids) == 0 {
				delete(sh.m, key)
			} else {
				sh.m[key] = ids
			}
		}
		sh.mu.Unlock()
	}
}

// addToFamilyLocked stores a new token in its family, and reports whether
// the token started the family. The family's shard lock must be held.
func (m *Memory) addToFamilyLocked(fsh *mapShard[family], token string, rt RefreshToken, now time.Time) (bool, error) {
	f, ok := fsh.m[rt.FamilyID]
	if ok && expired(f.expiresAt, now) {
		f, ok = family{}, false // what is left of an old family that GC has not swept yet
	}
	if f.revoked {
		return false, fmt.Errorf("refresh token family: %w", ErrRevoked)
	}
	h := HashSecret(token)
	if !m.refreshTokens.putIfAbsent(h, refreshRecord{rt: rt}) {
		return false, fmt.Errorf("refresh token: %w", ErrAlreadyExists)
	}
	started := !ok
	f.tokens = append(f.tokens, h)
	if n := len(f.tokens) - MaxFamilyTokens; n > 0 {
		// The oldest tokens, all replaced already, are forgotten
		// (MaxFamilyTokens). Lock order: family shard, then token shard.
		for _, old := range f.tokens[:n] {
			m.refreshTokens.delete(old)
		}
		f.tokens = slices.Clone(f.tokens[n:])
	}
	if rt.ExpiresAt.After(f.expiresAt) {
		f.expiresAt = rt.ExpiresAt
	}
	fsh.m[rt.FamilyID] = f
	return started, nil
}

// revokeFamilyLocked marks the family and all its tokens revoked. The family's
// shard lock must be held.
func (m *Memory) revokeFamilyLocked(fsh *mapShard[family], familyID string, now time.Time) {
	f := fsh.m[familyID]
	f.revoked = true
	if keep := now.Add(m.ttl.RevokedFamily); keep.After(f.expiresAt) {
		f.expiresAt = keep
	}
	for _, h := range f.tokens {
		m.refreshTokens.update(h, func(r *refreshRecord) { r.revoked = true })
	}
	fsh.m[familyID] = f
}

// lookupRefresh returns the live record of a token hash.
func (m *Memory) lookupRefresh(h string, now time.Time) (refreshRecord, error) {
	r, ok := m.refreshTokens.get(h)
	if !ok {
		return refreshRecord{}, notFound("refresh token")
	}
	if expired(r.rt.ExpiresAt, now) {
		return refreshRecord{}, expiredErr("refresh token")
	}
	return r, nil
}

// GetRefreshToken implements RefreshTokenStore.
func (m *Memory) GetRefreshToken(ctx context.Context, token string) (RefreshToken, error) {
	if err := ctx.Err(); err != nil {
		return RefreshToken{}, err
	}
	now := m.now()
	h := HashSecret(token)
	r, err := m.lookupRefresh(h, now)
	switch {
	case err != nil:
		return RefreshToken{}, err
	case r.revoked:
		return RefreshToken{}, fmt.Errorf("refresh token: %w", ErrRevoked)
	case !r.usedAt.IsZero():
		fsh := m.families.shardFor(r.rt.FamilyID)
		fsh.mu.Lock()
		m.revokeFamilyLocked(fsh, r.rt.FamilyID, now)
		fsh.mu.Unlock()
		return RefreshToken{}, ErrRefreshTokenReused
	}
	return r.rt.Clone(), nil
}

// RotateRefreshToken implements RefreshTokenStore.
func (m *Memory) RotateRefreshToken(ctx context.Context, token, clientID string, scopes []string, expiresAt time.Time) (string, RefreshToken, error) {
	if err := ctx.Err(); err != nil {
		return "", RefreshToken{}, err
	}
	now := m.now()
	h := HashSecret(token)
	// The first read only finds the family; the checks that decide the
	// outcome are repeated under the family's lock.
	r, err := m.lookupRefresh(h, now)
	if err != nil {
		return "", RefreshToken{}, err
	}
	newToken, newID, err := NewRotationValues(m.rand)
	if err != nil {
		return "", RefreshToken{}, err
	}

	fsh := m.families.shardFor(r.rt.FamilyID)
	fsh.mu.Lock()
	defer fsh.mu.Unlock()
	if r, err = m.lookupRefresh(h, now); err != nil {
		return "", RefreshToken{}, err
	}
	switch {
	case r.revoked:
		return "", RefreshToken{}, fmt.Errorf("refresh token: %w", ErrRevoked)
	case !r.usedAt.IsZero():
		m.revokeFamilyLocked(fsh, r.rt.FamilyID, now)
		return "", RefreshToken{}, ErrRefreshTokenReused
	case r.rt.ClientID != clientID:
		return "", RefreshToken{}, notFound("refresh token")
	}

	next := RotatedRefreshToken(r.rt, newID, scopes, expiresAt, now, m.ttl.RefreshToken)
	if _, err := m.addToFamilyLocked(fsh, newToken, next, now); err != nil {
		return "", RefreshToken{}, err
	}
	m.refreshTokens.update(h, func(r *refreshRecord) { r.usedAt = now })
	return newToken, next.Clone(), nil
}

// RevokeRefreshToken implements RefreshTokenStore.
func (m *Memory) RevokeRefreshToken(ctx context.Context, token, clientID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := m.now()
	h := HashSecret(token)
	r, err := m.lookupRefresh(h, now)
	if err != nil {
		return err
	}
	if r.rt.ClientID != clientID {
		return notFound("refresh token")
	}
	fsh := m.families.shardFor(r.rt.FamilyID)
	fsh.mu.Lock()
	defer fsh.mu.Unlock()
	m.refreshTokens.update(h, func(r *refreshRecord) { r.revoked = true })
	return nil
}

// RevokeRefreshTokenFamily implements RefreshTokenStore.
func (m *Memory) RevokeRefreshTokenFamily(ctx context.Context, familyID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := CheckFamilyID(familyID); err != nil {
		return err
	}
	now := m.now()
	fsh := m.families.shardFor(familyID)
	fsh.mu.Lock()
	defer fsh.mu.Unlock()
	if f, ok := fsh.m[familyID]; ok && expired(f.expiresAt, now) {
		delete(fsh.m, familyID)
	}
	m.revokeFamilyLocked(fsh, familyID, now)
	return nil
}

// ---- login sessions

// CreateLoginSession implements LoginSessionStore.
func (m *Memory) CreateLoginSession(ctx context.Context, s LoginSession) (LoginSession, error) {
	if err := ctx.Err(); err != nil {
		return LoginSession{}, err
	}
	s, stored, err := PrepareLoginSession(s, m.rand, m.now(), m.ttl.LoginSession)
	if err != nil {
		return LoginSession{}, err
	}
	if !m.loginSessions.putIfAbsent(HashSecret(s.ID), stored) {
		return LoginSession{}, fmt.Errorf("login session: %w", ErrAlreadyExists)
	}
	return s, nil
}

// GetLoginSession implements LoginSessionStore.
func (m *Memory) GetLoginSession(ctx context.Context, id string) (LoginSession, error) {
	if err := ctx.Err(); err != nil {
		return LoginSession{}, err
	}
	s, ok := m.loginSessions.get(HashSecret(id))
	if !ok {
		return LoginSession{}, notFound("login session")
	}
	if expired(s.ExpiresAt, m.now()) {
		return LoginSession{}, expiredErr("login session")
	}
	s = s.Clone()
	s.ID = id
	return s, nil
}

// UpdateLoginSession implements LoginSessionStore.
func (m *Memory) UpdateLoginSession(ctx context.Context, id string, update func(*LoginSession) error) (LoginSession, error) {
	if err := ctx.Err(); err != nil {
		return LoginSession{}, err
	}
	h := HashSecret(id)
	sh := m.loginSessions.shardFor(h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	s, ok := sh.m[h]
	if !ok {
		return LoginSession{}, notFound("login session")
	}
	if expired(s.ExpiresAt, m.now()) {
		return LoginSession{}, expiredErr("login session")
	}
	next := s.Clone()
	next.ID = id
	if err := update(&next); err != nil {
		return LoginSession{}, err
	}
	if err := CheckLoginSessionUpdate(id, next); err != nil {
		return LoginSession{}, err
	}
	stored := next.Clone()
	stored.ID = ""
	sh.m[h] = stored
	return next.Clone(), nil
}

// DeleteLoginSession implements LoginSessionStore.
func (m *Memory) DeleteLoginSession(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.loginSessions.delete(HashSecret(id))
	return nil
}

// ---- failure counters

// RecordFailure implements FailureCounter.
func (m *Memory) RecordFailure(ctx context.Context, key string, window time.Duration) (Failures, error) {
	if err := ctx.Err(); err != nil {
		return Failures{}, err
	}
	if err := CheckFailureWindow(window); err != nil {
		return Failures{}, err
	}
	now := m.now()
	sh := m.failures.shardFor(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	f, ok := sh.m[key]
	if !ok || expired(f.WindowEnd, now) {
		f = Failures{WindowEnd: now.Add(window)}
	}
	f.Count++
	sh.m[key] = f
	return f, nil
}

// GetFailures implements FailureCounter.
func (m *Memory) GetFailures(ctx context.Context, key string) (Failures, error) {
	if err := ctx.Err(); err != nil {
		return Failures{}, err
	}
	f, ok := m.failures.get(key)
	if !ok || expired(f.WindowEnd, m.now()) {
		return Failures{}, nil
	}
	return f, nil
}

// ReleaseFailure implements FailureCounter.
func (m *Memory) ReleaseFailure(ctx context.Context, key string, windowEnd time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sh := m.failures.shardFor(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	f, ok := sh.m[key]
	if !ok || expired(f.WindowEnd, m.now()) || !f.WindowEnd.Equal(windowEnd) || f.Count <= 0 {
		return nil
	}
	f.Count--
	sh.m[key] = f
	return nil
}

// ResetFailures implements FailureCounter.
func (m *Memory) ResetFailures(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.failures.delete(key)
	return nil
}
