package login

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"net/url"
	"sort"
)

// The logout confirmation page. The provider's end_session endpoint shows
// it for requests without an id_token_hint (any page can send a browser
// there) and ends the session only when its form comes back, from this
// browser, with a valid CSRF token.

//go:embed templates/logout.html
var logoutAssets embed.FS

var logoutPages = template.Must(template.Must(pages.Clone()).ParseFS(logoutAssets, "templates/logout.html"))

// logoutData is the confirmation page's data: the common page data and
// the hidden fields the form posts back.
type logoutData struct {
	pageData
	FormAction string
	Fields     []hiddenField
}

type hiddenField struct{ Name, Value string }

// logoutBinding is what a logout form's CSRF token is bound to: the
// request it confirms, so that a token is good for that one request only,
// and never for a sign-in form.
func logoutBinding(fields url.Values) string {
	f := url.Values{}
	for k, vs := range fields {
		if k != csrfField {
			f[k] = vs
		}
	}
	return "logout\x00" + f.Encode()
}

// ConfirmLogout writes the confirmation page: a plain form, without
// script, that posts fields back to action with a CSRF token
// (oidc.LogoutConfirmer).
func (h *Handler) ConfirmLogout(w http.ResponseWriter, r *http.Request, action string, fields url.Values) {
	token, err := h.csrf.token(w, r, logoutBinding(fields))
	if err != nil {
		h.cfg.Log.Error(err, "making the logout CSRF token")
		h.renderProblem(w, problemUnavailable, neutralBrand(), "", "")
		return
	}
	d := logoutData{pageData: pageData{Title: "Sign out", Brand: neutralBrand(), CSRF: token}, FormAction: action}
	if snap := h.cfg.Snapshots.Load(); snap != nil {
		if name, ok := (directory{snap}).client(fields.Get("client_id")); ok {
			d.AppName = name
		}
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		d.Fields = append(d.Fields, hiddenField{Name: k, Value: fields.Get(k)})
	}
	d.Nonce = newNonce()
	d.Stylesheet = stylesheet
	var buf bytes.Buffer
	if err := logoutPages.ExecuteTemplate(&buf, "logout", d); err != nil {
		h.cfg.Log.Error(err, "rendering the logout page")
		setSecurityHeaders(w, "")
		http.Error(w, "Sign-out is unavailable. Please try again later.", http.StatusInternalServerError)
		return
	}
	setSecurityHeaders(w, d.Nonce)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

// LogoutConfirmed reports whether the POST r is the confirmation form of
// ConfirmLogout, sent from this issuer's page in this browser: same-origin
// (Sec-Fetch-Site / Origin) and with the CSRF token for exactly these
// fields. It clears the SSO cookie when it is; otherwise it writes the
// refusal page (oidc.LogoutConfirmer).
func (h *Handler) LogoutConfirmed(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil || r.Method != http.MethodPost || http.NewCrossOriginProtection().Check(r) != nil ||
		!h.csrf.valid(r, logoutBinding(r.PostForm)) {
		h.renderProblem(w, problemForbidden, neutralBrand(), "", "")
		return false
	}
	http.SetCookie(w, &http.Cookie{Name: h.sessCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode})
	return true
}
