package oidc

import (
	"context"
	"crypto/rand"
	"net/http"

	"github.com/orgkeeper/orgkeeper/internal/session"
)

// Browser binding. The auth request ID travels in URLs, logs and Referer
// headers, so it must not be enough to finish a sign-in: /authorize gives
// the browser a random secret in an HttpOnly cookie and keeps only its hash
// in the auth request (session.AuthRequest.BrowserBinding). The login pages
// and the callback serve the request only to the browser that holds the
// secret; the callback also requires that browser's SSO cookie to be the
// login session that completed the request.
//
// The secret is per browser, not per request: a browser keeps its value
// across /authorize calls (each refreshes the cookie's lifetime), so two
// sign-ins in two tabs do not overwrite each other.

// bindingSecretLen is the length of a session.NewSecret value.
const bindingSecretLen = 43

type bindingCtxKey struct{}

func withBrowserBinding(ctx context.Context, hash string) context.Context {
	return context.WithValue(ctx, bindingCtxKey{}, hash)
}

func browserBindingFrom(ctx context.Context) string {
	s, _ := ctx.Value(bindingCtxKey{}).(string)
	return s
}

// bindBrowser returns the hash of the browser's binding secret, and sets
// (or refreshes) the cookie holding it. A browser without a well-formed
// secret gets a new one.
func (h *handler) bindBrowser(w http.ResponseWriter, r *http.Request) (string, error) {
	secret := ""
	if c, err := r.Cookie(h.bindingCookie); err == nil && len(c.Value) == bindingSecretLen {
		secret = c.Value
	}
	if secret == "" {
		s, err := session.NewSecret(rand.Reader)
		if err != nil {
			return "", err
		}
		secret = s
	}
	http.SetCookie(w, &http.Cookie{
		Name:     h.bindingCookie,
		Value:    secret,
		Path:     "/",
		MaxAge:   int(h.storage.cfg.AuthRequestLifetime.Seconds()),
		HttpOnly: true,
		Secure:   h.secure,
		SameSite: http.SameSiteLaxMode,
	})
	return session.HashSecret(secret), nil
}

// fromStartingBrowser reports whether r comes from the browser that started
// ar at /authorize and, once the request is done, carries the SSO cookie of
// the login session that completed it.
func (h *handler) fromStartingBrowser(r *http.Request, ar session.AuthRequest) bool {
	c, err := r.Cookie(h.bindingCookie)
	if err != nil || !session.MatchSecret(c.Value, ar.BrowserBinding) {
		return false
	}
	if !ar.Done || h.cookie == "" {
		return true
	}
	s, err := r.Cookie(h.cookie)
	return err == nil && session.MatchSecret(s.Value, ar.LoginSessionID)
}

// wrongBrowser is the default Config.WrongBrowser.
func wrongBrowser(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, "This sign-in was started in another browser. Go back to the application and sign in again from this browser.", http.StatusForbidden)
}
