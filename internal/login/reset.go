package login

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/orgkeeper/orgkeeper/internal/credentials"
	"github.com/orgkeeper/orgkeeper/internal/mail"
)

// "Forgot password?": within a sign-in whose organization is chosen, the
// person gives an email address; if it belongs to an account of that
// organization, a single-use link to choose a new password is mailed. The
// page that follows is the same, after the same work, whether the account
// exists or not, and whatever the limits decided, so that the form tells
// nobody which accounts exist. A reset ends the user's other sessions and
// refresh tokens (LinkTokens.RedeemLinkToken).

// resetsOffered reports whether the password page shows "Forgot password?".
func (h *Handler) resetsOffered() bool {
	return h.cfg.Onboarding.Resets != nil && h.cfg.Onboarding.Tokens != nil
}

// resetURL is the "Forgot password?" link of a sign-in.
func resetURL(authRequestID string) string {
	return PathReset + "?authRequestID=" + url.QueryEscape(authRequestID)
}

// loadResetFlow loads the sign-in of a reset form; it must have chosen an
// organization that allows passwords. On failure it has written the page.
func (h *Handler) loadResetFlow(w http.ResponseWriter, r *http.Request, f *flow) (orgView, bool) {
	if !h.resetsOffered() {
		h.renderProblem(w, problemOnboardingOff, neutralBrand(), "", "")
		return orgView{}, false
	}
	org, ok := f.org()
	if !ok || f.step() != stepMethod {
		http.Redirect(w, r, PathStart+"?authRequestID="+url.QueryEscape(f.ar.ID), http.StatusSeeOther)
		return orgView{}, false
	}
	if !h.orgAllows(w, r, f, org) {
		return orgView{}, false
	}
	if !org.Password {
		h.renderProblem(w, problemNoMethod, brandFor(org), f.appName, "")
		return orgView{}, false
	}
	return org, true
}

// showReset is GET /login/reset?authRequestID=: the email form.
func (h *Handler) showReset(w http.ResponseWriter, r *http.Request) {
	f, ok := h.load(w, r, r.URL.Query().Get("authRequestID"))
	if !ok {
		return
	}
	org, ok := h.loadResetFlow(w, r, f)
	if !ok {
		return
	}
	h.renderResetForm(w, r, f, org, f.username, "")
}

func (h *Handler) renderResetForm(w http.ResponseWriter, r *http.Request, f *flow, org orgView, email, msg string) {
	token, err := h.csrf.token(w, r, f.ar.ID)
	if err != nil {
		h.storeError(w, err, "making a CSRF token")
		return
	}
	status := http.StatusOK
	if msg != "" {
		status = http.StatusUnprocessableEntity
	}
	h.render(w, status, "request-email", pageData{
		Title: "Reset your password", Brand: brandFor(org), AppName: f.appName,
		AuthRequestID: f.ar.ID, CSRF: token, Username: email, Error: msg,
		FormAction: PathReset, Action: "Send me a link",
		Message:     "Enter the email address of your account. We will send you a link to choose a new password.",
		ContinueURL: backToSignIn(f.ar.ID),
	})
}

// postReset is POST /login/reset: queue the mail if the account exists,
// and answer the same either way.
func (h *Handler) postReset(w http.ResponseWriter, r *http.Request) {
	f, ok := h.posted(w, r)
	if !ok {
		return
	}
	org, ok := h.loadResetFlow(w, r, f)
	if !ok {
		return
	}
	email := strings.TrimSpace(r.PostFormValue("email"))
	if !mailableAddress(email) {
		h.renderResetForm(w, r, f, org, "", "Enter one email address, such as name@example.com.")
		return
	}
	ctx := r.Context()
	lim := h.mailLimits
	// The client's budget first: a flood from one network is refused
	// openly (that says nothing about any account).
	if h.overLimit(ctx, h.addressKey("mail-ip:", r), lim.PerAddress, lim.Window) {
		h.renderProblem(w, problemTooManyRequests, brandFor(org), f.appName, "")
		return
	}
	// The same work whether or not the account exists: a token is made
	// and hashed for every request.
	now := h.cfg.Now()
	acct, known := f.dir.accountByLogin(org.Name, email)
	token, tokenHash := credentials.NewToken(acct.ID)
	// Limits per recipient and per organization are counted for every
	// address, known or not, and refuse silently: the page is the same.
	send := !h.overLimit(ctx, "mail-to:"+strings.ToLower(email), lim.PerRecipient, lim.Window)
	send = !h.overLimit(ctx, "mail-org:"+org.Name, lim.PerOrganization, lim.Window) && send
	if known && send && !acct.Disabled && strings.EqualFold(acct.Email, email) {
		ttl := h.cfg.Onboarding.ResetTTL
		if ttl <= 0 {
			ttl = DefaultResetTTL
		}
		req := ResetRequest{
			Org: org.Name, UserName: acct.Name, UserID: acct.ID,
			Email: acct.Email, DisplayName: acct.DisplayName, AppName: f.appName,
			Link:      mail.Link(h.cfg.Issuer, PathResetConfirm, org.Name, token),
			TokenHash: tokenHash, ExpiresAt: now.Add(ttl),
		}
		if err := h.cfg.Onboarding.Resets.RequestPasswordReset(ctx, req); err != nil {
			h.cfg.Log.Error(err, "queueing a password reset", "org", org.Name, "user", acct.ID)
		}
	}
	h.render(w, http.StatusOK, "notice", pageData{
		Title: "Check your email", Brand: brandFor(org), AppName: f.appName,
		Message: "If " + email + " is the address of an account of " + brandFor(org).Name +
			", we have sent it a link to choose a new password. The link works once, for a limited time.",
		Action:      "If nothing arrives within a few minutes, check your spam folder, or ask your organization's administrator.",
		ContinueURL: backToSignIn(f.ar.ID),
	})
}

// backToSignIn is the sign-in's current step, as a link.
func backToSignIn(authRequestID string) template.URL {
	return template.URL(PathStart + "?authRequestID=" + url.QueryEscape(authRequestID))
}

// resetLink is the password page's "Forgot password?" link, or "".
func (h *Handler) resetLink(f *flow) template.URL {
	if !h.resetsOffered() || !h.passwordOffered(f) {
		return ""
	}
	return template.URL(resetURL(f.ar.ID))
}
