package login

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/orgkeeper/orgkeeper/internal/clientip"
	"github.com/orgkeeper/orgkeeper/internal/telemetry"
)

// passwordMethod is the local password: the password page, and its form
// posted to PathPassword.
type passwordMethod struct{}

func (passwordMethod) offered(org orgView) bool { return org.Password }

func (passwordMethod) start(h *Handler, w http.ResponseWriter, r *http.Request, f *flow, org orgView) {
	h.renderPassword(w, r, f, brandFor(org), f.username, "")
}

// postPassword is POST /login/password: the password form of the method
// step.
func (h *Handler) postPassword(w http.ResponseWriter, r *http.Request) {
	f, ok := h.loadPost(w, r, stepMethod)
	if !ok {
		return
	}
	org, _ := f.org()
	if !h.orgAllows(w, r, f, org) {
		return
	}
	if !org.Password {
		h.renderProblem(w, problemNoMethod, brandFor(org), f.appName, "")
		return
	}
	identifier := strings.TrimSpace(r.PostFormValue("username"))
	password := r.PostFormValue("password")
	if identifier == "" || password == "" {
		h.renderPassword(w, r, f, brandFor(org), identifier, msgMissingFields)
		return
	}
	u, ok := h.checkPassword(w, r, f, org, identifier, password)
	if !ok {
		return
	}
	h.authenticated(w, r, f, u, h.cfg.Now(), []string{amrPassword}, "")
}

// checkPassword verifies the password of identifier in org, within the
// lockout policy (throttle.go). It returns the user when the password is
// right and the user may sign in; otherwise it has written the page.
func (h *Handler) checkPassword(w http.ResponseWriter, r *http.Request, f *flow, org orgView, identifier, password string) (userView, bool) {
	ctx := r.Context()
	b := brandFor(org)
	u, known := f.dir.user(org.Name, identifier)
	// Known users are counted by ID, so that email and username share one
	// budget; unknown identifiers by what was typed, so that they lock
	// exactly like real accounts and locking reveals nothing.
	keys := attemptKeys{
		account: "password:" + org.Name + "/" + strings.ToLower(identifier),
		address: "ip:" + clientip.Bucket(h.cfg.ClientIP(r)),
	}
	if known {
		keys.account = "password:user/" + u.ID
	}
	res, err := h.reserveAttempt(ctx, keys)
	if err != nil {
		h.storeError(w, err, "reserving a sign-in attempt")
		return userView{}, false
	}
	if !res.allowed {
		h.signInEnded(r, f, u.ID, telemetry.MethodPassword, telemetry.SignInLocked, reasonLocked)
		h.renderProblem(w, problemTooManyAttempts, b, f.appName, "")
		return userView{}, false
	}

	// Unknown users and users without a password verify against a dummy
	// hash with the production parameters: every wrong answer costs the
	// same time.
	hash := h.cfg.DummyHash
	if known && u.PasswordHash != "" {
		hash = u.PasswordHash
	}
	match, err := h.verify(ctx, hash, password)
	if err != nil {
		if ctx.Err() != nil {
			return userView{}, false // the client went away
		}
		h.cfg.Log.Error(err, "password hash unusable", "org", org.Name, "user", u.ID)
		match = false
	}
	if !match || !known || u.PasswordHash == "" {
		nowLocked, err := h.attemptFailed(ctx, keys, res, func(scope string, count int, until time.Time) {
			h.lockedOut(ctx, f, u.ID, scope)
			if known && scope == telemetry.LockoutAccount {
				if err := h.cfg.Lockouts.RecordLockout(ctx, Lockout{Org: org.Name, UserID: u.ID, Failures: count, Until: until}); err != nil {
					h.cfg.Log.Error(err, "recording lockout", "org", org.Name, "user", u.ID)
				}
			}
		})
		if err != nil {
			h.storeError(w, err, "recording a failed sign-in")
			return userView{}, false
		}
		if nowLocked {
			h.signInEnded(r, f, u.ID, telemetry.MethodPassword, telemetry.SignInLocked, reasonLocked)
			h.renderProblem(w, problemTooManyAttempts, b, f.appName, "")
			return userView{}, false
		}
		h.signInEnded(r, f, u.ID, telemetry.MethodPassword, telemetry.SignInInvalidCredentials, wrongCredentialsReason(known))
		h.renderPassword(w, r, f, b, identifier, msgWrongCredentials)
		return userView{}, false
	}
	// Only now, with the right password, may the page say more.
	if u.Disabled {
		h.signInEnded(r, f, u.ID, telemetry.MethodPassword, telemetry.SignInDisabled, reasonDisabled)
		h.renderProblem(w, problemDisabled, b, f.appName, "")
		return userView{}, false
	}
	if h.userLocked(u) {
		h.signInEnded(r, f, u.ID, telemetry.MethodPassword, telemetry.SignInLocked, reasonLocked)
		h.renderProblem(w, problemTooManyAttempts, b, f.appName, "")
		return userView{}, false
	}
	h.attemptSucceeded(ctx, keys)
	return u, true
}

// verify runs the (expensive) hash check, at most MaxConcurrentVerifications
// at a time.
func (h *Handler) verify(ctx context.Context, hash, password string) (bool, error) {
	select {
	case h.sem <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { <-h.sem }()
	return h.cfg.Verifier.Verify(hash, password)
}

// userLocked reports a lock that the snapshot knows of (OrgUser
// status.lockedUntil, written by a controller).
func (h *Handler) userLocked(u userView) bool {
	return !u.LockedUntil.IsZero() && h.cfg.Now().Before(u.LockedUntil)
}
