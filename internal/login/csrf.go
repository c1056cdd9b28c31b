package login

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
)

// Cookie names. On https they carry the __Host- prefix, which makes the
// browser refuse them unless they are Secure, host-only and for path /.
const (
	// CSRFCookie holds the browser's random CSRF secret.
	CSRFCookie = "orgkeeper_csrf"
	// SessionCookie holds the login session ID (SSO).
	SessionCookie = "orgkeeper_session"
	// csrfField is the hidden form field with the CSRF token.
	csrfField = "csrf_token"
)

// SessionCookieName is the name of the SSO cookie on an https (secure) or
// plain-http issuer; the provider's end-session reads it.
func SessionCookieName(secure bool) string { return cookieName(SessionCookie, secure) }

func cookieName(base string, secure bool) string {
	if secure {
		return "__Host-" + base
	}
	return base
}

// csrfGuard implements signed double-submit tokens: the browser holds a
// random secret in an HttpOnly, SameSite=Lax cookie, and every form carries
// HMAC-SHA256(key, secret, auth request ID). A cross-site page can neither
// read the cookie nor compute the token, and a token is good only for the
// auth request it was issued for. The standard library's
// http.CrossOriginProtection (Sec-Fetch-Site / Origin) guards every POST
// as well.
type csrfGuard struct {
	key []byte
	// previous keys still validate tokens across a key rotation.
	previous [][]byte
	secure   bool
	name     string
}

func newCSRFGuard(key []byte, previous [][]byte, secure bool) csrfGuard {
	return csrfGuard{key: key, previous: previous, secure: secure, name: cookieName(CSRFCookie, secure)}
}

func (g csrfGuard) mac(secret, bind string) string { return csrfMAC(g.key, secret, bind) }

func csrfMAC(key []byte, secret, bind string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("orgkeeper login csrf\x00"))
	m.Write([]byte(secret))
	m.Write([]byte{0})
	m.Write([]byte(bind))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// token returns the form token for bind (the auth request ID), setting the
// CSRF cookie first when the browser has none.
func (g csrfGuard) token(w http.ResponseWriter, r *http.Request, bind string) (string, error) {
	if c, err := r.Cookie(g.name); err == nil && len(c.Value) == 43 {
		return g.mac(c.Value, bind), nil
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	secret := base64.RawURLEncoding.EncodeToString(b[:])
	http.SetCookie(w, &http.Cookie{
		Name:     g.name,
		Value:    secret,
		Path:     "/",
		HttpOnly: true,
		Secure:   g.secure,
		SameSite: http.SameSiteLaxMode,
	})
	// Make later calls in this request use the same secret.
	r.AddCookie(&http.Cookie{Name: g.name, Value: secret})
	return g.mac(secret, bind), nil
}

// valid reports whether the posted token matches the cookie for bind.
func (g csrfGuard) valid(r *http.Request, bind string) bool {
	c, err := r.Cookie(g.name)
	if err != nil || c.Value == "" {
		return false
	}
	got := r.PostFormValue(csrfField)
	if got == "" {
		return false
	}
	if hmac.Equal([]byte(got), []byte(g.mac(c.Value, bind))) {
		return true
	}
	for _, k := range g.previous {
		if hmac.Equal([]byte(got), []byte(csrfMAC(k, c.Value, bind))) {
			return true
		}
	}
	return false
}
