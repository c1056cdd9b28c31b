package oidc

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/orgkeeper/orgkeeper/internal/audit"
	"github.com/orgkeeper/orgkeeper/internal/session"
	"github.com/orgkeeper/orgkeeper/internal/telemetry"
)

// Config configures NewProvider.
type Config struct {
	// Issuer is the issuer URL: https, or http on a loopback address with
	// AllowInsecure (orgkeeper dev).
	Issuer string
	// Snapshots, Sessions and Keys are what the provider serves from.
	Snapshots SnapshotGetter
	Sessions  session.Store
	Keys      KeySetGetter
	// LoginURL is where /authorize sends the browser, given the auth
	// request's ID. The login UI authenticates the user, updates the
	// session.AuthRequest (UserID, OrgID, AuthTime, AMR, LoginSessionID,
	// Done=true) and redirects to CallbackURL(Issuer, id).
	LoginURL func(authRequestID string) string
	// AllowInsecure allows a plain-http issuer, only on a loopback address.
	AllowInsecure bool
	// CryptoKey encrypts opaque access tokens and authorization codes. Every
	// replica must use the same key; zero means a random key, which is fine
	// for a single replica (tokens and codes do not survive a restart).
	CryptoKey [32]byte
	// PreviousCryptoKeys still decrypt (never encrypt) opaque tokens, so
	// that those issued before a key rotation stay valid.
	PreviousCryptoKeys [][32]byte
	// SessionCookieName is the login UI's session cookie; end-session
	// deletes the login session it names, and the callback requires it to
	// be the session that completed the auth request. Empty: end-session
	// deletes none and the callback checks only the binding cookie.
	SessionCookieName string
	// BindingCookieName is the cookie that binds an auth request to the
	// browser that started it (login.BindingCookieName): /authorize sets it,
	// the login UI and the callback require it. Required.
	BindingCookieName string
	// WrongBrowser serves the callback of an auth request to a browser that
	// did not start it, or whose SSO cookie is not the login session that
	// completed it; no code is issued. Default: a plain 403 page. The login
	// UI's branded page belongs here (login.Handler.WrongBrowser).
	WrongBrowser http.Handler
	// DefaultLogoutRedirectURI is where end-session sends the browser when
	// the client gave no post_logout_redirect_uri.
	DefaultLogoutRedirectURI string
	// AuthRequestLifetime defaults to DefaultAuthRequestLifetime.
	AuthRequestLifetime time.Duration
	// Now defaults to time.Now. It decides grants (locks, expiry of token
	// IDs); the op package's own token timestamps use the real clock.
	Now func() time.Time
	// ClientIP returns the address a request comes from, for the cap on
	// pending auth requests. Default: the host of RemoteAddr; behind a
	// proxy, give the resolver that honours --trusted-proxies.
	ClientIP func(*http.Request) string
	// MaxPendingAuthRequestsPerAddress caps the sign-ins one client
	// address (an IPv6 client's /64, clientip.Bucket) may have pending: the
	// ones it started within the current window of AuthRequestLifetime and
	// that have not finished (tokens issued, or the sign-in ended with an
	// error). Finished sign-ins and requests the provider refused do not
	// count; abandoned ones count until the window ends. The excess is
	// refused before anything is stored. Zero means
	// DefaultMaxPendingAuthRequestsPerAddress, negative means no cap.
	MaxPendingAuthRequestsPerAddress int
	// Logout asks the user to confirm an end-session request that carries
	// no id_token_hint (a cross-site page can send the browser there, so
	// such a request alone ends nothing). The login UI implements it. Nil:
	// end-session requires an id_token_hint.
	Logout LogoutConfirmer
	// Metrics counts tokens issued; nil counts nothing.
	Metrics *telemetry.Metrics
	// Audit receives machine tokens and reuse of codes and refresh tokens;
	// default audit.Discard.
	Audit audit.Sink
}

// CallbackURL is where the login UI sends the browser once the auth request
// is done: the provider then issues the code and redirects to the client.
func CallbackURL(issuer, authRequestID string) string {
	return strings.TrimSuffix(issuer, "/") + "/" + authorizeEndpoint + "/callback?id=" + url.QueryEscape(authRequestID)
}

const authorizeEndpoint = "authorize"

// supportedGrantTypes are the grants of this server, but token exchange,
// which discovery announces only while an application enables it
// (grantTypesSupported).
var supportedGrantTypes = []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken, oidc.GrantTypeClientCredentials}

