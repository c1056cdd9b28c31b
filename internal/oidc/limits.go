package oidc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/orgkeeper/orgkeeper/internal/clientip"
	"github.com/orgkeeper/orgkeeper/internal/session"
)

// Bounds on what a request to the provider may carry. Every endpoint of the
// provider checks them before anything is parsed further, looked up or
// stored, and an over-limit answer names the parameter and its limit but
// never echoes the value.
const (
	// MaxBodyBytes bounds a request body (and, separately, the query
	// string). The largest legitimate request is an introspection or
	// end-session request carrying a JWT with many groups; 64 KiB leaves
	// room for that and is still small enough that a flood of requests
	// cannot grow the process.
	MaxBodyBytes = 64 << 10
	// MaxParameters bounds the number of parameters of one request, query
	// and body together. /authorize, the widest endpoint, defines about 20.
	MaxParameters = 50
	// defaultParameterBytes bounds any parameter not in parameterLimits.
	// Unknown parameters are ignored (RFC 6749 section 3.1), but bounded.
	defaultParameterBytes = 2048
	// DefaultMaxPendingAuthRequestsPerAddress is the default of
	// Config.MaxPendingAuthRequestsPerAddress.
	DefaultMaxPendingAuthRequestsPerAddress = 100
)

// parameterLimits is the size in bytes each known parameter may have. The
// sizes are what real clients need, with a wide margin:
//
//   - client_id: Kubernetes names are at most 253 bytes, an organization
//     qualified one about twice that.
//   - redirect_uri, post_logout_redirect_uri: 2048, the URL length that
//     every browser and proxy handles.
//   - state: 2048. Some frameworks put an encrypted return URL into state;
//     it is echoed on the redirect, so it must leave room for the rest.
//   - nonce: 512 (libraries send 16 to 64 random bytes, encoded).
//   - login_hint: 320, an email address (254) or a username, with margin.
//   - organization: 63, a namespace name (DNS label).
//   - code_verifier and code_challenge: 128, RFC 7636's own maximum.
//   - code, refresh_token: 512; this server issues values of about 100 and
//     43 bytes.
//   - token, id_token_hint, access_token, subject_token, actor_token:
//     16 KiB, a JWT with many groups.
//   - subject_token_type, actor_token_type, requested_token_type: 128, a
//     token type URN (RFC 8693 section 3) is about 50 bytes.
//   - client_secret: 1024, a generated secret is 43 bytes, a referenced one
//     may be longer.
var parameterLimits = map[string]int{
	"client_id":                1024,
	"client_secret":            1024,
	"redirect_uri":             2048,
	"post_logout_redirect_uri": 2048,
	"state":                    2048,
	"nonce":                    512,
	"scope":                    1024,
	"response_type":            64,
	"response_mode":            32,
	"prompt":                   64,
	"max_age":                  16,
	"display":                  32,
	"login_hint":               320,
	"logout_hint":              320,
	"ui_locales":               256,
	"claims_locales":           256,
	"acr_values":               256,
	"organization":             63,
	"code_challenge":           128,
	"code_challenge_method":    16,
	"code":                     512,
	"code_verifier":            128,
	"grant_type":               128,
	"refresh_token":            512,
	"token":                    16 << 10,
	"token_type_hint":          64,
	"id_token_hint":            16 << 10,
	"access_token":             16 << 10,
	"id":                       128,
	"subject_token":            16 << 10,
	"subject_token_type":       128,
	"actor_token":              16 << 10,
	"actor_token_type":         128,
	"requested_token_type":     128,
	"audience":                 1024,
	"resource":                 2048,
}

// limitOf is the size limit of parameter name.
func limitOf(name string) int {
	if n, ok := parameterLimits[name]; ok {
		return n
	}
	return defaultParameterBytes
}

// boundsError says which bound a request broke. Its message is safe to show
// to the client: it never contains a parameter's value.
type boundsError struct {
	param string // the offending parameter, "" for the request as a whole
	msg   string
}

func (e *boundsError) Error() string { return e.msg }

