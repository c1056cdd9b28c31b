package demoapp

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

func (a *app) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.home)
	mux.HandleFunc("GET /login", a.login)
	mux.HandleFunc("GET "+callbackPath, a.callback)
	mux.HandleFunc("GET /me", a.me)
	mux.HandleFunc("POST /refresh", a.refresh)
	mux.HandleFunc("GET /logout", a.logout)
	mux.HandleFunc("POST /logout", a.logout)
	return a.headers(mux)
}

// headers sets what every page needs: pages show claims, so nothing is
// cached; no framing; no referrer (the callback URL carries the code).
// form-action includes the issuer because the sign-in and sign-out forms
// end in redirects to it.
func (a *app) headers(next http.Handler) http.Handler {
	issuerOrigin := ""
	if u, err := url.Parse(a.cfg.Issuer); err == nil {
		issuerOrigin = " " + u.Scheme + "://" + u.Host
	}
	csp := "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'" + issuerOrigin + "; frame-ancestors 'none'; base-uri 'none'"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

func (a *app) home(w http.ResponseWriter, r *http.Request) {
	_, signedIn := a.session(r)
	a.render(w, http.StatusOK, "home", homeData{
		Issuer: a.cfg.Issuer, ClientID: a.cfg.ClientID, Hint: a.cfg.Organization, SignedIn: signedIn,
	})
}

// login starts the authorization code flow.
func (a *app) login(w http.ResponseWriter, r *http.Request) {
	d, err := a.discover(r.Context())
	if err != nil {
		a.issuerDown(w, err)
		return
	}
	p := pendingLogin{state: randomValue(), nonce: randomValue(), verifier: oauth2.GenerateVerifier()}
	opts := []oauth2.AuthCodeOption{oidc.Nonce(p.nonce), oauth2.S256ChallengeOption(p.verifier)}
	if hint := strings.TrimSpace(r.URL.Query().Get("hint")); strings.Contains(hint, "@") {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", hint))
	} else if hint != "" {
		opts = append(opts, oauth2.SetAuthURLParam("organization", hint))
	}
	id := a.logins.put(p)
	a.setCookie(w, loginCookie, id, loginLifetime)
	http.Redirect(w, r, d.oauth2.AuthCodeURL(p.state, opts...), http.StatusFound)
}

// callback receives the authorization response. The order matters: the
// response is only believed (even an error response) once it is known to
// answer our own request (state) from our issuer (iss, RFC 9207 section 2.4).
func (a *app) callback(w http.ResponseWriter, r *http.Request) {
	d, err := a.discover(r.Context())
	if err != nil {
		a.issuerDown(w, err)
		return
	}
	q := r.URL.Query()
	var p pendingLogin
	ok := false
	if c, err := r.Cookie(loginCookie); err == nil {
		p, ok = a.logins.take(c.Value)
	}
	a.clearCookie(w, loginCookie)
	if !ok {
		a.fail(w, http.StatusBadRequest, errorData{
			Title:   "This sign-in is unknown or expired",
			Message: "The demo application has no pending sign-in for this browser: it took longer than ten minutes, was already completed, or was started in another browser. Start again.",
		})
		return
	}
	if !equal(q.Get("state"), p.state) {
		a.fail(w, http.StatusBadRequest, errorData{
			Title:   "The state parameter does not match",
			Message: "The authorization response does not answer the sign-in this browser started, so it is ignored (this protects against cross-site request forgery). Start again.",
		})
		return
	}
	if iss, present := q["iss"]; present || d.issRequired {
		if !present || len(iss) != 1 || iss[0] != a.cfg.Issuer {
			a.fail(w, http.StatusBadRequest, errorData{
				Title: "The response comes from the wrong issuer",
				Message: "The iss parameter of the authorization response (RFC 9207) is " + describeIss(iss, present) +
					", not " + a.cfg.Issuer + ". The response is ignored: it may be a mix-up attack.",
			})
			return
		}
	}
	if e := q.Get("error"); e != "" {
		a.fail(w, http.StatusOK, errorData{
			Title:       "The issuer did not sign you in",
			Message:     "The issuer answered with an error instead of an authorization code.",
			Error:       e,
			Description: q.Get("error_description"),
		})
		return
	}
	code := q.Get("code")
	if code == "" {
		a.fail(w, http.StatusBadRequest, errorData{Title: "No authorization code", Message: "The authorization response carries neither a code nor an error."})
		return
	}
	ctx := a.clientContext(r.Context())
	tok, err := d.oauth2.Exchange(ctx, code, oauth2.VerifierOption(p.verifier))
	if err != nil {
		a.tokenError(w, "The code could not be exchanged for tokens", err)
		return
	}
	raw, claims, err := a.verifyIDToken(r, d, tok, p.nonce)
	if err != nil {
		a.fail(w, http.StatusBadGateway, errorData{Title: "The ID token is not valid", Message: err.Error()})
		return
	}
	id := a.sessions.put(userSession{token: tok, rawIDToken: raw, idClaims: claims})
	a.setCookie(w, sessionCookie, id, sessionMaxAge)
	http.Redirect(w, r, "/me", http.StatusSeeOther)
}

// verifyIDToken checks the ID token in tok: signature, issuer, audience,
// expiry (go-oidc), the nonce if want is not empty, and at_hash if present.
func (a *app) verifyIDToken(r *http.Request, d *discovered, tok *oauth2.Token, wantNonce string) (string, map[string]any, error) {
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return "", nil, errors.New("the token response has no id_token")
	}
	idt, err := d.verifier.Verify(a.clientContext(r.Context()), raw)
	if err != nil {
		return "", nil, err
	}
	if wantNonce != "" && !equal(idt.Nonce, wantNonce) {
		return "", nil, errors.New("the nonce of the ID token does not match the one sent with this sign-in")
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			return "", nil, err
		}
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return "", nil, err
	}
	return raw, claims, nil
}

