package login

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/orgkeeper/orgkeeper/internal/credentials"
	"github.com/orgkeeper/orgkeeper/internal/mail"
	"github.com/orgkeeper/orgkeeper/internal/validation"
)

// Self-service signup of organizations (the root's spec.selfService): a
// business fills in /signup, confirms its admin's address from a mailed
// link, and the organization is created under the root with that person as
// its admin. Until the link is followed nothing exists but a pending
// record in the system namespace (internal/apiwrite/signup.go), which
// expires.

// Routes of the signup pages. They are outside /login, so the server
// mounts them too (server.go).
const (
	// PathSignup shows and receives the signup form.
	PathSignup = "/signup"
	// PathSignupConfirm is where the mailed link leads; GET shows a
	// button (mail scanners that follow links create nothing), POST
	// creates the organization.
	PathSignupConfirm = mail.PathSignupConfirm
)

// SignupSettings are the root organization's spec.selfService.
type SignupSettings struct {
	// Enabled is spec.selfService.enabled.
	Enabled bool
	// Root is the root organization's handle; Manual is approval Manual.
	Root   string
	Manual bool
}

// SignupRequest is a signup form that passed every check, to be kept
// until its link is followed.
type SignupRequest struct {
	DisplayName, Handle string
	AdminName, Email    string
	// PasswordHash is the argon2id hash of the admin's password: the
	// plain text is never stored.
	PasswordHash string
	// TokenHash is the stored form of the link's token; Link is mailed.
	TokenHash, Link string
	ExpiresAt       time.Time
	// Root is the organization the message is sent for (its branding).
	Root string
}

// SignupResult is what a completed signup created.
type SignupResult struct {
	Handle, DisplayName, Email string
	// Pending is true when the organization waits for a root admin's
	// approval (approval Manual).
	Pending bool
}

// Errors of Signups besides ErrLinkInvalid and ErrLinkExpired.
var (
	// ErrHandleTaken: an organization or namespace of that name exists
	// (or the name is reserved).
	ErrHandleTaken = errors.New("the handle is taken")
	// ErrSignupBusy: the installation creates organizations at a bounded
	// rate, which is used up for now; the link still works later.
	ErrSignupBusy = errors.New("too many organizations are being created")
	// ErrSignupInProgress: the organization exists but is not ready for its
	// admin yet; following the link again finishes it.
	ErrSignupInProgress = errors.New("the organization is still being set up")
)

// Signups keeps pending signups and creates their organizations
// (internal/apiwrite implements it).
type Signups interface {
	// SignupSettings reads the root's spec.selfService.
	SignupSettings(ctx context.Context) (SignupSettings, error)
	// HandleAvailable is nil, ErrHandleTaken, or an error when it cannot
	// tell.
	HandleAvailable(ctx context.Context, handle string) error
	// StartSignup stores the pending signup and queues its mail.
	StartSignup(ctx context.Context, r SignupRequest) error
	// CheckSignup reports whether the token is a pending signup's: nil,
	// ErrLinkInvalid or ErrLinkExpired.
	CheckSignup(ctx context.Context, token string) error
	// CompleteSignup creates the organization and its admin, idempotently:
	// a retry after any failure carries on where the last attempt stopped.
	CompleteSignup(ctx context.Context, token string) (SignupResult, error)
}

// SignupConfig turns the signup pages on.
type SignupConfig struct {
	// Signups is the backend; nil serves the pages as "not available".
	Signups Signups
	// TTL is how long a signup link works; default DefaultSignupTTL.
	TTL time.Duration
}

// DefaultSignupTTL is how long an organization signup link works.
const DefaultSignupTTL = 24 * time.Hour

// Bounds of the signup form.
const (
	maxSignupDisplayName = 128
	maxSignupAdminName   = 128
	maxPasswordParam     = 1024
)

//go:embed templates/signup.html
var signupAssets embed.FS

var signupPages = template.Must(template.Must(pages.Clone()).ParseFS(signupAssets, "templates/signup.html"))

// signupData is the signup pages' data: the form's values.
type signupData struct {
	pageData
	DisplayName, Handle, AdminName, Email string
}

// signupToken is the shape of a signup link's token: NewToken's, with
// "signup" where a user ID would be.
const signupTokenPrefix = "signup"