// parseBounded bounds the body, parses the form and checks the number of
// parameters, repetitions (RFC 6749 section 3.1: parameters must not be
// included more than once) and every parameter's size. On success r.Form
// and r.PostForm are set, so later ParseForm calls read nothing more.
func parseBounded(w http.ResponseWriter, r *http.Request) *boundsError {
	if len(r.URL.RawQuery) > MaxBodyBytes {
		return &boundsError{msg: fmt.Sprintf("the query string exceeds %d bytes", MaxBodyBytes)}
	}
	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	}
	if err := r.ParseForm(); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return &boundsError{msg: fmt.Sprintf("the request body exceeds %d bytes", MaxBodyBytes)}
		}
		return &boundsError{msg: "the request cannot be parsed"}
	}
	n := 0
	for _, vs := range r.Form {
		n += len(vs)
	}
	if n > MaxParameters {
		return &boundsError{msg: fmt.Sprintf("the request has more than %d parameters", MaxParameters)}
	}
	for name, vs := range r.Form {
		if len(name) > defaultParameterBytes {
			return &boundsError{msg: "a parameter name is too long"}
		}
		if len(vs) > 1 {
			return &boundsError{param: name, msg: fmt.Sprintf("parameter %s is repeated", safeName(name))}
		}
		if limit := limitOf(name); len(vs[0]) > limit {
			return &boundsError{param: name, msg: fmt.Sprintf("parameter %s exceeds %d bytes", safeName(name), limit)}
		}
	}
	return nil
}

// safeName returns a parameter name for an error message: known names as
// they are, anything else (chosen by the sender) left out.
func safeName(name string) string {
	if _, ok := parameterLimits[name]; ok {
		return name
	}
	return "(unrecognized)"
}

// remoteHost is the default Config.ClientIP: the host part of RemoteAddr.
func remoteHost(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// badRequestPage answers a browser whose request cannot go back to a client:
// a short plain-text page that does not repeat the request.
func badRequestPage(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	_, _ = fmt.Fprintln(w, msg)
}

// backChannelError answers a client at the token, introspection,
// revocation or userinfo endpoint: RFC 6749 section 5.2 JSON.
func backChannelError(w http.ResponseWriter, r *http.Request, err *oidc.Error) {
	if err.ErrorType == oidc.InvalidClient {
		w.Header().Set("WWW-Authenticate", `Basic realm="orgkeeper"`)
	}
	w.Header().Set("Cache-Control", "no-store")
	op.RequestError(w, r, err, nil)
}

// refuseAuthorize answers an /authorize request that is refused before the
// op package sees it. The error goes back to the client (with state, when
// state itself is within bounds, and iss) only when the client_id and
// redirect_uri are in bounds, the client exists and the redirect URI is one
// of its own, exactly as ValidateAuthRequest decides; anything else gets a
// page, so that nobody can use the issuer as an open redirector.
func (h *handler) refuseAuthorize(w http.ResponseWriter, r *http.Request, status int, e *oidc.Error, badParam string) {
	if redirect, ok := h.authorizeErrorRedirect(r, e, badParam); ok {
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, redirect, http.StatusFound)
		return
	}
	badRequestPage(w, status, "This sign-in request cannot be accepted: "+e.Description+".")
}

func (h *handler) authorizeErrorRedirect(r *http.Request, e *oidc.Error, badParam string) (string, bool) {
	if badParam == "client_id" || badParam == "redirect_uri" || badParam == "response_mode" {
		return "", false
	}
	redirectURI, ok := h.registeredRedirect(r)
	if !ok {
		return "", false
	}
	u, err := url.Parse(redirectURI)
	if err != nil {
		return "", false
	}
	q := u.Query()
	q.Set("error", string(e.ErrorType))
	q.Set("error_description", e.Description)
	if state, ok := formValue(r, "state"); ok && state != "" && badParam != "state" {
		q.Set("state", state)
	}
	q.Set("iss", h.issuer)
	u.RawQuery = q.Encode()
	return u.String(), true
}

// formValue returns a parameter that is present at most once and within
// its bounds ("" when absent); ok is false otherwise.
func formValue(r *http.Request, name string) (string, bool) {
	switch vs := r.Form[name]; {
	case len(vs) == 0:
		return "", true
	case len(vs) > 1 || len(vs[0]) > limitOf(name):
		return "", false
	default:
		return vs[0], true
	}
}