// NewProvider returns the issuer's HTTP handler: discovery, /authorize and
// its callback, token, userinfo, introspection, revocation, end-session and
// keys, at the paths the op package uses (see discovery).
func NewProvider(cfg Config) (http.Handler, error) {
	iss, err := url.Parse(cfg.Issuer)
	if err != nil || iss.Host == "" || (iss.Scheme != "https" && iss.Scheme != "http") {
		return nil, fmt.Errorf("oidc: issuer %q must be an absolute https URL", cfg.Issuer)
	}
	loopbackHTTP := iss.Scheme == "http" && isLoopbackHost(iss.Hostname())
	if iss.Scheme == "http" && (!cfg.AllowInsecure || !loopbackHTTP) {
		return nil, fmt.Errorf("oidc: issuer %q: plain http is allowed only on a loopback address with AllowInsecure", cfg.Issuer)
	}
	if cfg.BindingCookieName == "" {
		return nil, errors.New("oidc: BindingCookieName is required")
	}
	if cfg.WrongBrowser == nil {
		cfg.WrongBrowser = http.HandlerFunc(wrongBrowser)
	}
	storage, err := NewStorage(StorageConfig{
		Snapshots:                cfg.Snapshots,
		Sessions:                 cfg.Sessions,
		Keys:                     cfg.Keys,
		LoginURL:                 cfg.LoginURL,
		DevMode:                  loopbackHTTP,
		DefaultLogoutRedirectURI: cfg.DefaultLogoutRedirectURI,
		AuthRequestLifetime:      cfg.AuthRequestLifetime,
		Now:                      cfg.Now,
		Metrics:                  cfg.Metrics,
		Audit:                    cfg.Audit,
	})
	if err != nil {
		return nil, err
	}
	key := cfg.CryptoKey
	if key == ([32]byte{}) {
		if _, err := rand.Read(key[:]); err != nil {
			return nil, err
		}
	}
	h := &handler{issuer: cfg.Issuer, storage: storage, cookie: cfg.SessionCookieName,
		clientIP: cfg.ClientIP, maxPending: cfg.MaxPendingAuthRequestsPerAddress, logout: cfg.Logout,
		bindingCookie: cfg.BindingCookieName, secure: iss.Scheme == "https", wrongBrowser: cfg.WrongBrowser,
		subjects: newSubjectCache(subjectCacheSize, subjectCacheTTL)}
	if h.clientIP == nil {
		h.clientIP = remoteHost
	}
	if h.maxPending == 0 {
		h.maxPending = DefaultMaxPendingAuthRequestsPerAddress
	}
	// Authenticated encryption only. The op package's default also decrypts
	// legacy AES-CFB values, which "succeeds" on any input (a refresh token,
	// a forgery) and yields garbage; this server never issued such values.
	// Previous keys (server key rotation) only decrypt, after the current.
	current := op.NewAES256GCMCrypto(key, "")
	decrypters := []op.Decrypter{current}
	for _, k := range cfg.PreviousCryptoKeys {
		decrypters = append(decrypters, op.NewAES256GCMCrypto(k, ""))
	}
	opts := []op.Option{
		op.WithHttpInterceptors(h.intercept),
		op.WithCrypto(op.NewCompositeCrypto(current, decrypters)),
	}
	if loopbackHTTP {
		opts = append(opts, op.WithAllowInsecure())
	}
	p, err := op.NewProvider(&op.Config{
		CryptoKey:                key,
		DefaultLogoutRedirectURI: cfg.DefaultLogoutRedirectURI,
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		GrantTypeRefreshToken:    true,
		RequestObjectSupported:   false,
		SupportedClaims:          SupportedClaims,
		SupportedScopes:          []string{oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail, oidc.ScopeOfflineAccess},
	}, storage, op.StaticIssuer(cfg.Issuer), opts...)
	if err != nil {
		return nil, err
	}
	h.provider = p
	return p, nil
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// handler adds what the op package lacks, as an interceptor that runs
// inside its router (after CORS and with the issuer in the context).
type handler struct {
	issuer     string
	storage    *Storage
	cookie     string
	provider   *op.Provider
	clientIP   func(*http.Request) string
	maxPending int
	logout     LogoutConfirmer
	// bindingCookie names the browser binding cookie (binding.go); secure
	// makes it Secure; wrongBrowser answers a callback from another browser.
	bindingCookie string
	secure        bool
	wrongBrowser  http.Handler
	// subjects caches verified subject tokens of token exchanges, and
	// jwsHeaders the token headers of the served keys
	// (token_exchange_cache.go, token_exchange_jws.go).
	subjects   *subjectCache
	jwsHeaders jwsHeaders
}

// intercept bounds every request's input (limits.go) before the endpoint,
// Orgkeeper's or the op package's, reads it.
func (h *handler) intercept(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case h.provider.AuthorizationEndpoint().Relative():
			if berr := parseBounded(w, r); berr != nil {
				h.refuseAuthorize(w, r, http.StatusBadRequest, oidc.ErrInvalidRequest().WithDescription("%s", berr.msg), berr.param)
				return
			}
			slot, ok, retry, err := h.reserveAuthRequest(r.Context(), r)
			if err != nil {
				h.refuseAuthorize(w, r, http.StatusServiceUnavailable, oidc.ErrServerError().WithDescription("the sign-in service is unavailable; try again later"), "")
				return
			}
			if !ok {
				w.Header().Set("Retry-After", retryAfterHeader(retry))
				h.refuseAuthorize(w, r, http.StatusTooManyRequests, &oidc.Error{ErrorType: "temporarily_unavailable",
					Description: "too many sign-ins are in progress from this network address; finish one or try again later"}, "")
				return
			}
			if !h.authorize(w, r.WithContext(withSlot(r.Context(), slot))) {
				// Nothing holds the slot: give it back now.
				h.releaseSlot(r.Context(), slot)
			}
		case h.provider.AuthorizationEndpoint().Relative() + "/callback":
			if berr := parseBounded(w, r); berr != nil {
				badRequestPage(w, http.StatusBadRequest, "This sign-in request cannot be accepted: "+berr.msg+".")
				return
			}
			h.callback(w, r, next)
		case oidc.DiscoveryEndpoint:
			h.discovery(w, r)
		case h.provider.TokenEndpoint().Relative():
			if h.backChannelInput(w, r) {
				h.token(w, r, next)
			}
		case h.provider.IntrospectionEndpoint().Relative():
			if h.backChannelInput(w, r) {
				h.introspect(w, r)
			}
		case h.provider.RevocationEndpoint().Relative():
			if h.backChannelInput(w, r) {
				next.ServeHTTP(w, r)
			}
		case h.provider.UserinfoEndpoint().Relative():
			if berr := parseBounded(w, r); berr != nil {
				backChannelError(w, r, oidc.ErrInvalidRequest().WithDescription("%s", berr.msg))
				return
			}
			if r.URL.Query().Has("access_token") {
				// RFC 6750 section 2.3 allows it, but a token in a URL ends
				// up in logs and Referer headers.
				backChannelError(w, r, oidc.ErrInvalidRequest().WithDescription("send the access token in the Authorization header, not the query string"))
				return
			}
			h.userinfo(w, r)
		case h.provider.EndSessionEndpoint().Relative():
			if berr := parseBounded(w, r); berr != nil {
				badRequestPage(w, http.StatusBadRequest, "This sign-out request cannot be accepted: "+berr.msg+".")
				return
			}
			h.endSession(w, r, next)
		default:
			if berr := parseBounded(w, r); berr != nil {
				badRequestPage(w, http.StatusBadRequest, berr.msg)
				return
			}
			next.ServeHTTP(w, r)
		}
	})
}

