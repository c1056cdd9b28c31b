package login

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/orgkeeper/orgkeeper/internal/session"
)

// Routes, all under /login.
const (
	// PathStart is where the provider sends the browser:
	// /login?authRequestID=<id>.
	PathStart = "/login"
	// PathIdentifier receives the identifier-first form (username, and
	// organization when the email domain routes nowhere).
	PathIdentifier = "/login/identifier"
	// PathPassword receives the password form (username, password).
	PathPassword = "/login/password"
)

// maxFormBytes bounds a posted form.
const maxFormBytes = 16 << 10

// Messages shown in forms.
const (
	msgWrongCredentials = "The email or password is wrong."
	msgMissingFields    = "Enter your email address or username and your password."
	msgMissingEmail     = "Enter your email address."
)

// amrPassword is the amr value of a password sign-in (RFC 8176).
const amrPassword = "pwd"

func (h *Handler) routes() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+PathStart, h.start)
	mux.HandleFunc("POST "+PathIdentifier, h.postIdentifier)
	mux.HandleFunc("POST "+PathPassword, h.postPassword)
	mux.HandleFunc(PathStart+"/", func(w http.ResponseWriter, r *http.Request) {
		setSecurityHeaders(w, "")
		http.NotFound(w, r)
	})
	// Browsers say where a POST comes from (Sec-Fetch-Site, Origin); a
	// cross-origin one is refused before the CSRF token is even looked at.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.renderProblem(w, problemForbidden, neutralBrand(), "", "")
	}))
	h.mux = http.NewServeMux()
	h.mux.Handle("/", cop.Handler(mux))
}

// ServeHTTP serves the routes under /login.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mux.ServeHTTP(w, r)
}

// EndSession ends the browser's login session (SSO), if any, and clears its
// cookie. The provider's end_session endpoint calls it.
func (h *Handler) EndSession(w http.ResponseWriter, r *http.Request) error {
	var err error
	if c, cerr := r.Cookie(h.sessCookie); cerr == nil && c.Value != "" {
		err = h.cfg.Sessions.DeleteLoginSession(r.Context(), c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: h.sessCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode})
	return err
}

// flow is one request's view of an auth request in progress.
type flow struct {
	ar      session.AuthRequest
	dir     directory
	appName string
}

// load finds the auth request and its client in the current snapshot. On
// failure it has written the error page.
func (h *Handler) load(w http.ResponseWriter, r *http.Request, id string) (flow, bool) {
	if id == "" {
		h.renderProblem(w, problemUnknownRequest, neutralBrand(), "", "")
		return flow{}, false
	}
	ar, err := h.cfg.Sessions.GetAuthRequest(r.Context(), id)
	if err != nil {
		if !errors.Is(err, session.ErrNotFound) {
			h.cfg.Log.Error(err, "reading auth request")
		}
		h.renderProblem(w, problemUnknownRequest, neutralBrand(), "", "")
		return flow{}, false
	}
	if ar.Done {
		// Already signed in (a second tab, a reload): finish.
		http.Redirect(w, r, h.cfg.CallbackURL(r.Context(), ar.ID), http.StatusSeeOther)
		return flow{}, false
	}
	dir := directory{h.cfg.Snapshots.Load()}
	if !dir.ready() {
		h.renderProblem(w, problemUnavailable, neutralBrand(), "", "")
		return flow{}, false
	}
	app, ok := dir.client(ar.ClientID)
	if !ok {
		h.renderProblem(w, problemUnknownRequest, neutralBrand(), "", "")
		return flow{}, false
	}
	return flow{ar: ar, dir: dir, appName: app}, true
}

// parsePost bounds and parses a form and checks its CSRF token. On failure
// it has written the error page.
func (h *Handler) parsePost(w http.ResponseWriter, r *http.Request) (string, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		h.renderProblem(w, problemForbidden, neutralBrand(), "", "")
		return "", false
	}
	id := r.PostFormValue("authRequestID")
	if !h.csrf.valid(r, id) {
		h.renderProblem(w, problemForbidden, neutralBrand(), "", "")
		return "", false
	}
	return id, true
}