// me shows what the application knows about the user.
func (a *app) me(w http.ResponseWriter, r *http.Request) {
	s, ok := a.session(r)
	if !ok {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	data := meData{
		IDToken:         claimRows(s.idClaims),
		AccessExpiry:    s.token.Expiry,
		AccessExpiresIn: s.token.Expiry.Sub(a.now()).Round(time.Second),
		RefreshToken:    fingerprint(s.token.RefreshToken),
		HasRefresh:      s.token.RefreshToken != "",
	}
	if rep := s.lastRefresh; rep != nil {
		data.Refresh = &refreshData{
			At: rep.at, Old: rep.oldRT, New: rep.newRT, Rotated: rep.rotated,
			NewIDToken: rep.newIDToken, PreviousATExpiry: rep.previousATExpiry,
		}
	}
	// Userinfo is fetched on every view: it shows what the issuer says now
	// (it re-checks the user, the organization and the sharing).
	if d, err := a.discover(r.Context()); err != nil {
		data.UserinfoError = "the issuer is unreachable: " + err.Error()
	} else if ui, err := d.provider.UserInfo(a.clientContext(r.Context()), oauth2.StaticTokenSource(s.token)); err != nil {
		data.UserinfoError = err.Error()
	} else {
		var c map[string]any
		if err := ui.Claims(&c); err != nil {
			data.UserinfoError = err.Error()
		} else {
			data.Userinfo = claimRows(c)
		}
	}
	a.render(w, http.StatusOK, "me", data)
}

// refresh uses the refresh token and records whether it rotated.
func (a *app) refresh(w http.ResponseWriter, r *http.Request) {
	a.refreshMu.Lock()
	defer a.refreshMu.Unlock()
	id, s, ok := a.sessionWithID(r)
	if !ok {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	if s.token.RefreshToken == "" {
		a.fail(w, http.StatusBadRequest, errorData{Title: "No refresh token", Message: "The issuer did not issue a refresh token (the offline_access scope was not granted)."})
		return
	}
	d, err := a.discover(r.Context())
	if err != nil {
		a.issuerDown(w, err)
		return
	}
	// A token with only the refresh token is never valid, so Token refreshes.
	tok, err := d.oauth2.TokenSource(a.clientContext(r.Context()), &oauth2.Token{RefreshToken: s.token.RefreshToken}).Token()
	if err != nil {
		a.tokenError(w, "The tokens could not be refreshed", err)
		return
	}
	rep := &refreshReport{
		at: a.now(), oldRT: fingerprint(s.token.RefreshToken), newRT: fingerprint(tok.RefreshToken),
		rotated: tok.RefreshToken != s.token.RefreshToken, previousATExpiry: s.token.Expiry,
	}
	next := userSession{token: tok, rawIDToken: s.rawIDToken, idClaims: s.idClaims, lastRefresh: rep}
	if _, present := tok.Extra("id_token").(string); present {
		// A refreshed ID token has no nonce (OIDC Core 12.2).
		raw, claims, err := a.verifyIDToken(r, d, tok, "")
		if err != nil {
			a.fail(w, http.StatusBadGateway, errorData{Title: "The refreshed ID token is not valid", Message: err.Error()})
			return
		}
		next.rawIDToken, next.idClaims, rep.newIDToken = raw, claims, true
	}
	a.sessions.set(id, next)
	http.Redirect(w, r, "/me", http.StatusSeeOther)
}

// logout ends the local session, then the issuer's (RP-initiated logout),
// which returns the browser to PostLogoutRedirectURL.
func (a *app) logout(w http.ResponseWriter, r *http.Request) {
	id, s, ok := a.sessionWithID(r)
	a.clearCookie(w, sessionCookie)
	if !ok {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	a.sessions.delete(id)
	d, err := a.discover(r.Context())
	if err != nil || d.endSession == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	u, err := url.Parse(d.endSession)
	if err != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	q := u.Query()
	q.Set("id_token_hint", s.rawIDToken)
	q.Set("client_id", a.cfg.ClientID)
	q.Set("post_logout_redirect_uri", a.cfg.PostLogoutRedirectURL)
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

func (a *app) session(r *http.Request) (userSession, bool) {
	_, s, ok := a.sessionWithID(r)
	return s, ok
}

func (a *app) sessionWithID(r *http.Request) (string, userSession, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return "", userSession{}, false
	}
	s, ok := a.sessions.get(c.Value)
	return c.Value, s, ok
}

func (a *app) setCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: int(maxAge.Seconds()),
		HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode,
	})
}