// registeredRedirect returns the redirect URI of an /authorize request when
// an authorization response may go there: client_id and redirect_uri are
// in bounds, the client exists and the URI is one of its own (exactly as
// ValidateAuthRequest decides), and response_mode, if any, is query.
func (h *handler) registeredRedirect(r *http.Request) (string, bool) {
	if r.Form == nil {
		return "", false
	}
	get := formValue
	clientID, ok1 := get(r, "client_id")
	redirectURI, ok2 := get(r, "redirect_uri")
	mode, ok3 := get(r, "response_mode")
	if !ok1 || !ok2 || !ok3 || clientID == "" || redirectURI == "" || (mode != "" && mode != string(oidc.ResponseModeQuery)) {
		return "", false
	}
	snap := h.storage.snapshot()
	if snap == nil {
		return "", false
	}
	if !snap.Client(clientID).AcceptsRedirectURI(redirectURI) {
		return "", false
	}
	return redirectURI, true
}

// reserveAuthRequest takes one slot of the client address's allowance of
// pending sign-ins, atomically (the count is taken before the request
// exists, so parallel requests cannot overshoot). What is counted is the
// sign-ins that an address started within the current window and that have
// not finished: a slot goes back when its auth request is deleted (the
// application exchanged the code, or the login UI ended the sign-in with an
// error; session.FinishAuthRequest), and at once when the /authorize that
// took it stored no auth request (the op package refused the request, or
// this cap did). A sign-in abandoned in the browser keeps its slot until the
// window ends. The window is the auth request lifetime and starts with the
// first sign-in counted in it; a slot counted in one window is not given
// back to the next (it was forgotten when its window ended), so at most
// twice the cap of an address's sign-ins are pending at any moment.
// Requests that cannot create an auth request anyway (an unknown client, an
// unregistered redirect URI: the op package refuses them without storing
// anything) take no slot at all.
//
// It returns the slot taken (zero when none was), and when the address may
// try again if the cap is reached.
func (h *handler) reserveAuthRequest(ctx context.Context, r *http.Request) (slot session.Slot, ok bool, retryAfter time.Duration, err error) {
	if h.maxPending <= 0 {
		return session.Slot{}, true, 0, nil
	}
	if _, registered := h.registeredRedirect(r); !registered {
		return session.Slot{}, true, 0, nil
	}
	key := "authorize:" + clientip.Bucket(h.clientIP(r))
	f, err := h.storage.cfg.Sessions.RecordFailure(ctx, key, h.storage.cfg.AuthRequestLifetime)
	if err != nil {
		return session.Slot{}, false, 0, err
	}
	slot = session.Slot{Key: key, WindowEnd: f.WindowEnd}
	if f.Count > h.maxPending {
		// Refused: this request stores nothing, so it keeps no slot.
		h.releaseSlot(ctx, slot)
		return session.Slot{}, false, f.WindowEnd.Sub(h.storage.now()), nil
	}
	return slot, true, 0, nil
}

// releaseSlot gives back a slot that no auth request holds. A failure is
// not the request's: the slot then stays counted until its window ends,
// which errs on the side of the cap (the store's metrics count the error).
func (h *handler) releaseSlot(ctx context.Context, slot session.Slot) {
	if slot.IsZero() {
		return
	}
	// Not the request's context: a client that hangs up must not keep
	// the slot.
	_ = h.storage.cfg.Sessions.ReleaseFailure(context.WithoutCancel(ctx), slot.Key, slot.WindowEnd)
}

type slotCtxKey struct{}

// withSlot carries the slot that /authorize took to CreateAuthRequest,
// which stores it on the auth request.
func withSlot(ctx context.Context, slot session.Slot) context.Context {
	return context.WithValue(ctx, slotCtxKey{}, slot)
}

func slotFrom(ctx context.Context) session.Slot {
	s, _ := ctx.Value(slotCtxKey{}).(session.Slot)
	return s
}

func retryAfterHeader(d time.Duration) string {
	s := int(d / time.Second)
	if s < 1 {
		s = 1
	}
	return strconv.Itoa(s)
}