// start is GET /login?authRequestID=: choose the organization (api.md 7),
// then continue with it, or ask for an email address.
func (h *Handler) start(w http.ResponseWriter, r *http.Request) {
	f, ok := h.load(w, r, r.URL.Query().Get("authRequestID"))
	if !ok {
		return
	}
	ar := f.ar
	// 1. organization=<name>.
	if ar.Organization != "" {
		org, ok := f.dir.org(ar.Organization)
		if !ok {
			h.renderProblem(w, problemUnknownOrg, neutralBrand(), f.appName, "")
			return
		}
		h.proceed(w, r, f, org, ar.LoginHint)
		return
	}
	// 2. login_hint whose domain an organization has verified.
	if org, ok := f.dir.orgForEmail(ar.LoginHint); ok {
		h.proceed(w, r, f, org, ar.LoginHint)
		return
	}
	// A browser already signed in continues with its session's
	// organization, unless the client asks to choose again.
	if !hasPrompt(ar, "login") && !hasPrompt(ar, "select_account") {
		if s, ok := h.loginSession(r); ok {
			if org, ok := f.dir.orgByID(s.OrgID); ok {
				h.proceed(w, r, f, org, ar.LoginHint)
				return
			}
		}
	}
	if hasPrompt(ar, "none") {
		h.redirectError(w, r, ar, "login_required", "The user is not signed in.")
		return
	}
	// 3. Identifier first.
	h.renderIdentifier(w, r, f, ar.LoginHint, "", false, "")
}

// postIdentifier is POST /login/identifier: route the typed email by its
// domain, or take the typed organization handle.
func (h *Handler) postIdentifier(w http.ResponseWriter, r *http.Request) {
	id, ok := h.parsePost(w, r)
	if !ok {
		return
	}
	f, ok := h.load(w, r, id)
	if !ok {
		return
	}
	username := strings.TrimSpace(r.PostFormValue("username"))
	handle := strings.TrimSpace(r.PostFormValue("organization"))
	if handle != "" {
		org, ok := f.dir.org(strings.ToLower(handle))
		if !ok {
			h.renderIdentifier(w, r, f, username, handle, true,
				"There is no organization with the handle “"+handle+"”. Check it with your administrator.")
			return
		}
		h.proceed(w, r, f, org, username)
		return
	}
	if username == "" {
		h.renderIdentifier(w, r, f, "", "", false, msgMissingEmail)
		return
	}
	if org, ok := f.dir.orgForEmail(username); ok {
		h.proceed(w, r, f, org, username)
		return
	}
	h.renderIdentifier(w, r, f, username, "", true, "")
}

// proceed continues with a chosen organization: refuse what cannot sign in,
// record the choice, reuse a valid SSO session, or show the password page.
func (h *Handler) proceed(w http.ResponseWriter, r *http.Request, f flow, org orgView, username string) {
	b := brandFor(org)
	if org.Suspended {
		h.renderProblem(w, problemSuspended, b, f.appName, "")
		return
	}
	if !f.dir.sharedWith(f.ar.ClientID, org.Name) {
		h.refuseNotShared(w, r, f, b)
		return
	}
	if f.ar.Organization != org.Name {
		ar, err := h.cfg.Sessions.UpdateAuthRequest(r.Context(), f.ar.ID, func(a *session.AuthRequest) error {
			a.Organization = org.Name
			return nil
		})
		if err != nil {
			h.storeError(w, err, "recording the organization")
			return
		}
		f.ar = ar
	}
	if h.trySSO(w, r, f, org) {
		return
	}
	if hasPrompt(f.ar, "none") {
		h.redirectError(w, r, f.ar, "login_required", "The user is not signed in.")
		return
	}
	if !org.Password {
		h.renderProblem(w, problemNoMethod, b, f.appName, "")
		return
	}
	h.renderPassword(w, r, f, b, username, "")
}

// trySSO completes the auth request from the browser's login session when
// it is for the same organization, its user may still sign in, and the
// client asks neither prompt=login nor a max_age that it exceeds.
func (h *Handler) trySSO(w http.ResponseWriter, r *http.Request, f flow, org orgView) bool {
	if hasPrompt(f.ar, "login") {
		return false
	}
	s, ok := h.loginSession(r)
	if !ok || s.OrgID != org.ID {
		return false
	}
	if m := f.ar.MaxAge; m != nil && (*m <= 0 || h.cfg.Now().Sub(s.AuthTime) > *m) {
		return false
	}
	u, ok := f.dir.userByID(s.UserID)
	if !ok || u.OrgID != org.ID || u.Disabled || h.userLocked(u) {
		return false
	}
	h.complete(w, r, f.ar.ID, u, s)
	return true
}