func (a *app) clearCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode,
	})
}

func (a *app) issuerDown(w http.ResponseWriter, err error) {
	a.fail(w, http.StatusServiceUnavailable, errorData{
		Title:   "The issuer is not reachable yet",
		Message: "The demo application could not read the issuer's discovery document at " + a.cfg.Issuer + "/.well-known/openid-configuration. If orgkeeper dev is still starting, wait for \"orgkeeper dev ready\" and reload this page.",
		Detail:  err.Error(),
	})
}

// tokenError shows an OAuth error from the token endpoint.
func (a *app) tokenError(w http.ResponseWriter, title string, err error) {
	data := errorData{Title: title, Message: "The issuer's token endpoint refused the request."}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		data.Error, data.Description = re.ErrorCode, re.ErrorDescription
		if data.Error == "" {
			data.Detail = err.Error()
		}
	} else {
		data.Message = "The issuer's token endpoint could not be reached."
		data.Detail = err.Error()
	}
	a.fail(w, http.StatusBadGateway, data)
}

func describeIss(iss []string, present bool) string {
	switch {
	case !present:
		return "missing although the issuer announces it"
	case len(iss) != 1:
		return "repeated"
	default:
		return "\"" + iss[0] + "\""
	}
}

func randomValue() string { return oauth2.GenerateVerifier() }