// authorize runs the op package's /authorize with Orgkeeper's validation
// (strict redirect URIs, PKCE policy), keeps the organization parameter
// and the browser binding for CreateAuthRequest, and adds iss to every
// authorization response (every redirect except the one to the login UI).
// It reports whether an auth request was stored: one that was not (the op
// package refused the request) holds no slot of the /authorize cap.
func (h *handler) authorize(w http.ResponseWriter, r *http.Request) (stored bool) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "cannot parse the request", http.StatusBadRequest)
		return false
	}
	binding, err := h.bindBrowser(w, r)
	if err != nil {
		http.Error(w, "sign-in is unavailable", http.StatusServiceUnavailable)
		return false
	}
	created := &createdAuthRequest{}
	ctx := withCreatedAuthRequest(withOrganization(r.Context(), r.Form.Get("organization")), created)
	ctx = withBrowserBinding(ctx, binding)
	iw := &issWriter{ResponseWriter: w, issuer: h.issuer, mode: r.Form.Get("response_mode"), skip: func(loc string) bool {
		return created.id != "" && loc == h.storage.cfg.LoginURL(created.id)
	}}
	op.Authorize(iw, r.WithContext(ctx), &authorizer{Provider: h.provider, s: h.storage})
	return created.id != ""
}

// callback serves the code only to the browser that started the auth
// request, with the SSO cookie of the login session that completed it
// (binding.go); any other browser gets the WrongBrowser page and no code.
// A redirect URI that the application no longer registers gets an error
// page, not a redirect. SaveAuthCode then makes sure one request yields at
// most one code, and only to a redirect URI still registered. It
// adds iss to the code (or error) redirect.
//
// The ID is read where the op package reads it, r.Form (query and POST
// body; parseBounded has refused a repeated id), so that the request
// checked here is the request served: reading only the query string let a
// POST with the ID in its body skip the check. A request that cannot be
// read is refused, not passed on unchecked.
func (h *handler) callback(w http.ResponseWriter, r *http.Request, next http.Handler) {
	var mode string
	ar, err := h.storage.cfg.Sessions.GetAuthRequest(r.Context(), r.Form.Get("id"))
	switch {
	case err == nil:
		if !h.fromStartingBrowser(r, ar) {
			h.wrongBrowser.ServeHTTP(w, r)
			return
		}
		if !h.storage.registeredRedirect(ar.ClientID, ar.RedirectURI) {
			// The application no longer lists this redirect URI (or is
			// gone): it is not trusted any more, so no redirect to it,
			// not even with an error. SaveAuthCode refuses a code too.
			badRequestPage(w, http.StatusBadRequest,
				"This application no longer accepts sign-ins at the address it asked for. Go back to the application and sign in again.")
			return
		}
		mode = ar.ResponseMode
	case !errors.Is(err, session.ErrNotFound):
		badRequestPage(w, http.StatusServiceUnavailable, "The sign-in service is unavailable. Try again later.")
		return
	}
	next.ServeHTTP(&issWriter{ResponseWriter: w, issuer: h.issuer, mode: mode}, r)
}