// postPassword is POST /login/password.
func (h *Handler) postPassword(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, ok := h.parsePost(w, r)
	if !ok {
		return
	}
	f, ok := h.load(w, r, id)
	if !ok {
		return
	}
	if f.ar.Organization == "" {
		http.Redirect(w, r, PathStart+"?authRequestID="+url.QueryEscape(id), http.StatusSeeOther)
		return
	}
	org, ok := f.dir.org(f.ar.Organization)
	if !ok {
		h.renderProblem(w, problemUnknownOrg, neutralBrand(), f.appName, "")
		return
	}
	b := brandFor(org)
	switch {
	case org.Suspended:
		h.renderProblem(w, problemSuspended, b, f.appName, "")
		return
	case !f.dir.sharedWith(f.ar.ClientID, org.Name):
		h.refuseNotShared(w, r, f, b)
		return
	case !org.Password:
		h.renderProblem(w, problemNoMethod, b, f.appName, "")
		return
	}

	identifier := strings.TrimSpace(r.PostFormValue("username"))
	password := r.PostFormValue("password")
	if identifier == "" || password == "" {
		h.renderPassword(w, r, f, b, identifier, msgMissingFields)
		return
	}

	u, known := f.dir.user(org.Name, identifier)
	// Known users are counted by ID, so that email and username share one
	// budget; unknown identifiers by what was typed, so that they lock
	// exactly like real accounts and locking reveals nothing.
	accountKey := "password:" + org.Name + "/" + strings.ToLower(identifier)
	if known {
		accountKey = "password:user/" + u.ID
	}
	ipKey := "ip:" + h.cfg.ClientIP(r)
	locked, err := h.isLocked(ctx, accountKey, ipKey)
	if err != nil {
		h.storeError(w, err, "reading failure counters")
		return
	}
	if locked {
		h.renderProblem(w, problemTooManyAttempts, b, f.appName, "")
		return
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
			return // the client went away
		}
		h.cfg.Log.Error(err, "password hash unusable", "org", org.Name, "user", u.ID)
		match = false
	}
	if !match || !known || u.PasswordHash == "" {
		nowLocked, err := h.recordFailure(ctx, org, u, known, accountKey, ipKey)
		if err != nil {
			h.storeError(w, err, "recording a failed sign-in")
			return
		}
		if nowLocked {
			h.renderProblem(w, problemTooManyAttempts, b, f.appName, "")
			return
		}
		h.renderPassword(w, r, f, b, identifier, msgWrongCredentials)
		return
	}
	// Only now, with the right password, may the page say more.
	if u.Disabled {
		h.renderProblem(w, problemDisabled, b, f.appName, "")
		return
	}
	if h.userLocked(u) {
		h.renderProblem(w, problemTooManyAttempts, b, f.appName, "")
		return
	}
	if err := h.cfg.Sessions.ResetFailures(ctx, accountKey); err != nil {
		h.cfg.Log.Error(err, "resetting failure counter")
	}

	s, err := h.cfg.Sessions.CreateLoginSession(ctx, session.LoginSession{
		UserID:   u.ID,
		OrgID:    u.OrgID,
		AuthTime: h.cfg.Now(),
		AMR:      []string{amrPassword},
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
	h.complete(w, r, f.ar.ID, u, s)
}

// complete records who signed in on the auth request and sends the browser
// to the provider's callback.
//
// LoginSessionID is session.HashSecret of the session ID, not the ID: the
// ID is the cookie's bearer secret, and the auth request may end up in
// tokens (sid) or logs. EndSession ends a session from its cookie.
func (h *Handler) complete(w http.ResponseWriter, r *http.Request, arID string, u userView, s session.LoginSession) {
	_, err := h.cfg.Sessions.UpdateAuthRequest(r.Context(), arID, func(a *session.AuthRequest) error {
		a.UserID = u.ID
		a.OrgID = u.OrgID
		a.AuthTime = s.AuthTime
		a.AMR = slices.Clone(s.AMR)
		a.LoginSessionID = session.HashSecret(s.ID)
		a.Done = true
		return nil
	})
	if err != nil {
		h.storeError(w, err, "completing the auth request")
		return
	}
	http.Redirect(w, r, h.cfg.CallbackURL(r.Context(), arID), http.StatusSeeOther)
}

// refuseNotShared shows the branded page and offers the way back to the
// client with access_denied; the auth request ends here.
func (h *Handler) refuseNotShared(w http.ResponseWriter, r *http.Request, f flow, b brand) {
	back := h.cfg.ErrorRedirect(r.Context(), f.ar, "access_denied",
		"The application is not shared with the user's organization.")
	if err := h.cfg.Sessions.DeleteAuthRequest(r.Context(), f.ar.ID); err != nil {
		h.cfg.Log.Error(err, "deleting refused auth request")
	}
	h.renderProblem(w, problemNotShared, b, f.appName, back)
}

// redirectError sends an OAuth error straight back to the client (used for
// prompt=none, where no page may be shown).
func (h *Handler) redirectError(w http.ResponseWriter, r *http.Request, ar session.AuthRequest, code, description string) {
	back := h.cfg.ErrorRedirect(r.Context(), ar, code, description)
	if back == "" {
		h.renderProblem(w, problemUnknownRequest, neutralBrand(), "", "")
		return
	}
	if err := h.cfg.Sessions.DeleteAuthRequest(r.Context(), ar.ID); err != nil {
		h.cfg.Log.Error(err, "deleting answered auth request")
	}
	setSecurityHeaders(w, "")
	http.Redirect(w, r, back, http.StatusSeeOther)
}

func (h *Handler) storeError(w http.ResponseWriter, err error, doing string) {
	if errors.Is(err, session.ErrNotFound) {
		h.renderProblem(w, problemUnknownRequest, neutralBrand(), "", "")
		return
	}
	h.cfg.Log.Error(err, doing)
	h.renderProblem(w, problemUnavailable, neutralBrand(), "", "")
}

func (h *Handler) renderIdentifier(w http.ResponseWriter, r *http.Request, f flow, username, handle string, askOrg bool, msg string) {
	token, err := h.csrf.token(w, r, f.ar.ID)
	if err != nil {
		h.storeError(w, err, "making a CSRF token")
		return
	}
	h.render(w, http.StatusOK, "identifier", pageData{
		Title: "Sign in", Brand: neutralBrand(), AppName: f.appName,
		AuthRequestID: f.ar.ID, CSRF: token,
		Username: username, AskOrg: askOrg, Organization: handle, Error: msg,
	})
}

func (h *Handler) renderPassword(w http.ResponseWriter, r *http.Request, f flow, b brand, username, msg string) {
	token, err := h.csrf.token(w, r, f.ar.ID)
	if err != nil {
		h.storeError(w, err, "making a CSRF token")
		return
	}
	h.render(w, http.StatusOK, "password", pageData{
		Title: "Sign in", Brand: b, AppName: f.appName,
		AuthRequestID: f.ar.ID, CSRF: token, Username: username, Error: msg,
	})
}

// loginSession returns the browser's valid login session.
func (h *Handler) loginSession(r *http.Request) (session.LoginSession, bool) {
	c, err := r.Cookie(h.sessCookie)
	if err != nil || c.Value == "" || len(c.Value) > 128 {
		return session.LoginSession{}, false
	}
	s, err := h.cfg.Sessions.GetLoginSession(r.Context(), c.Value)
	if err != nil {
		return session.LoginSession{}, false
	}
	return s, true
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

func lockKey(key string) string { return "lock:" + key }

// isLocked reports whether the account or the client address is locked.
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

// recordFailure counts a failed attempt for the account and the address,
// and locks either when it reaches its limit: the lock is a counter of its
// own whose window is the lock's duration.
func (h *Handler) recordFailure(ctx context.Context, org orgView, u userView, known bool, accountKey, ipKey string) (bool, error) {
	t := h.throttle
	locked := false
	f, err := h.cfg.Sessions.RecordFailure(ctx, accountKey, t.Window)
	if err != nil {
		return false, err
	}
	if f.Count >= t.MaxFailures {
		l, err := h.lock(ctx, accountKey)
		if err != nil {
			return false, err
		}
		locked = true
		if known {
			until := l.WindowEnd
			if until.IsZero() {
				until = h.cfg.Now().Add(t.LockDuration)
			}
			if err := h.cfg.Lockouts.RecordLockout(ctx, Lockout{Org: org.Name, UserID: u.ID, Failures: f.Count, Until: until}); err != nil {
				h.cfg.Log.Error(err, "recording lockout", "org", org.Name, "user", u.ID)
			}
		}
	}
	f, err = h.cfg.Sessions.RecordFailure(ctx, ipKey, t.Window)
	if err != nil {
		return false, err
	}
	if f.Count >= t.MaxFailuresPerIP {
		if _, err := h.lock(ctx, ipKey); err != nil {
			return false, err
		}
		locked = true
	}
	return locked, nil
}

func (h *Handler) lock(ctx context.Context, key string) (session.Failures, error) {
	l, err := h.cfg.Sessions.RecordFailure(ctx, lockKey(key), h.throttle.LockDuration)
	if err != nil {
		return l, err
	}
	// The lock starts a fresh count once it ends.
	return l, h.cfg.Sessions.ResetFailures(ctx, key)
}

func hasPrompt(ar session.AuthRequest, p string) bool { return slices.Contains(ar.Prompt, p) }