func validSignupToken(t string) bool {
	id, err := credentials.TokenUser(t)
	return err == nil && id == signupTokenPrefix
}

func (h *Handler) signupRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+PathSignup, h.showSignup)
	mux.HandleFunc("POST "+PathSignup, h.postSignup)
	mux.HandleFunc("GET "+PathSignupConfirm, h.showSignupConfirm)
	mux.HandleFunc("POST "+PathSignupConfirm, h.postSignupConfirm)
}

func (h *Handler) renderSignup(w http.ResponseWriter, status int, name string, d signupData) {
	d.Nonce = newNonce()
	d.Stylesheet = stylesheet
	var buf strings.Builder
	if err := signupPages.ExecuteTemplate(&buf, name, d); err != nil {
		h.cfg.Log.Error(err, "rendering signup page", "template", name)
		h.renderProblem(w, problemUnavailable, neutralBrand(), "", "")
		return
	}
	setSecurityHeaders(w, d.Nonce)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(buf.String()))
}

// signupOn reads the settings; when signup is off it has written the page.
func (h *Handler) signupOn(w http.ResponseWriter, r *http.Request) (SignupSettings, brand, bool) {
	s := h.cfg.Signup.Signups
	if s == nil {
		h.renderProblem(w, problemSignupOff, neutralBrand(), "", "")
		return SignupSettings{}, brand{}, false
	}
	set, err := s.SignupSettings(r.Context())
	if err != nil {
		h.cfg.Log.Error(err, "reading the self-service settings")
		h.renderProblem(w, problemUnavailable, neutralBrand(), "", "")
		return set, brand{}, false
	}
	if !set.Enabled {
		h.renderProblem(w, problemSignupOff, neutralBrand(), "", "")
		return set, brand{}, false
	}
	b := neutralBrand()
	if d := (directory{h.cfg.Snapshots.Load()}); d.ready() {
		if o, ok := d.org(set.Root); ok {
			b = brandFor(o)
		}
	}
	return set, b, true
}

func (h *Handler) showSignup(w http.ResponseWriter, r *http.Request) {
	_, b, ok := h.signupOn(w, r)
	if !ok {
		return
	}
	h.renderSignupForm(w, r, b, signupData{}, "")
}

func (h *Handler) renderSignupForm(w http.ResponseWriter, r *http.Request, b brand, d signupData, msg string) {
	token, err := h.csrf.token(w, r, "signup")
	if err != nil {
		h.storeError(w, err, "making a CSRF token")
		return
	}
	d.Brand, d.CSRF, d.Error, d.FormAction = b, token, msg, PathSignup
	d.Title = "Sign up your organization"
	status := http.StatusOK
	if msg != "" {
		status = http.StatusUnprocessableEntity
	}
	h.renderSignup(w, status, "signup", d)
}

// signupFormProblem checks the form's fields; "" means they are fine.
func signupFormProblem(d signupData, password, confirm string) string {
	switch {
	case strings.TrimSpace(d.DisplayName) == "" || strings.TrimSpace(d.AdminName) == "" || d.Handle == "" || d.Email == "" || password == "":
		return "Fill in every field."
	case utf8.RuneCountInString(d.DisplayName) > maxSignupDisplayName || strings.ContainsAny(d.DisplayName, "\r\n\t"):
		return "The organization's name must be one line of at most 128 characters."
	case utf8.RuneCountInString(d.AdminName) > maxSignupAdminName || strings.ContainsAny(d.AdminName, "\r\n\t"):
		return "Your name must be one line of at most 128 characters."
	case len(password) > maxPasswordParam:
		return "The password is too long."
	case password != confirm:
		return "The two passwords are not the same. Type the password twice."
	}
	if err := validation.OrganizationName(d.Handle); err != nil {
		return "The handle cannot be used: " + err.Error() + "."
	}
	if err := validation.Email(d.Email); err != nil || !mailableAddress(d.Email) {
		return "Enter a valid email address, such as ann@example.com."
	}
	local, _, _ := strings.Cut(d.Email, "@")
	return credentials.PasswordProblem(password, d.Email, local, d.AdminName, d.Handle, d.DisplayName)
}

