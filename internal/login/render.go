package login

import (
	"bytes"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"
)

//go:embed templates/pages.html templates/onboarding.html templates/selfregistration.html templates/login.css
var assets embed.FS

var (
	pages      = template.Must(template.ParseFS(assets, "templates/pages.html", "templates/onboarding.html", "templates/selfregistration.html"))
	stylesheet = template.CSS(mustRead("templates/login.css"))
)

func mustRead(name string) string {
	b, err := assets.ReadFile(name)
	if err != nil {
		panic(err) // embedded at build time: cannot happen
	}
	return string(b)
}

// pageData is what every template gets.
type pageData struct {
	Title      string
	Nonce      string
	Stylesheet template.CSS
	Brand      brand
	AppName    string

	// Forms.
	AuthRequestID string
	CSRF          string
	Username      string
	AskOrg        bool
	Organization  string
	Error         string
	// Providers are the upstream identity providers' buttons; NoPassword
	// hides the password form when the organization turned it off.
	Providers  []providerButton
	NoPassword bool

	// Onboarding pages (onboarding.go): the form's route and the link's
	// token, posted back with the form.
	FormAction string
	Token      string
	// ResetURL is the password page's "Forgot password?" link, if offered.
	ResetURL template.URL
	// RegisterURL is the password page's "Create account" link, if offered
	// (selfregistration.go).
	RegisterURL template.URL
	// DisplayName is the name field of the registration form.
	DisplayName string

	// Error pages.
	Message     string
	Action      string
	ContinueURL template.URL
}

// AppNameOr is the application's name, or a generic one.
func (p pageData) AppNameOr() string {
	if p.AppName != "" {
		return p.AppName
	}
	return "the application"
}

// setSecurityHeaders applies to every response of the handler. Styles are
// allowed only from the element carrying nonce; there is no script at all.
// form-action is left out on purpose: browsers apply it to the redirects
// that follow a form post, and the sign-in ends with a redirect to the
// client's redirect URI on another origin.
func setSecurityHeaders(w http.ResponseWriter, nonce string) {
	h := w.Header()
	style := "'none'"
	if nonce != "" {
		style = "'nonce-" + nonce + "'"
	}
	h.Set("Content-Security-Policy", "default-src 'none'; style-src "+style+"; img-src https: data:; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
}

func newNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// render writes a page with its security headers. The page is rendered to
// a buffer first, so that a template error becomes a plain 500, never half
// a page.
func (h *Handler) render(w http.ResponseWriter, status int, name string, d pageData) {
	d.Nonce = newNonce()
	d.Stylesheet = stylesheet
	var buf bytes.Buffer
	if err := h.pages.ExecuteTemplate(&buf, name, d); err != nil {
		h.cfg.Log.Error(err, "rendering login page", "template", name)
		setSecurityHeaders(w, "")
		http.Error(w, "Sign-in is unavailable. Please try again later.", http.StatusInternalServerError)
		return
	}
	setSecurityHeaders(w, d.Nonce)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// problem is one kind of branded error page.
type problem int

const (
	problemUnknownRequest problem = iota
	problemUnknownOrg
	problemSuspended
	problemNotShared
	problemTooManyAttempts
	problemForbidden // CSRF
	problemDisabled
	problemNoMethod
	problemUnavailable
	problemWrongBrowser
	problemMFARequired
)

// problemText is an error page's status code and words.
type problemText struct {
	status               int
	title, message, what string
}

var problems = map[problem]problemText{
	problemUnknownRequest: {http.StatusBadRequest, "This sign-in link has expired",
		"The sign-in request is unknown or has expired.",
		"Go back to the application and start signing in again."},
	problemUnknownOrg: {http.StatusNotFound, "Unknown organization",
		"The application asked to sign you in to an organization that does not exist here.",
		"Check the link you followed, or ask the application's support for the right one."},
	problemSuspended: {http.StatusForbidden, "Organization suspended",
		"Sign-in is suspended for this organization.",
		"Contact your organization's administrator."},
	problemNotShared: {http.StatusForbidden, "No access to this application",
		"This application is not available to members of this organization.",
		"Ask your organization's administrator to request access, or sign in with another organization."},
	problemTooManyAttempts: {http.StatusTooManyRequests, "Too many attempts",
		"Sign-in is temporarily blocked after too many failed attempts.",
		"Wait %d minutes and try again. If you have forgotten your password, ask your organization's administrator to reset it."},
	problemForbidden: {http.StatusForbidden, "Request refused",
		"The form could not be accepted because it was not sent from this sign-in page, or the page was open too long.",
		"Go back to the application and start signing in again. Make sure cookies are enabled."},
	problemDisabled: {http.StatusForbidden, "Account disabled",
		"Your account is disabled.",
		"Contact your organization's administrator."},
	problemNoMethod: {http.StatusForbidden, "No sign-in method available",
		"This organization does not allow password sign-in, and its other sign-in methods are not available here yet.",
		"Contact your organization's administrator."},
	problemWrongBrowser: {http.StatusForbidden, "This sign-in was started in another browser",
		"For your security, a sign-in can only be completed in the browser where it began. This link was opened somewhere else, or this browser's cookies were cleared.",
		"Go back to the application in this browser and start signing in again. If someone sent you this link, do not sign in with it."},
	problemMFARequired: {http.StatusForbidden, "Two-step verification required",
		"Your organization requires a second step (such as an authenticator app) to sign in, and it is not available here yet. A password alone is not enough.",
		"Contact your organization's administrator."},
	problemUnavailable: {http.StatusServiceUnavailable, "Sign-in is starting",
		"Sign-in is not ready yet.",
		"Wait a moment and reload this page."},
}

// renderProblem writes a branded error page: what went wrong and what to do,
// never internal detail. continueURL, if set, returns an OAuth error to the
// client.
func (h *Handler) renderProblem(w http.ResponseWriter, p problem, b brand, appName, continueURL string) {
	pr := problems[p]
	if p == problemTooManyAttempts {
		// Say the lock duration this server is configured with.
		pr.what = fmt.Sprintf(pr.what, max(1, int(h.throttle.LockDuration.Round(time.Minute)/time.Minute)))
	}
	h.render(w, pr.status, "error", pageData{
		Title:   pr.title,
		Brand:   b,
		AppName: appName,
		Message: pr.message,
		Action:  pr.what,
		// The URL is the client's registered redirect URI (checked by the
		// provider at /authorize) with our query; template.URL keeps
		// custom schemes of native apps.
		ContinueURL: template.URL(safeRedirect(continueURL)),
	})
}

// safeRedirect drops URLs with a scheme that runs code in the page.
func safeRedirect(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	switch strings.ToLower(u.Scheme) {
	case "javascript", "data", "vbscript", "file":
		return ""
	}
	return s
}
