package login

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/orgkeeper/orgkeeper/internal/clientip"
	"github.com/orgkeeper/orgkeeper/internal/credentials"
	"github.com/orgkeeper/orgkeeper/internal/mail"
	"github.com/orgkeeper/orgkeeper/internal/rules"
)

// Onboarding pages: the links that mail carries (an invitation, a password
// reset) lead to a page that checks the link's token and lets the person
// choose a password. The token's hash lives in the user's credential Secret
// in the system namespace; these pages reach it only through the
// interfaces below, which internal/apiwrite implements.

// Routes of the onboarding pages, under /login.
const (
	// PathInvitation shows and receives the invitation's password form.
	PathInvitation = mail.PathInvitation
	// PathReset asks for the email address of a password reset (from the
	// password page, within a sign-in).
	PathReset = "/login/reset"
	// PathResetConfirm shows and receives the reset link's password form.
	PathResetConfirm = mail.PathResetConfirm
)

// LinkPurpose says what a link token is for.
type LinkPurpose string

// Link purposes.
const (
	LinkInvitation LinkPurpose = "invitation"
	LinkReset      LinkPurpose = "reset"
)

// LinkToken is a token presented from a link, with the user the snapshot
// says it names.
type LinkToken struct {
	Purpose LinkPurpose
	// Org is the user's organization (its namespace); UserName the
	// OrgUser's name, UserID its metadata.uid.
	Org, UserName, UserID string
	// Token is the token as presented.
	Token string
}

// Errors of LinkTokens. A token that is wrong, forged, used or another
// organization's is ErrLinkInvalid, all alike, so that the page tells
// nothing about accounts; ErrLinkExpired only for the real token of a link
// that ran out.
var (
	ErrLinkInvalid = errors.New("the link is not valid")
	ErrLinkExpired = errors.New("the link has expired")
)

// LinkTokens checks and redeems link tokens.
type LinkTokens interface {
	// CheckLinkToken reports whether the token is the open one of its
	// purpose for the user: nil, ErrLinkInvalid, ErrLinkExpired, or
	// another error when it cannot tell.
	CheckLinkToken(ctx context.Context, t LinkToken) error
	// RedeemLinkToken consumes the token and sets the password (an
	// argon2id hash) in one write, so that the token works once; a reset
	// also ends the user's sessions and refresh tokens. The same errors as
	// CheckLinkToken.
	RedeemLinkToken(ctx context.Context, t LinkToken, passwordHash string) error
}

// ResetRequest asks for a password-reset mail.
type ResetRequest struct {
	Org, UserName, UserID string
	Email, DisplayName    string
	// AppName is the application the person was signing in to.
	AppName string
	// AccountExists says the mail answers a self-registration with the
	// address of this account: it tells the person they already have an
	// account, and carries the reset link in case they forgot how to sign
	// in (mail.KindAccountExists instead of mail.KindPasswordReset).
	AccountExists bool
	// Link is the URL mailed (with the token); TokenHash what is stored.
	Link, TokenHash string
	ExpiresAt       time.Time
}

// ResetRequester queues password-reset mails. It must return at once (the
// page answers the same whether the account exists or not, in the same
// time), so the write is queued.
type ResetRequester interface {
	RequestPasswordReset(ctx context.Context, r ResetRequest) error
}

// OnboardingConfig turns the onboarding pages on.
type OnboardingConfig struct {
	// Tokens checks and redeems link tokens; nil turns the invitation and
	// reset-link pages off.
	Tokens LinkTokens
	// Resets queues reset mails; nil hides "Forgot password?".
	Resets ResetRequester
	// ResetTTL is how long a reset link works; default DefaultResetTTL.
	ResetTTL time.Duration
	// Limits bound the mail each form sends; zero fields take defaults.
	Limits MailLimits
	// Registrations keeps self-registrations (selfregistration.go); nil
	// hides "Create account".
	Registrations Registrations
	// RegistrationTTL is how long a registration's confirmation link
	// works; default DefaultRegistrationTTL.
	RegistrationTTL time.Duration
	// Acceptor accepts invitations through the organization's identity
	// providers (onboarding_upstream.go); nil offers only the password.
	Acceptor InvitationAcceptor
}

// DefaultResetTTL is how long a reset link works.
const DefaultResetTTL = time.Hour