func (h *Handler) postSignup(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil || !h.csrf.valid(r, "signup") {
		h.renderProblem(w, problemForbidden, neutralBrand(), "", "")
		return
	}
	set, b, ok := h.signupOn(w, r)
	if !ok {
		return
	}
	lim := h.mailLimits
	if h.overLimit(r.Context(), h.addressKey("signup-ip:", r), lim.PerAddress, lim.Window) {
		h.renderProblem(w, problemTooManyRequests, b, "", "")
		return
	}
	d := signupData{
		DisplayName: strings.TrimSpace(r.PostFormValue("displayName")),
		Handle:      strings.TrimSpace(r.PostFormValue("handle")),
		AdminName:   strings.TrimSpace(r.PostFormValue("adminName")),
		Email:       strings.TrimSpace(r.PostFormValue("email")),
	}
	password, confirm := r.PostFormValue("password"), r.PostFormValue("confirm")
	if msg := signupFormProblem(d, password, confirm); msg != "" {
		h.renderSignupForm(w, r, b, d, msg)
		return
	}
	switch err := h.cfg.Signup.Signups.HandleAvailable(r.Context(), d.Handle); {
	case errors.Is(err, ErrHandleTaken):
		h.renderSignupForm(w, r, b, d, "The handle "+d.Handle+" is taken. Choose another one.")
		return
	case err != nil:
		h.cfg.Log.Error(err, "checking a signup handle")
		h.renderProblem(w, problemUnavailable, b, "", "")
		return
	}
	// One recipient gets at most PerRecipient messages a window, whoever
	// asks; the page says the same either way, so that it tells nothing of
	// who signed up before.
	sendMail := !h.overLimit(r.Context(), "signup-to:"+strings.ToLower(d.Email), lim.PerRecipient, lim.Window)
	if sendMail {
		hash, err := h.hash(r.Context(), password)
		if err != nil {
			if r.Context().Err() == nil {
				h.cfg.Log.Error(err, "hashing a signup password")
				h.renderProblem(w, problemUnavailable, b, "", "")
			}
			return
		}
		ttl := h.cfg.Signup.TTL
		if ttl <= 0 {
			ttl = DefaultSignupTTL
		}
		token, tokenHash := credentials.NewToken(signupTokenPrefix)
		req := SignupRequest{DisplayName: d.DisplayName, Handle: d.Handle, AdminName: d.AdminName, Email: d.Email,
			PasswordHash: hash, TokenHash: tokenHash, Link: signupLink(h.cfg.Issuer, token),
			ExpiresAt: h.cfg.Now().Add(ttl), Root: set.Root}
		if err := h.cfg.Signup.Signups.StartSignup(r.Context(), req); err != nil {
			h.cfg.Log.Error(err, "storing a signup")
			h.renderProblem(w, problemUnavailable, b, "", "")
			return
		}
	}
	h.renderSignup(w, http.StatusOK, "notice", signupData{pageData: pageData{Brand: b, Title: "Check your email",
		Message: "We sent a link to " + d.Email + ". Open it to confirm your address and create " + d.DisplayName + ".",
		Action:  "The link works once. If no message arrives within a few minutes, look in your spam folder, or sign up again later."}})
}

// signupLink is the mailed URL: <issuer>/signup/confirm?token=<token>.
func signupLink(issuer, token string) string {
	return strings.TrimSuffix(issuer, "/") + PathSignupConfirm + "?token=" + token
}

// signupLinkOK checks the budget and the token's shape and state; on
// failure it has written the page.
func (h *Handler) signupLinkOK(w http.ResponseWriter, r *http.Request, b brand, token string) bool {
	lim := h.mailLimits
	if h.overLimit(r.Context(), h.addressKey("link-ip:", r), lim.LinkAttempts, lim.Window) {
		h.renderProblem(w, problemTooManyRequests, b, "", "")
		return false
	}
	if !validSignupToken(token) {
		h.renderProblem(w, problemSignupLinkInvalid, b, "", "")
		return false
	}
	return h.signupLinkError(w, b, h.cfg.Signup.Signups.CheckSignup(r.Context(), token))
}

