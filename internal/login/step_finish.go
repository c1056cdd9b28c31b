package login

import (
	"net/http"

	"github.com/orgkeeper/orgkeeper/internal/session"
	"github.com/orgkeeper/orgkeeper/internal/telemetry"
)

// enterSecondFactor runs when the organization's effective policy requires
// a second factor and the sign-in has none (a password, or an SSO session
// made with one). Orgkeeper has no second factor yet, so the sign-in is
// refused, and the client may be told access_denied: a password alone must
// not pass for what the organization asked. The MFA issue replaces this
// with the TOTP prompt.
func enterSecondFactor(h *Handler, w http.ResponseWriter, r *http.Request, f *flow) {
	const why = "The organization requires a second factor, which this server does not offer yet."
	if hasPrompt(f.ar, "none") {
		h.signInRefused(r, f, reasonMFARequired)
		h.redirectError(w, r, f.ar, "access_denied", why)
		return
	}
	org, _ := f.org()
	h.signInRefused(r, f, reasonMFARequired)
	h.refuse(w, r, f, problemMFARequired, brandFor(org), why)
}

// enterDone finishes the sign-in: a new sign-in starts the browser's login
// session (SSO) and sets its cookie; then the auth request is marked Done
// with the session that completed it, and the browser goes to the
// provider's callback.
//
// LoginSessionID is session.HashSecret of the session ID, not the ID: the
// ID is the cookie's bearer secret, and the auth request may end up in
// tokens (sid) or logs. The callback checks the browser's SSO cookie
// against it; EndSession ends a session from its cookie.
func enterDone(h *Handler, w http.ResponseWriter, r *http.Request, f *flow) {
	ctx := r.Context()
	sessionHash := f.ar.LoginSessionID
	method := methodOf(f.ar.AMR, sessionHash != "")
	if sessionHash == "" {
		s, err := h.cfg.Sessions.CreateLoginSession(ctx, session.LoginSession{
			UserID:   f.ar.UserID,
			OrgID:    f.ar.OrgID,
			AuthTime: f.ar.AuthTime,
			AMR:      f.ar.AMR,
		})
		if err != nil {
			h.storeError(w, err, "creating the login session")
			return
		}
		// One browser, one session: the previous one ends.
		if old, err := r.Cookie(h.sessCookie); err == nil && old.Value != "" {
			_ = h.cfg.Sessions.DeleteLoginSession(ctx, old.Value)
		}
		cookie := &http.Cookie{
			Name: h.sessCookie, Value: s.ID, Path: "/",
			HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode,
		}
		if !s.ExpiresAt.IsZero() {
			cookie.Expires = s.ExpiresAt
		}
		http.SetCookie(w, cookie)
		sessionHash = session.HashSecret(s.ID)
	}
	if !h.update(w, r, f, "completing the auth request", func(a *session.AuthRequest) {
		a.LoginSessionID = sessionHash
		a.Done = true
	}) {
		return
	}
	h.signInEnded(r, f, f.ar.UserID, method, telemetry.SignInSuccess, "")
	http.Redirect(w, r, h.cfg.CallbackURL(ctx, f.ar.ID), http.StatusSeeOther)
}