// MailLimits bound the mail that the sign-in pages' forms make the server
// send, and the guessing at link pages. Every count is kept whether the
// account exists or not, so a limit reveals nothing about accounts.
type MailLimits struct {
	// PerAddress: requests from one client address (an IPv6 /64) per
	// Window. Default 10.
	PerAddress int
	// PerRecipient: mails to one email address per Window. Default 3: a
	// flood cannot mail a victim more than that.
	PerRecipient int
	// PerOrganization: mails for one organization per Window. Default 200.
	PerOrganization int
	// LinkAttempts: link pages (shown or posted) per client address per
	// Window. Default 30.
	LinkAttempts int
	// Window is the counting window. Default one hour.
	Window time.Duration
}

func (l MailLimits) withDefaults() MailLimits {
	if l.PerAddress <= 0 {
		l.PerAddress = 10
	}
	if l.PerRecipient <= 0 {
		l.PerRecipient = 3
	}
	if l.PerOrganization <= 0 {
		l.PerOrganization = 200
	}
	if l.LinkAttempts <= 0 {
		l.LinkAttempts = 30
	}
	if l.Window <= 0 {
		l.Window = time.Hour
	}
	return l
}

// Bounds of the onboarding forms' fields.
const (
	maxOrgParam   = 63
	maxEmailParam = mail.MaxAddress
)

// mailableAddress reports whether a form's email field is one address
// that mail can be sent to, within maxEmailParam: the check of every form
// that mails someone (reset, self-registration, signup).
func mailableAddress(email string) bool {
	return len(email) <= maxEmailParam && mail.CheckAddress(email) == nil
}

// Onboarding problems: pages that end a link or a form.
const (
	problemLinkInvalid problem = 100 + iota
	problemLinkExpired
	problemTooManyRequests
	problemOnboardingOff
)

func init() {
	problems[problemLinkInvalid] = problemText{http.StatusBadRequest, "This link is not valid",
		"The link is incomplete, was already used, or was replaced by a newer one. Nothing was changed.",
		"Use the newest message you received, or ask your organization's administrator for a new invitation. To change a forgotten password, use \"Forgot password?\" on the sign-in page."}
	problems[problemLinkExpired] = problemText{http.StatusGone, "This link has expired",
		"The link is no longer valid. Nothing was changed.",
		"Ask your organization's administrator to send a new invitation, or, for a password reset, ask for a new link on the sign-in page."}
	problems[problemTooManyRequests] = problemText{http.StatusTooManyRequests, "Too many requests",
		"Too many requests came from your network in a short time.",
		"Wait a while and try again."}
	problems[problemOnboardingOff] = problemText{http.StatusNotFound, "Not available",
		"This page is not available on this server.",
		"Contact your organization's administrator."}
}

// overLimit counts one event under key and reports whether it is over max
// within window. A store error counts as over: when unsure, send nothing.
func (h *Handler) overLimit(ctx context.Context, key string, max int, window time.Duration) bool {
	f, err := h.cfg.Sessions.RecordFailure(ctx, key, window)
	if err != nil {
		h.cfg.Log.Error(err, "counting a mail or link request")
		return true
	}
	return f.Count > max
}

// addressKey is the limit key of the request's client address.
func (h *Handler) addressKey(prefix string, r *http.Request) string {
	return prefix + clientip.Bucket(h.cfg.ClientIP(r))
}

// linkParams reads and bounds a link's org and token (query or form).
func linkParams(get func(string) string) (org, token string, ok bool) {
	org, token = get("org"), get("token")
	if org == "" || len(org) > maxOrgParam || token == "" || len(token) > credentials.MaxTokenLength {
		return "", "", false
	}
	return org, token, true
}

// linkFlow is one request at a link page: the organization, the user the
// token names and the token.
type linkFlow struct {
	purpose LinkPurpose
	dir     directory
	org     orgView
	acct    accountView
	token   string
}

