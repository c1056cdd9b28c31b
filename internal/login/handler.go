package login

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"

	"github.com/orgkeeper/orgkeeper/internal/session"
)

// Routes, all under /login.
const (
	// PathStart is where the provider sends the browser:
	// /login?authRequestID=<id>. It shows the step the sign-in is at.
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
	mux.HandleFunc("POST "+PathUpstream, h.postUpstream)
	mux.HandleFunc("GET "+PathUpstreamCallback, h.upstreamCallback)
	mux.HandleFunc("GET "+PathInvitation, h.showLink(LinkInvitation))
	mux.HandleFunc("POST "+PathInvitation, h.postLink(LinkInvitation))
	mux.HandleFunc("POST "+PathInvitationUpstream, h.postInvitationUpstream)
	mux.HandleFunc("GET "+PathReset, h.showReset)
	mux.HandleFunc("POST "+PathReset, h.postReset)
	mux.HandleFunc("GET "+PathResetConfirm, h.showLink(LinkReset))
	mux.HandleFunc("POST "+PathResetConfirm, h.postLink(LinkReset))
	h.registrationRoutes(mux)
	h.signupRoutes(mux)
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
	// username is what the browser typed or the client hinted, to prefill
	// the next page; it is not part of the auth request.
	username string
}

// org is the organization the auth request has recorded, if it is served.
func (f *flow) org() (orgView, bool) {
	if f.ar.Organization == "" {
		return orgView{}, false
	}
	return f.dir.org(f.ar.Organization)
}

// load finds the auth request and its client in the current snapshot, and
// checks that the browser is the one that started the request. On failure
// it has written the error page.
func (h *Handler) load(w http.ResponseWriter, r *http.Request, id string) (*flow, bool) {
	if id == "" {
		h.renderProblem(w, problemUnknownRequest, neutralBrand(), "", "")
		return nil, false
	}
	ar, err := h.cfg.Sessions.GetAuthRequest(r.Context(), id)
	if err != nil {
		if !errors.Is(err, session.ErrNotFound) {
			h.cfg.Log.Error(err, "reading auth request")
		}
		h.renderProblem(w, problemUnknownRequest, neutralBrand(), "", "")
		return nil, false
	}
	if !h.boundBrowser(r, ar) {
		h.WrongBrowser(w, r)
		return nil, false
	}
	if ar.Done {
		// Already signed in (a second tab, a reload): finish.
		http.Redirect(w, r, h.cfg.CallbackURL(r.Context(), ar.ID), http.StatusSeeOther)
		return nil, false
	}
	dir := directory{h.cfg.Snapshots.Load()}
	if !dir.ready() {
		h.renderProblem(w, problemUnavailable, neutralBrand(), "", "")
		return nil, false
	}
	app, ok := dir.client(ar.ClientID)
	if !ok {
		h.renderProblem(w, problemUnknownRequest, neutralBrand(), "", "")
		return nil, false
	}
	return &flow{ar: ar, dir: dir, appName: app, username: ar.LoginHint}, true
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

// posted is parsePost and load: the sign-in a posted form belongs to, checked
// as every form of the login pages is (CSRF, the browser that began it).
func (h *Handler) posted(w http.ResponseWriter, r *http.Request) (*flow, bool) {
	id, ok := h.parsePost(w, r)
	if !ok {
		return nil, false
	}
	return h.load(w, r, id)
}

// loadPost is posted for the form of step s. A form posted for
// a step the sign-in is no longer at (a stale tab, a crafted post) does not
// act: the browser is sent to the step it is at.
func (h *Handler) loadPost(w http.ResponseWriter, r *http.Request, s step) (*flow, bool) {
	f, ok := h.posted(w, r)
	if !ok {
		return nil, false
	}
	if at := f.step(); at != s {
		http.Redirect(w, r, PathStart+"?authRequestID="+url.QueryEscape(f.ar.ID), http.StatusSeeOther)
		return nil, false
	}
	return f, true
}

// start is GET /login?authRequestID=: it shows the step the sign-in is at.
func (h *Handler) start(w http.ResponseWriter, r *http.Request) {
	f, ok := h.load(w, r, r.URL.Query().Get("authRequestID"))
	if !ok {
		return
	}
	h.advance(w, r, f)
}

// update applies change to the auth request and keeps the result in f. On
// failure it has written the error page.
func (h *Handler) update(w http.ResponseWriter, r *http.Request, f *flow, doing string, change func(*session.AuthRequest)) bool {
	ar, err := h.cfg.Sessions.UpdateAuthRequest(r.Context(), f.ar.ID, func(a *session.AuthRequest) error {
		if a.Done {
			return errAlreadyDone
		}
		change(a)
		return nil
	})
	if errors.Is(err, errAlreadyDone) {
		http.Redirect(w, r, h.cfg.CallbackURL(r.Context(), f.ar.ID), http.StatusSeeOther)
		return false
	}
	if err != nil {
		h.storeError(w, err, doing)
		return false
	}
	f.ar = ar
	return true
}

var errAlreadyDone = errors.New("the auth request is already done")

// refuse ends the auth request on a branded page that offers the way back
// to the client with an OAuth error (access_denied).
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, f *flow, p problem, b brand, description string) {
	back := h.errorRedirect(r.Context(), f.ar, "access_denied", description)
	if err := session.FinishAuthRequest(r.Context(), h.cfg.Sessions, f.ar.ID); err != nil {
		h.cfg.Log.Error(err, "deleting refused auth request")
	}
	h.renderProblem(w, p, b, f.appName, back)
}

// errorRedirect is Config.ErrorRedirect, or "" (no way back) when the
// client as now served no longer accepts the auth request's redirect URI
// (snapshot.Client.AcceptsRedirectURI, the rule of /authorize): the
// request may be older than the application's change, and a URI the
// application removed is not trusted with anything, an error included.
func (h *Handler) errorRedirect(ctx context.Context, ar session.AuthRequest, code, description string) string {
	if !h.cfg.Snapshots.Load().Client(ar.ClientID).AcceptsRedirectURI(ar.RedirectURI) {
		return ""
	}
	return h.cfg.ErrorRedirect(ctx, ar, code, description)
}

// redirectError sends an OAuth error straight back to the client (used for
// prompt=none, where no page may be shown).
func (h *Handler) redirectError(w http.ResponseWriter, r *http.Request, ar session.AuthRequest, code, description string) {
	back := h.errorRedirect(r.Context(), ar, code, description)
	if back == "" {
		h.renderProblem(w, problemUnknownRequest, neutralBrand(), "", "")
		return
	}
	if err := session.FinishAuthRequest(r.Context(), h.cfg.Sessions, ar.ID); err != nil {
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

func (h *Handler) renderIdentifier(w http.ResponseWriter, r *http.Request, f *flow, username, handle string, askOrg bool, msg string) {
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

func (h *Handler) renderPassword(w http.ResponseWriter, r *http.Request, f *flow, b brand, username, msg string) {
	token, err := h.csrf.token(w, r, f.ar.ID)
	if err != nil {
		h.storeError(w, err, "making a CSRF token")
		return
	}
	h.render(w, http.StatusOK, "password", pageData{
		Title: "Sign in", Brand: b, AppName: f.appName,
		AuthRequestID: f.ar.ID, CSRF: token, Username: username, Error: msg,
		Providers: h.providerButtons(f), NoPassword: !h.passwordOffered(f),
		ResetURL: h.resetLink(f), RegisterURL: h.registerLink(f),
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

func hasPrompt(ar session.AuthRequest, p string) bool { return slices.Contains(ar.Prompt, p) }
