package login

import (
	"context"
	"time"

	"github.com/orgkeeper/orgkeeper/internal/telemetry"
)

// Password guessing is throttled per account and per client address, apart:
// an address over its limit is refused without spending any account's
// budget, and an account's lock does not depend on where the guesses come
// from.
//
// An attempt is reserved (counted, atomically, by the session store's
// RecordFailure) before the hash is verified, and refused unverified when
// the reservation is over the limit. So however many guesses arrive at
// once, at most MaxFailures of them per account are ever verified in a
// window: checking the lock, verifying, then counting (as a first version
// did) let 100 parallel guesses through a limit of 5.
//
// A right password resets the account's count. The address counts its
// reservations, and its successful sign-ins under a second key: attempts
// minus successes are the failures (and guesses in flight), so that a busy
// office behind one address is not limited by its good sign-ins.

// attemptKeys are the failure counter keys of one password attempt.
type attemptKeys struct {
	account, address string
}

// successesKey counts the successful sign-ins from an address.
func successesKey(addressKey string) string { return "ok:" + addressKey }

func lockKey(key string) string { return "lock:" + key }

// reservation is a reserved attempt: the counts it saw.
type reservation struct {
	allowed bool
	// account is the account's count including this attempt; address the
	// address's failures (and attempts in flight) including it.
	account, address int
}

// reserveAttempt counts an attempt for the address, then the account, and
// allows it when neither is locked nor over its limit.
func (h *Handler) reserveAttempt(ctx context.Context, k attemptKeys) (reservation, error) {
	t := h.throttle
	locked, err := h.isLocked(ctx, k.address, k.account)
	if err != nil || locked {
		return reservation{}, err
	}
	a, err := h.cfg.Sessions.RecordFailure(ctx, k.address, t.Window)
	if err != nil {
		return reservation{}, err
	}
	if a.Count == 1 {
		// A new window: successes of the last one do not carry over.
		if err := h.cfg.Sessions.ResetFailures(ctx, successesKey(k.address)); err != nil {
			return reservation{}, err
		}
	}
	ok, err := h.cfg.Sessions.GetFailures(ctx, successesKey(k.address))
	if err != nil {
		return reservation{}, err
	}
	res := reservation{address: a.Count - ok.Count}
	if res.address > t.MaxFailuresPerIP {
		_, err := h.lock(ctx, k.address)
		return reservation{}, err
	}
	f, err := h.cfg.Sessions.RecordFailure(ctx, k.account, t.Window)
	if err != nil {
		return reservation{}, err
	}
	// Locking resets the count (lock), so an attempt that checked the
	// lock above but is counted only after a concurrent attempt locked
	// would see a fresh count and be verified: the lock is checked again
	// now that the attempt is counted. A lock is set before the count is
	// reset, so whichever count this attempt got, it sees that lock.
	if locked, err := h.isLocked(ctx, k.address, k.account); err != nil || locked {
		return reservation{}, err
	}
	res.account = f.Count
	res.allowed = f.Count <= t.MaxFailures
	return res, nil
}

// attemptFailed locks the account or the address when the failed attempt
// was the last one its limit allows, and reports whether it locked either.
// onLock is told each lock it sets: its scope (telemetry.LockoutAccount or
// LockoutAddress), the count and when it ends.
func (h *Handler) attemptFailed(ctx context.Context, k attemptKeys, res reservation, onLock func(scope string, count int, until time.Time)) (bool, error) {
	t := h.throttle
	locked := false
	if res.account >= t.MaxFailures {
		l, err := h.lock(ctx, k.account)
		if err != nil {
			return false, err
		}
		locked = true
		until := l.WindowEnd
		if until.IsZero() {
			until = h.cfg.Now().Add(t.LockDuration)
		}
		onLock(telemetry.LockoutAccount, res.account, until)
	}
	if res.address >= t.MaxFailuresPerIP {
		l, err := h.lock(ctx, k.address)
		if err != nil {
			return false, err
		}
		locked = true
		onLock(telemetry.LockoutAddress, res.address, l.WindowEnd)
	}
	return locked, nil
}

// attemptSucceeded resets the account's count and counts the address's
// success. Errors are logged: the sign-in itself has succeeded.
func (h *Handler) attemptSucceeded(ctx context.Context, k attemptKeys) {
	if err := h.cfg.Sessions.ResetFailures(ctx, k.account); err != nil {
		h.cfg.Log.Error(err, "resetting failure counter")
	}
	if _, err := h.cfg.Sessions.RecordFailure(ctx, successesKey(k.address), h.throttle.Window); err != nil {
		h.cfg.Log.Error(err, "counting a successful sign-in")
	}
}

// isLocked reports whether any of the keys is locked.
func (h *Handler) isLocked(ctx context.Context, keys ...string) (bool, error) {
	for _, k := range keys {
		f, err := h.cfg.Sessions.GetFailures(ctx, lockKey(k))
		if err != nil {
			return false, err
		}
		if f.Count > 0 {
			return true, nil
		}
	}
	return false, nil
}

// lock locks key for the lock duration (a counter of its own whose window
// is the lock's duration) and starts a fresh count for when it ends.
func (h *Handler) lock(ctx context.Context, key string) (lockState, error) {
	l, err := h.cfg.Sessions.RecordFailure(ctx, lockKey(key), h.throttle.LockDuration)
	if err != nil {
		return lockState{}, err
	}
	if err := h.cfg.Sessions.ResetFailures(ctx, successesKey(key)); err != nil {
		return lockState{}, err
	}
	return lockState{WindowEnd: l.WindowEnd}, h.cfg.Sessions.ResetFailures(ctx, key)
}

// lockState is what lock returns: when the lock ends.
type lockState struct{ WindowEnd time.Time }