// openLink is what every mailed link's page checks first: the client's
// budget of link attempts, the link's parameters, and its organization,
// served and not suspended. On failure it has written the page.
func (h *Handler) openLink(w http.ResponseWriter, r *http.Request, get func(string) string) (directory, orgView, string, bool) {
	lim := h.mailLimits
	if h.overLimit(r.Context(), h.addressKey("link-ip:", r), lim.LinkAttempts, lim.Window) {
		h.renderProblem(w, problemTooManyRequests, neutralBrand(), "", "")
		return directory{}, orgView{}, "", false
	}
	orgName, token, ok := linkParams(get)
	if !ok {
		h.renderProblem(w, problemLinkInvalid, neutralBrand(), "", "")
		return directory{}, orgView{}, "", false
	}
	dir := directory{h.cfg.Snapshots.Load()}
	if !dir.ready() {
		h.renderProblem(w, problemUnavailable, neutralBrand(), "", "")
		return directory{}, orgView{}, "", false
	}
	org, ok := dir.org(orgName)
	if !ok {
		h.renderProblem(w, problemLinkInvalid, neutralBrand(), "", "")
		return directory{}, orgView{}, "", false
	}
	if org.Suspended {
		h.renderProblem(w, problemSuspended, brandFor(org), "", "")
		return directory{}, orgView{}, "", false
	}
	return dir, org, token, true
}

// loadLink checks a link's parameters, the client's budget and the token.
// On failure it has written the page.
func (h *Handler) loadLink(w http.ResponseWriter, r *http.Request, purpose LinkPurpose, get func(string) string) (*linkFlow, bool) {
	if h.cfg.Onboarding.Tokens == nil {
		h.renderProblem(w, problemOnboardingOff, neutralBrand(), "", "")
		return nil, false
	}
	dir, org, token, ok := h.openLink(w, r, get)
	if !ok {
		return nil, false
	}
	b := brandFor(org)
	uid, err := credentials.TokenUser(token)
	if err != nil {
		h.renderProblem(w, problemLinkInvalid, b, "", "")
		return nil, false
	}
	// A token names a user; it counts only in that user's organization, so
	// another organization's link is as invalid here as a forged one.
	acct, ok := dir.account(org.Name, uid)
	if !ok || (purpose == LinkInvitation && (acct.HasPassword || acct.Federated)) {
		h.renderProblem(w, problemLinkInvalid, b, "", "")
		return nil, false
	}
	if acct.Disabled {
		h.renderProblem(w, problemDisabled, b, "", "")
		return nil, false
	}
	lt := LinkToken{Purpose: purpose, Org: org.Name, UserName: acct.Name, UserID: acct.ID, Token: token}
	if !h.linkError(w, b, h.cfg.Onboarding.Tokens.CheckLinkToken(r.Context(), lt)) {
		return nil, false
	}
	return &linkFlow{purpose: purpose, dir: dir, org: org, acct: acct, token: token}, true
}

// linkError writes the page for a LinkTokens error and reports whether
// there was none.
func (h *Handler) linkError(w http.ResponseWriter, b brand, err error) bool {
	switch {
	case err == nil:
		return true
	case errors.Is(err, ErrLinkExpired):
		h.renderProblem(w, problemLinkExpired, b, "", "")
	case errors.Is(err, ErrLinkInvalid):
		h.renderProblem(w, problemLinkInvalid, b, "", "")
	default:
		h.cfg.Log.Error(err, "checking a link token")
		h.renderProblem(w, problemUnavailable, b, "", "")
	}
	return false
}

// linkBind binds a link page's CSRF token to the link (never to the token
// itself, which must not be derivable from the form).
func linkBind(token string) string { return "link:" + credentials.TokenHash(token) }

// showLink is GET of a link page: the password form.
func (h *Handler) showLink(purpose LinkPurpose) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		lf, ok := h.loadLink(w, r, purpose, r.URL.Query().Get)
		if !ok {
			return
		}
		h.renderSetPassword(w, r, lf, "")
	}
}

// postedLink is the prologue of every form posted from a link's page: a
// bounded form, the CSRF token bound to the link's token, then the link
// itself (loadLink). On failure it has written the page.
func (h *Handler) postedLink(w http.ResponseWriter, r *http.Request, purpose LinkPurpose) (*linkFlow, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		h.renderProblem(w, problemForbidden, neutralBrand(), "", "")
		return nil, false
	}
	if _, token, ok := linkParams(r.PostFormValue); !ok || !h.csrf.valid(r, linkBind(token)) {
		h.renderProblem(w, problemForbidden, neutralBrand(), "", "")
		return nil, false
	}
	return h.loadLink(w, r, purpose, r.PostFormValue)
}