// token refuses grants this server does not offer (the op package would
// try the JWT bearer grant) and keeps the organization parameter for
// ClientCredentialsTokenRequest.
func (h *handler) token(w http.ResponseWriter, r *http.Request, next http.Handler) {
	if err := r.ParseForm(); err != nil {
		op.RequestError(w, r, oidc.ErrInvalidRequest().WithDescription("cannot parse the request"), nil)
		return
	}
	gt := oidc.GrantType(r.PostForm.Get("grant_type"))
	if gt == oidc.GrantTypeTokenExchange {
		h.tokenExchange(w, r)
		return
	}
	if gt != "" && !containsGrant(supportedGrantTypes, gt) {
		op.RequestError(w, r, oidc.ErrUnsupportedGrantType().WithDescription("%s is not supported", gt), nil)
		return
	}
	ctx := withPresentingClient(withOrganization(r.Context(), r.PostForm.Get("organization")), r)
	next.ServeHTTP(w, r.WithContext(ctx))
}

func containsGrant(gs []oidc.GrantType, g oidc.GrantType) bool {
	for _, x := range gs {
		if x == g {
			return true
		}
	}
	return false
}

// discovery is the op package's document, corrected to what this server
// does, with RFC 9207's authorization_response_iss_parameter_supported.
func (h *handler) discovery(w http.ResponseWriter, r *http.Request) {
	d := op.CreateDiscoveryConfig(r.Context(), h.provider, h.storage)
	d.GrantTypesSupported = h.grantTypesSupported()
	d.ResponseTypesSupported = []string{string(oidc.ResponseTypeCode)}
	d.ResponseModesSupported = []string{string(oidc.ResponseModeQuery)}
	d.CodeChallengeMethodsSupported = []oidc.CodeChallengeMethod{oidc.CodeChallengeMethodS256}
	d.TokenEndpointAuthMethodsSupported = []oidc.AuthMethod{oidc.AuthMethodBasic, oidc.AuthMethodPost, oidc.AuthMethodNone}
	d.RevocationEndpointAuthMethodsSupported = []oidc.AuthMethod{oidc.AuthMethodBasic, oidc.AuthMethodPost, oidc.AuthMethodNone}
	d.IntrospectionEndpointAuthMethodsSupported = []oidc.AuthMethod{oidc.AuthMethodBasic, oidc.AuthMethodPost}
	d.TokenEndpointAuthSigningAlgValuesSupported = nil
	d.RevocationEndpointAuthSigningAlgValuesSupported = nil
	d.IntrospectionEndpointAuthSigningAlgValuesSupported = nil
	d.RequestObjectSigningAlgValuesSupported = nil
	d.DeviceAuthorizationEndpoint = ""
	d.RequestParameterSupported = false
	raw, err := json.Marshal(d)
	var doc map[string]any
	if err == nil {
		err = json.Unmarshal(raw, &doc)
	}
	if err != nil {
		http.Error(w, "discovery", http.StatusInternalServerError)
		return
	}
	doc["authorization_response_iss_parameter_supported"] = true
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(doc)
}

