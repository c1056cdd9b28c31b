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

	"github.com/orgkeeper/orgkeeper/internal/session"
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
	// deletes the login session it names. Empty: end-session deletes none.
	SessionCookieName string
	// DefaultLogoutRedirectURI is where end-session sends the browser when
	// the client gave no post_logout_redirect_uri.
	DefaultLogoutRedirectURI string
	// AuthRequestLifetime defaults to DefaultAuthRequestLifetime.
	AuthRequestLifetime time.Duration
	// Now defaults to time.Now. It decides grants (locks, expiry of token
	// IDs); the op package's own token timestamps use the real clock.
	Now func() time.Time
}

// CallbackURL is where the login UI sends the browser once the auth request
// is done: the provider then issues the code and redirects to the client.
func CallbackURL(issuer, authRequestID string) string {
	return strings.TrimSuffix(issuer, "/") + "/" + authorizeEndpoint + "/callback?id=" + url.QueryEscape(authRequestID)
}

const authorizeEndpoint = "authorize"

// supportedGrantTypes are the grants of this server.
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
	storage, err := NewStorage(StorageConfig{
		Snapshots:                cfg.Snapshots,
		Sessions:                 cfg.Sessions,
		Keys:                     cfg.Keys,
		LoginURL:                 cfg.LoginURL,
		DevMode:                  loopbackHTTP,
		DefaultLogoutRedirectURI: cfg.DefaultLogoutRedirectURI,
		AuthRequestLifetime:      cfg.AuthRequestLifetime,
		Now:                      cfg.Now,
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
	h := &handler{issuer: cfg.Issuer, storage: storage, cookie: cfg.SessionCookieName}
	opts := []op.Option{op.WithHttpInterceptors(h.intercept)}
	if loopbackHTTP {
		opts = append(opts, op.WithAllowInsecure())
	}
	if len(cfg.PreviousCryptoKeys) > 0 {
		// The same as op's default crypto for key, plus decryption with
		// the previous keys, tried after the current one.
		current := op.NewAES256GCMCrypto(key, "")
		decrypters := []op.Decrypter{current, op.NewAESDecrypter(key)}
		for _, k := range cfg.PreviousCryptoKeys {
			decrypters = append(decrypters, op.NewAES256GCMCrypto(k, ""), op.NewAESDecrypter(k))
		}
		opts = append(opts, op.WithCrypto(op.NewCompositeCrypto(current, decrypters)))
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
	issuer   string
	storage  *Storage
	cookie   string
	provider *op.Provider
}

func (h *handler) intercept(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case h.provider.AuthorizationEndpoint().Relative():
			h.authorize(w, r)
		case h.provider.AuthorizationEndpoint().Relative() + "/callback":
			h.callback(w, r, next)
		case oidc.DiscoveryEndpoint:
			h.discovery(w, r)
		case h.provider.TokenEndpoint().Relative():
			h.token(w, r, next)
		case h.provider.EndSessionEndpoint().Relative():
			h.endSession(w, r, next)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// authorize runs the op package's /authorize with Orgkeeper's validation
// (strict redirect URIs, PKCE policy), keeps the organization parameter
// for CreateAuthRequest, and adds iss to every authorization response
// (every redirect except the one to the login UI).
func (h *handler) authorize(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "cannot parse the request", http.StatusBadRequest)
		return
	}
	created := &createdAuthRequest{}
	ctx := withCreatedAuthRequest(withOrganization(r.Context(), r.Form.Get("organization")), created)
	iw := &issWriter{ResponseWriter: w, issuer: h.issuer, mode: r.Form.Get("response_mode"), skip: func(loc string) bool {
		return created.id != "" && loc == h.storage.cfg.LoginURL(created.id)
	}}
	op.Authorize(iw, r.WithContext(ctx), &authorizer{Provider: h.provider, s: h.storage})
}

// callback adds iss to the code (or error) redirect.
func (h *handler) callback(w http.ResponseWriter, r *http.Request, next http.Handler) {
	var mode string
	if ar, err := h.storage.cfg.Sessions.GetAuthRequest(r.Context(), r.URL.Query().Get("id")); err == nil {
		mode = ar.ResponseMode
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
	if gt != "" && !containsGrant(supportedGrantTypes, gt) {
		op.RequestError(w, r, oidc.ErrUnsupportedGrantType().WithDescription("%s is not supported", gt), nil)
		return
	}
	next.ServeHTTP(w, r.WithContext(withOrganization(r.Context(), r.PostForm.Get("organization"))))
}

func containsGrant(gs []oidc.GrantType, g oidc.GrantType) bool {
	for _, x := range gs {
		if x == g {
			return true
		}
	}
	return false
}

// endSession passes the login session cookie to TerminateSessionFromRequest.
func (h *handler) endSession(w http.ResponseWriter, r *http.Request, next http.Handler) {
	if h.cookie != "" {
		if c, err := r.Cookie(h.cookie); err == nil && c.Value != "" {
			r = r.WithContext(withLoginSession(r.Context(), c.Value))
		}
	}
	next.ServeHTTP(w, r)
}

// discovery is the op package's document, corrected to what this server
// does, with RFC 9207's authorization_response_iss_parameter_supported.
func (h *handler) discovery(w http.ResponseWriter, r *http.Request) {
	d := op.CreateDiscoveryConfig(r.Context(), h.provider, h.storage)
	d.GrantTypesSupported = supportedGrantTypes
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
	if !redirectURIAllowed(sc, c.ApplicationType() == op.ApplicationTypeNative, req.RedirectURI) {
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