// postLink is POST of a link page: check the new password, then redeem the
// token and set the password in one write.
func (h *Handler) postLink(purpose LinkPurpose) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		lf, ok := h.postedLink(w, r, purpose)
		if !ok {
			return
		}
		if purpose == LinkInvitation && !lf.org.Password {
			h.renderSetPassword(w, r, lf, "This organization does not sign its people in with a password.")
			return
		}
		password, confirm := r.PostFormValue("password"), r.PostFormValue("confirm")
		if password != confirm {
			h.renderSetPassword(w, r, lf, "The two passwords are not the same. Type the new password twice.")
			return
		}
		local, _, _ := strings.Cut(lf.acct.Email, "@")
		if msg := credentials.PasswordProblem(password, lf.acct.Email, local, lf.acct.Username, lf.acct.DisplayName, lf.org.Name, lf.org.DisplayName); msg != "" {
			h.renderSetPassword(w, r, lf, msg)
			return
		}
		hash, err := h.hash(r.Context(), password)
		if err != nil {
			if r.Context().Err() == nil {
				h.cfg.Log.Error(err, "hashing a new password")
				h.renderProblem(w, problemUnavailable, brandFor(lf.org), "", "")
			}
			return
		}
		lt := LinkToken{Purpose: purpose, Org: lf.org.Name, UserName: lf.acct.Name, UserID: lf.acct.ID, Token: lf.token}
		if !h.linkError(w, brandFor(lf.org), h.cfg.Onboarding.Tokens.RedeemLinkToken(r.Context(), lt, hash)) {
			return
		}
		if purpose == LinkReset {
			// The revocation instant is rounded up to the next whole second
			// (rules.SessionsRevokedAt); answer once it has passed, so that
			// signing in right after the reset is not taken for a session
			// from before it.
			h.waitUntil(r.Context(), rules.SessionsRevokedAt(h.cfg.Now()))
		}
		if purpose == LinkInvitation {
			h.renderAccountReady(w, lf.org, lf.acct.Email, "")
			return
		}
		d := pageData{Brand: brandFor(lf.org), Title: "Your password is changed",
			Message: "Your new password is set, and you were signed out everywhere you were signed in.",
			Action:  "Go back to the application and sign in with your new password."}
		h.render(w, http.StatusOK, "notice", d)
	}
}

// waitUntil returns at t (at most a second from now) or when ctx ends.
func (h *Handler) waitUntil(ctx context.Context, t time.Time) {
	d := t.Sub(h.cfg.Now())
	if d <= 0 || d > time.Second {
		return
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
}

// hash makes an argon2id hash within the bound on concurrent hashing.
func (h *Handler) hash(ctx context.Context, password string) (string, error) {
	select {
	case h.sem <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-h.sem }()
	return credentials.Hash(password)
}

func (h *Handler) renderSetPassword(w http.ResponseWriter, r *http.Request, lf *linkFlow, msg string) {
	token, err := h.csrf.token(w, r, linkBind(lf.token))
	if err != nil {
		h.storeError(w, err, "making a CSRF token")
		return
	}
	d := pageData{Brand: brandFor(lf.org), CSRF: token, Token: lf.token, Organization: lf.org.Name,
		Username: lf.acct.Email, Error: msg}
	if lf.purpose == LinkInvitation {
		d.Title, d.FormAction, d.Action = "Accept your invitation", PathInvitation, "Set password and continue"
		d.Message = "Choose a password for " + lf.acct.Email + " to finish setting up your account."
		d.Providers = h.invitationProviders(lf)
		if !lf.org.Password {
			// A password the organization's login page never asks for
			// would be a credential nobody can use, and one more to leak.
			d.NoPassword = true
			d.Message = "Continue with your organization's account below to finish setting up " + lf.acct.Email + "."
			if len(d.Providers) == 0 {
				d.Message = "Your organization signs its people in neither with a password nor with an identity provider " +
					"that you can use here, so the invitation cannot be accepted yet. Ask your organization's administrator; " +
					"the link stays valid until it expires."
			}
		}
	} else {
		d.Title, d.FormAction, d.Action = "Choose a new password", PathResetConfirm, "Change password"
		d.Message = "Choose a new password for " + lf.acct.Email + ". You will be signed out everywhere you are signed in."
	}
	status := http.StatusOK
	if msg != "" {
		status = http.StatusUnprocessableEntity
	}
	h.render(w, status, "set-password", d)
}
