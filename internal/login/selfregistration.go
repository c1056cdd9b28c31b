package login

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/orgkeeper/orgkeeper/internal/credentials"
	"github.com/orgkeeper/orgkeeper/internal/mail"
)

// Self-registration: when an organization's effective
// login.selfRegistration is on, its password page offers "Create account".
// The person gives a name, an address at one of the organization's
// verified domains and a password; the server mails a confirmation link,
// and only following it creates the OrgUser (through Registrations, which
// internal/apiwrite implements). The form answers the same whether the
// address already has an account or not.

// Routes of self-registration.
const (
	// PathRegister shows and receives the registration form (within a
	// sign-in whose organization is chosen).
	PathRegister = "/login/register"
	// PathRegisterConfirm is the mailed link: GET shows a button, POST
	// creates the account. A GET never creates anything, since mail
	// scanners open links before people do.
	PathRegisterConfirm = "/login/register/confirm"
)

// DefaultRegistrationTTL is how long a confirmation link works.
const DefaultRegistrationTTL = 24 * time.Hour

// Bounds of a registration's confirmation link's lifetime: long enough for
// a mail to arrive and be read, short enough that an address's old mail
// does not create an account weeks later.
const (
	MinRegistrationTTL = 5 * time.Minute
	MaxRegistrationTTL = 7 * 24 * time.Hour
)

// CheckRegistrationTTL reports whether ttl is within the bounds.
func CheckRegistrationTTL(ttl time.Duration) error {
	if ttl < MinRegistrationTTL || ttl > MaxRegistrationTTL {
		return fmt.Errorf("%s is out of range: a confirmation link must work for at least %s and at most %s", ttl, MinRegistrationTTL, MaxRegistrationTTL)
	}
	return nil
}

// maxDisplayName bounds the name field (OrgUser spec.displayName).
const maxDisplayName = 256

// registrationTokenUser is the user part of a registration token: there is
// no user yet, the token only has credentials.NewToken's shape.
const registrationTokenUser = "registration"

// ErrAccountExists is ConfirmRegistration's answer when the address
// already has an account in the organization.
var ErrAccountExists = errors.New("an account with this address already exists")

// RegistrationRequest asks for a pending registration and its mail.
type RegistrationRequest struct {
	Org, Email, DisplayName string
	// PasswordHash is the argon2id hash of the chosen password.
	PasswordHash string
	// AppName is the application the person was signing in to.
	AppName string
	// Link is the URL mailed (with the token); TokenHash what is stored.
	Link, TokenHash string
	ExpiresAt       time.Time
}

// PendingRegistration is what a confirmation link creates.
type PendingRegistration struct {
	Org, Email, DisplayName string
}

// Registrations keeps self-registrations until they are confirmed.
type Registrations interface {
	// RequestRegistration queues the registration and its mail; it
	// returns at once.
	RequestRegistration(ctx context.Context, r RegistrationRequest) error
	// CheckRegistration reports the pending registration of a token of
	// org: ErrLinkInvalid, ErrLinkExpired, or another error when it
	// cannot tell.
	CheckRegistration(ctx context.Context, org, token string) (PendingRegistration, error)
	// ConfirmRegistration creates the user (once, however often it is
	// called) and consumes the registration. The errors of
	// CheckRegistration, and ErrAccountExists.
	ConfirmRegistration(ctx context.Context, org, token string) (PendingRegistration, error)
}

func init() {
	problems[problemAccountExists] = problemText{http.StatusConflict, "You already have an account",
		"An account with this email address already exists. No new account was created.",
		"Sign in with it, or use \"Forgot password?\" on the sign-in page."}
	problems[problemRegistrationClosed] = problemText{http.StatusForbidden, "Registration is closed",
		"This organization no longer accepts new accounts for this address. No account was created.",
		"Ask your organization's administrator for an invitation."}
}

// Self-registration problems.
const (
	problemAccountExists problem = 200 + iota
	problemRegistrationClosed
)

func (h *Handler) registrationRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+PathRegister, h.showRegister)
	mux.HandleFunc("POST "+PathRegister, h.postRegister)
	mux.HandleFunc("GET "+PathRegisterConfirm, h.showRegisterConfirm)
	mux.HandleFunc("POST "+PathRegisterConfirm, h.postRegisterConfirm)
}

// registrationOffered reports whether org takes self-registrations here.
func (h *Handler) registrationOffered(org orgView) bool {
	return h.cfg.Onboarding.Registrations != nil && h.resetsOffered() &&
		org.SelfRegistration && org.Password && !org.Suspended
}

// registerLink is the password page's "Create account" link, or "".
func (h *Handler) registerLink(f *flow) template.URL {
	org, ok := f.org()
	if !ok || !h.registrationOffered(org) {
		return ""
	}
	return template.URL(PathRegister + "?authRequestID=" + url.QueryEscape(f.ar.ID))
}

