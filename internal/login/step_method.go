package login

import (
	"net/http"
	"slices"
	"time"

	"github.com/orgkeeper/orgkeeper/internal/session"
)

// The method step authenticates the user in the chosen organization: first
// with the browser's SSO session if it may be reused, else with a method
// the organization's policy offers.

// method is a way to authenticate at the method step. The local password
// is the only one today; an upstream identity provider (the federation
// issue) is another method: its start sends the browser to the upstream,
// and its callback records the user with authenticated, as the password
// form does.
type method interface {
	// offered reports whether the organization's policy allows the method.
	offered(org orgView) bool
	// start shows the method's page (or leaves for the upstream).
	start(h *Handler, w http.ResponseWriter, r *http.Request, f *flow, org orgView)
}

// methods are the methods in the order they are offered.
var methods = []method{passwordMethod{}}

// enterMethod runs once the organization is chosen and nobody is
// authenticated yet.
func enterMethod(h *Handler, w http.ResponseWriter, r *http.Request, f *flow) {
	org, _ := f.org()
	if !h.orgAllows(w, r, f, org) {
		return
	}
	if s, u, ok := h.reusableSession(r, f, org); ok {
		h.authenticated(w, r, f, u, s.AuthTime, s.AMR, session.HashSecret(s.ID))
		return
	}
	if hasPrompt(f.ar, "none") {
		h.redirectError(w, r, f.ar, "login_required", "The user is not signed in.")
		return
	}
	if h.routeUpstream(w, r, f, org) {
		return
	}
	for _, m := range methods {
		if m.offered(org) {
			// One method today; a choice page comes with the second.
			m.start(h, w, r, f, org)
			return
		}
	}
	if len(h.providersOf(f, org)) > 0 {
		// No password: the page has the providers' buttons only.
		h.renderPassword(w, r, f, brandFor(org), f.username, "")
		return
	}
	h.renderProblem(w, problemNoMethod, brandFor(org), f.appName, "")
}

// orgAllows refuses an organization that cannot sign in to the client. On
// refusal it has written the page.
func (h *Handler) orgAllows(w http.ResponseWriter, r *http.Request, f *flow, org orgView) bool {
	b := brandFor(org)
	switch {
	case org.Suspended:
		h.signInRefused(r, f, "suspended")
		h.renderProblem(w, problemSuspended, b, f.appName, "")
		return false
	case !f.dir.sharedWith(f.ar.ClientID, org.Name):
		h.signInRefused(r, f, reasonNotShared)
		h.refuse(w, r, f, problemNotShared, b, "The application is not shared with the user's organization.")
		return false
	}
	return true
}

// reusableSession returns the browser's login session when it may complete
// the auth request (SSO): it is for the same organization, its user is not
// disabled and has not had their sessions revoked since (disabled, or
// an organization on its path suspended: snapshot.User.SessionRevoked), and
// the client asks neither prompt=login nor a max_age that it exceeds, and
// an id_token_hint, if any, names the session's user.
func (h *Handler) reusableSession(r *http.Request, f *flow, org orgView) (session.LoginSession, userView, bool) {
	if hasPrompt(f.ar, "login") {
		return session.LoginSession{}, userView{}, false
	}
	s, ok := h.loginSession(r)
	if !ok || s.OrgID != org.ID {
		return session.LoginSession{}, userView{}, false
	}
	if m := f.ar.MaxAge; m != nil && (*m <= 0 || h.cfg.Now().Sub(s.AuthTime) > *m) {
		return session.LoginSession{}, userView{}, false
	}
	// An id_token_hint names the user the client expects; another user's
	// session must not answer for them (prompt=none would hand the client
	// a code for the wrong person).
	if f.ar.HintSubject != "" && s.UserID != f.ar.HintSubject {
		return session.LoginSession{}, userView{}, false
	}
	u, ok := f.dir.userByID(s.UserID)
	// A lock (status.lockedUntil) is not checked: it stops password
	// verification only, so that wrong passwords typed by someone else
	// cannot sign the user out of the browsers they are signed in on.
	if !ok || u.OrgID != org.ID || u.Disabled || f.dir.sessionRevoked(u.ID, s.AuthTime) {
		return session.LoginSession{}, userView{}, false
	}
	return s, u, true
}

// authenticated records who the method step authenticated, and goes on.
// loginSessionID is the hash of the SSO session that did it, or "" for a
// new sign-in (the done step then starts a session).
func (h *Handler) authenticated(w http.ResponseWriter, r *http.Request, f *flow, u userView, authTime time.Time, amr []string, loginSessionID string) {
	if !h.update(w, r, f, "recording the authenticated user", func(a *session.AuthRequest) {
		a.UserID = u.ID
		a.OrgID = u.OrgID
		a.AuthTime = authTime
		a.AMR = slices.Clone(amr)
		a.LoginSessionID = loginSessionID
	}) {
		return
	}
	h.advance(w, r, f)
}
