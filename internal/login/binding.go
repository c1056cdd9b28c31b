package login

import (
	"net/http"

	"github.com/orgkeeper/orgkeeper/internal/session"
)

// BindingCookie holds the secret that binds auth requests to the browser
// that started them. The provider sets it at /authorize and keeps its hash
// in session.AuthRequest.BrowserBinding; every login step requires it, and
// so does the provider's callback. Without it, the auth request ID (which
// travels in URLs, logs and Referer headers) would let another browser
// finish the sign-in: an attacker starts /authorize, sends the victim the
// /login link, and fetches the callback once the victim has signed in.
const BindingCookie = "orgkeeper_authreq"

// BindingCookieName is the binding cookie's name on an https (secure) or
// plain-http issuer; the provider sets and checks the same cookie.
func BindingCookieName(secure bool) string { return cookieName(BindingCookie, secure) }

// boundBrowser reports whether r comes from the browser that started ar.
func (h *Handler) boundBrowser(r *http.Request, ar session.AuthRequest) bool {
	c, err := r.Cookie(h.bindCookie)
	return err == nil && session.MatchSecret(c.Value, ar.BrowserBinding)
}

// WrongBrowser is the page for a sign-in link opened in a browser that did
// not start the sign-in. The provider's callback serves it too
// (oidc.Config.WrongBrowser). It offers no way on: the auth request belongs
// to the other browser.
func (h *Handler) WrongBrowser(w http.ResponseWriter, _ *http.Request) {
	h.renderProblem(w, problemWrongBrowser, neutralBrand(), "", "")
}