// authorizer is the provider with Orgkeeper's validation of authorization
// requests, which the op package calls instead of its own.
type authorizer struct {
	*op.Provider
	s *Storage
}

var _ op.AuthorizeValidator = (*authorizer)(nil)

// ValidateAuthRequest checks, in order: the client exists and the
// redirect URI is registered (exactly; else no redirect at all); then the op
// package's checks (response type, scopes, prompt, id_token_hint); then
// response_mode (query only, so that iss travels with the response), the
// authorization_code grant, and PKCE: S256 only, required for Public
// clients.
func (a *authorizer) ValidateAuthRequest(ctx context.Context, req *oidc.AuthRequest, _ op.Storage, verifier *op.IDTokenHintVerifier) (string, error) {
	sc := a.s.snapshot().Client(req.ClientID)
	if sc == nil {
		return "", oidc.ErrInvalidRequestRedirectURI().WithDescription("unknown client_id")
	}
	c := a.s.newClient(sc)
	if !a.s.registeredRedirect(req.ClientID, req.RedirectURI) {
		return "", oidc.ErrInvalidRequestRedirectURI().WithDescription("redirect_uri is not registered for this client")
	}
	sub, err := op.ValidateAuthRequestClient(ctx, req, c, verifier)
	if err != nil {
		return "", err
	}
	if req.ResponseMode != "" && req.ResponseMode != oidc.ResponseModeQuery {
		return "", oidc.ErrInvalidRequest().WithDescription("response_mode %q is not supported; use query", req.ResponseMode)
	}
	if !op.ValidateGrantType(c, oidc.GrantTypeCode) {
		return "", oidc.ErrUnauthorizedClient().WithDescription("the client may not use the authorization code flow")
	}
	if req.CodeChallenge != "" && req.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return "", oidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256")
	}
	if req.CodeChallenge == "" && sc.IsPublic() {
		return "", oidc.ErrInvalidRequest().WithDescription("PKCE is required: send code_challenge with code_challenge_method S256")
	}
	return sub, nil
}

// issWriter adds RFC 9207's iss parameter to redirects that carry an
// authorization response, and drops the body http.Redirect writes (it
// would show the URL without iss).
type issWriter struct {
	http.ResponseWriter
	issuer   string
	mode     string
	skip     func(location string) bool
	dropBody bool
}

func (w *issWriter) WriteHeader(code int) {
	if code >= 300 && code < 400 {
		if loc := w.Header().Get("Location"); loc != "" && (w.skip == nil || !w.skip(loc)) {
			if withIss, err := addIss(loc, w.issuer, w.mode); err == nil {
				w.Header().Set("Location", withIss)
				w.dropBody = true
			}
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *issWriter) Write(b []byte) (int, error) {
	if w.dropBody {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

// addIss sets iss in the query, or in the fragment for response_mode
// fragment (only ever used for an error response).
func addIss(location, issuer, mode string) (string, error) {
	u, err := url.Parse(location)
	if err != nil {
		return "", err
	}
	if u.Scheme == "" {
		return "", errors.New("relative redirect")
	}
	if mode == string(oidc.ResponseModeFragment) {
		v, _ := url.ParseQuery(u.Fragment)
		v.Set("iss", issuer)
		u.RawFragment = v.Encode()
		u.Fragment, _ = url.PathUnescape(u.RawFragment)
		return u.String(), nil
	}
	q := u.Query()
	q.Set("iss", issuer)
	u.RawQuery = q.Encode()
	return u.String(), nil
}