// loadRegisterFlow loads the sign-in of a registration form. On failure it
// has written the page.
func (h *Handler) loadRegisterFlow(w http.ResponseWriter, r *http.Request, f *flow) (orgView, bool) {
	org, ok := f.org()
	if !ok || f.step() != stepMethod {
		http.Redirect(w, r, PathStart+"?authRequestID="+url.QueryEscape(f.ar.ID), http.StatusSeeOther)
		return orgView{}, false
	}
	if !h.orgAllows(w, r, f, org) {
		return orgView{}, false
	}
	if !h.registrationOffered(org) {
		h.renderProblem(w, problemOnboardingOff, brandFor(org), f.appName, "")
		return orgView{}, false
	}
	return org, true
}

func (h *Handler) showRegister(w http.ResponseWriter, r *http.Request) {
	f, ok := h.load(w, r, r.URL.Query().Get("authRequestID"))
	if !ok {
		return
	}
	org, ok := h.loadRegisterFlow(w, r, f)
	if !ok {
		return
	}
	h.renderRegister(w, r, f, org, "", "", "")
}

func (h *Handler) renderRegister(w http.ResponseWriter, r *http.Request, f *flow, org orgView, name, email, msg string) {
	token, err := h.csrf.token(w, r, f.ar.ID)
	if err != nil {
		h.storeError(w, err, "making a CSRF token")
		return
	}
	status := http.StatusOK
	if msg != "" {
		status = http.StatusUnprocessableEntity
	}
	h.render(w, status, "register", pageData{
		Title: "Create account", Brand: brandFor(org), AppName: f.appName,
		AuthRequestID: f.ar.ID, CSRF: token, Username: email, DisplayName: name, Error: msg,
		FormAction: PathRegister, Action: "Create account",
		Message:     "Use your email address at " + brandFor(org).Name + ". We will send you a link to confirm it; the account exists once you follow it.",
		ContinueURL: backToSignIn(f.ar.ID),
	})
}