func (h *Handler) signupLinkError(w http.ResponseWriter, b brand, err error) bool {
	switch {
	case err == nil:
		return true
	case errors.Is(err, ErrLinkExpired):
		h.renderProblem(w, problemSignupLinkExpired, b, "", "")
	case errors.Is(err, ErrLinkInvalid):
		h.renderProblem(w, problemSignupLinkInvalid, b, "", "")
	case errors.Is(err, ErrHandleTaken):
		h.renderProblem(w, problemSignupHandleTaken, b, "", "")
	case errors.Is(err, ErrSignupBusy):
		h.renderProblem(w, problemSignupBusy, b, "", "")
	case errors.Is(err, ErrSignupInProgress):
		h.renderProblem(w, problemSignupInProgress, b, "", "")
	default:
		h.cfg.Log.Error(err, "completing a signup")
		h.renderProblem(w, problemSignupUnavailable, b, "", "")
	}
	return false
}

func (h *Handler) showSignupConfirm(w http.ResponseWriter, r *http.Request) {
	_, b, ok := h.signupOn(w, r)
	if !ok {
		return
	}
	token := r.URL.Query().Get("token")
	if !h.signupLinkOK(w, r, b, token) {
		return
	}
	csrf, err := h.csrf.token(w, r, linkBind(token))
	if err != nil {
		h.storeError(w, err, "making a CSRF token")
		return
	}
	h.renderSignup(w, http.StatusOK, "signup-confirm", signupData{pageData: pageData{Brand: b, CSRF: csrf, Token: token,
		Title: "Create your organization", FormAction: PathSignupConfirm, Action: "Create the organization"}})
}

func (h *Handler) postSignupConfirm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		h.renderProblem(w, problemForbidden, neutralBrand(), "", "")
		return
	}
	token := r.PostFormValue("token")
	if len(token) > credentials.MaxTokenLength || !h.csrf.valid(r, linkBind(token)) {
		h.renderProblem(w, problemForbidden, neutralBrand(), "", "")
		return
	}
	_, b, ok := h.signupOn(w, r)
	if !ok || !h.signupLinkOK(w, r, b, token) {
		return
	}
	res, err := h.cfg.Signup.Signups.CompleteSignup(r.Context(), token)
	if !h.signupLinkError(w, b, err) {
		return
	}
	d := signupData{pageData: pageData{Brand: b, Title: res.DisplayName + " is created"}}
	if res.Pending {
		d.Message = "Your organization " + res.Handle + " is created and waits for approval. You will be able to sign in as " + res.Email + " once it is approved."
		d.Action = "You do not need to do anything else now."
	} else {
		d.Message = "Your organization " + res.Handle + " is ready. You can now sign in as " + res.Email + " with the password you chose."
		d.Action = "Choose " + res.Handle + " as your organization when you sign in to an application."
	}
	h.renderSignup(w, http.StatusOK, "notice", d)
}

// Signup problems.
const (
	problemSignupOff problem = 400 + iota
	problemSignupLinkInvalid
	problemSignupLinkExpired
	problemSignupHandleTaken
	problemSignupBusy
	problemSignupInProgress
	problemSignupUnavailable
)

func init() {
	problems[problemSignupOff] = problemText{http.StatusNotFound, "Signup is not available",
		"This server does not offer self-service signup of organizations.",
		"Contact the provider of the service to have an organization set up for you."}
	problems[problemSignupLinkInvalid] = problemText{http.StatusBadRequest, "This link is not valid",
		"The signup link is incomplete, was already used, or is not one this server sent. Nothing was created.",
		"If your organization was created with this link, sign in. Otherwise sign up again."}
	problems[problemSignupLinkExpired] = problemText{http.StatusGone, "This link has expired",
		"The signup link is no longer valid. Nothing was created.",
		"Sign up again to receive a new link."}
	problems[problemSignupHandleTaken] = problemText{http.StatusConflict, "The handle is taken",
		"Another organization took this handle after you signed up. Nothing was created.",
		"Sign up again with another handle."}
	problems[problemSignupBusy] = problemText{http.StatusServiceUnavailable, "Please try again later",
		"Many organizations are being created right now. Nothing was created yet, and your link still works.",
		"Open the link again in a few minutes."}
	problems[problemSignupInProgress] = problemText{http.StatusAccepted, "Almost done",
		"Your organization is being set up. Your link still works.",
		"Open the link again in a minute to finish."}
	problems[problemSignupUnavailable] = problemText{http.StatusServiceUnavailable, "Signup is unavailable",
		"The organization could not be created right now. Nothing was left half-done, and your link still works.",
		"Open the link again in a few minutes."}
}