// postRegister checks the form, and queues the registration unless the
// address already has an account; the page that follows is the same.
func (h *Handler) postRegister(w http.ResponseWriter, r *http.Request) {
	f, ok := h.posted(w, r)
	if !ok {
		return
	}
	org, ok := h.loadRegisterFlow(w, r, f)
	if !ok {
		return
	}
	name := strings.TrimSpace(r.PostFormValue("name"))
	email := strings.TrimSpace(r.PostFormValue("email"))
	password, confirm := r.PostFormValue("password"), r.PostFormValue("confirm")
	switch {
	case name == "" || len(name) > maxDisplayName || !utf8.ValidString(name) || strings.ContainsFunc(name, isControl):
		h.renderRegister(w, r, f, org, "", email, "Enter your name (at most 256 characters).")
		return
	case !mailableAddress(email):
		h.renderRegister(w, r, f, org, name, "", "Enter one email address, such as name@example.com.")
		return
	case !f.dir.holdsDomainOf(org.Name, email):
		// Domains are public (they route sign-ins): saying so tells
		// nothing about accounts.
		h.renderRegister(w, r, f, org, name, email, "Only addresses at a domain of "+brandFor(org).Name+" can create an account here.")
		return
	case password != confirm:
		h.renderRegister(w, r, f, org, name, email, "The two passwords are not the same. Type the password twice.")
		return
	}
	local, _, _ := strings.Cut(email, "@")
	if msg := credentials.PasswordProblem(password, email, local, name, org.Name, org.DisplayName); msg != "" {
		h.renderRegister(w, r, f, org, name, email, msg)
		return
	}
	ctx := r.Context()
	lim := h.mailLimits
	if h.overLimit(ctx, h.addressKey("mail-ip:", r), lim.PerAddress, lim.Window) {
		h.renderProblem(w, problemTooManyRequests, brandFor(org), f.appName, "")
		return
	}
	// The same work whether the address has an account or not: the
	// password is hashed and a token made for every request.
	hash, err := h.hash(ctx, password)
	if err != nil {
		if ctx.Err() == nil {
			h.cfg.Log.Error(err, "hashing a new password")
			h.renderProblem(w, problemUnavailable, brandFor(org), f.appName, "")
		}
		return
	}
	token, tokenHash := credentials.NewToken(registrationTokenUser)
	send := !h.overLimit(ctx, "mail-to:"+strings.ToLower(email), lim.PerRecipient, lim.Window)
	send = !h.overLimit(ctx, "mail-org:"+org.Name, lim.PerOrganization, lim.Window) && send
	acct, exists := f.dir.accountByLogin(org.Name, email)
	if send && exists {
		h.mailAccountExists(ctx, f, org, acct, email)
	}
	if send && !exists {
		ttl := h.cfg.Onboarding.RegistrationTTL
		if ttl <= 0 {
			ttl = DefaultRegistrationTTL
		}
		req := RegistrationRequest{
			Org: org.Name, Email: email, DisplayName: name, PasswordHash: hash, AppName: f.appName,
			Link:      mail.Link(h.cfg.Issuer, PathRegisterConfirm, org.Name, token),
			TokenHash: tokenHash, ExpiresAt: h.cfg.Now().Add(ttl),
		}
		if err := h.cfg.Onboarding.Registrations.RequestRegistration(ctx, req); err != nil {
			h.cfg.Log.Error(err, "queueing a self-registration", "org", org.Name)
		}
	}
	h.render(w, http.StatusOK, "notice", pageData{
		Title: "Check your email", Brand: brandFor(org), AppName: f.appName,
		Message:     "We have sent a link to " + email + ". Open it to confirm the address and create your account. The link works once, for a limited time.",
		Action:      "If nothing arrives within a few minutes, check your spam folder. If you already have an account, sign in with it or use \"Forgot password?\".",
		ContinueURL: backToSignIn(f.ar.ID),
	})
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// regLink is one request at the confirmation link: the organization and the
// pending registration.
type regLink struct {
	org     orgView
	pending PendingRegistration
	token   string
}

// loadRegLink checks the link's parameters, the client's budget, the
// pending registration, and that the organization still takes it (the
// setting or the domain may have changed since the mail). On failure it
// has written the page.
func (h *Handler) loadRegLink(w http.ResponseWriter, r *http.Request, get func(string) string) (*regLink, bool) {
	regs := h.cfg.Onboarding.Registrations
	if regs == nil {
		h.renderProblem(w, problemOnboardingOff, neutralBrand(), "", "")
		return nil, false
	}
	dir, org, token, ok := h.openLink(w, r, get)
	if !ok {
		return nil, false
	}
	b := brandFor(org)
	if uid, err := credentials.TokenUser(token); err != nil || uid != registrationTokenUser {
		h.renderProblem(w, problemLinkInvalid, b, "", "")
		return nil, false
	}
	p, err := regs.CheckRegistration(r.Context(), org.Name, token)
	if !h.linkError(w, b, err) {
		return nil, false
	}
	if !h.registrationOffered(org) || !dir.holdsDomainOf(org.Name, p.Email) {
		h.renderProblem(w, problemRegistrationClosed, b, "", "")
		return nil, false
	}
	if _, exists := dir.accountByLogin(org.Name, p.Email); exists {
		// Only the owner of the mailbox gets here.
		h.renderProblem(w, problemAccountExists, b, "", "")
		return nil, false
	}
	return &regLink{org: org, pending: p, token: token}, true
}

func (h *Handler) showRegisterConfirm(w http.ResponseWriter, r *http.Request) {
	rl, ok := h.loadRegLink(w, r, r.URL.Query().Get)
	if !ok {
		return
	}
	csrf, err := h.csrf.token(w, r, linkBind(rl.token))
	if err != nil {
		h.storeError(w, err, "making a CSRF token")
		return
	}
	h.render(w, http.StatusOK, "register-confirm", pageData{
		Title: "Confirm your account", Brand: brandFor(rl.org), CSRF: csrf,
		Token: rl.token, Organization: rl.org.Name, FormAction: PathRegisterConfirm,
		Message: "Create the " + brandFor(rl.org).Name + " account of " + rl.pending.Email + ".",
		Action:  "Create my account",
	})
}

func (h *Handler) postRegisterConfirm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		h.renderProblem(w, problemForbidden, neutralBrand(), "", "")
		return
	}
	if _, token, ok := linkParams(r.PostFormValue); !ok || !h.csrf.valid(r, linkBind(token)) {
		h.renderProblem(w, problemForbidden, neutralBrand(), "", "")
		return
	}
	rl, ok := h.loadRegLink(w, r, r.PostFormValue)
	if !ok {
		return
	}
	b := brandFor(rl.org)
	_, err := h.cfg.Onboarding.Registrations.ConfirmRegistration(r.Context(), rl.org.Name, rl.token)
	if errors.Is(err, ErrAccountExists) {
		h.renderProblem(w, problemAccountExists, b, "", "")
		return
	}
	if !h.linkError(w, b, err) {
		return
	}
	h.render(w, http.StatusOK, "notice", pageData{
		Title: "Your account is ready", Brand: b,
		Message: "Your address is confirmed and your account is created. You can now sign in as " + rl.pending.Email + ".",
		Action:  "Go back to the application and sign in.",
	})
}
