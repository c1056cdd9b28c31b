package demoapp

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Config configures New.
type Config struct {
	// Issuer is the issuer URL, exactly as the issuer announces it.
	Issuer string
	// ClientID and ClientSecret are the demo application's credentials (a
	// Confidential SharedApplication).
	ClientID     string
	ClientSecret string
	// RedirectURL is the registered redirect URI, e.g.
	// http://127.0.0.1:9090/callback. Its path must be /callback.
	RedirectURL string
	// PostLogoutRedirectURL is the registered post-logout redirect URI.
	// Empty means "/" on RedirectURL's origin.
	PostLogoutRedirectURL string
	// Organization is the default value of the sign-in hint on the home
	// page (an organization handle or an email). Optional.
	Organization string
	// HTTPClient is used for every request to the issuer. Nil means
	// http.DefaultClient.
	HTTPClient *http.Client
}

const (
	loginCookie    = "demoapp_login"
	sessionCookie  = "demoapp_session"
	loginLifetime  = 10 * time.Minute
	sessionMaxAge  = 8 * time.Hour
	maxEntries     = 10000
	issuerTimeout  = 10 * time.Second
	callbackPath   = "/callback"
	defaultScopes  = "openid profile email offline_access"
	issParamClaim  = "authorization_response_iss_parameter_supported"
	endSessionName = "end_session_endpoint"
)

// New returns the demo application's handler. It does not contact the
// issuer: discovery happens on the first request that needs it (see the
// package documentation). ctx bounds every request to the issuer.
func New(ctx context.Context, cfg Config) (http.Handler, error) {
	a, err := newApp(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return a.routes(), nil
}

func newApp(ctx context.Context, cfg Config) (*app, error) {
	if _, err := absoluteURL("Issuer", cfg.Issuer); err != nil {
		return nil, err
	}
	if cfg.ClientID == "" {
		return nil, errors.New("demoapp: ClientID is required")
	}
	redirect, err := absoluteURL("RedirectURL", cfg.RedirectURL)
	if err != nil {
		return nil, err
	}
	if redirect.Path != callbackPath {
		return nil, fmt.Errorf("demoapp: RedirectURL %q: the path must be %s", cfg.RedirectURL, callbackPath)
	}
	if cfg.PostLogoutRedirectURL == "" {
		cfg.PostLogoutRedirectURL = redirect.Scheme + "://" + redirect.Host + "/"
	} else if _, err := absoluteURL("PostLogoutRedirectURL", cfg.PostLogoutRedirectURL); err != nil {
		return nil, err
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	a := &app{
		cfg:    cfg,
		base:   oidc.ClientContext(ctx, cfg.HTTPClient),
		secure: redirect.Scheme == "https",
		now:    time.Now,
	}
	a.logins = newStore[pendingLogin](loginLifetime, maxEntries, a.clock)
	a.sessions = newStore[userSession](sessionMaxAge, maxEntries, a.clock)
	return a, nil
}

func absoluteURL(field, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("demoapp: %s %q must be an absolute http(s) URL", field, raw)
	}
	return u, nil
}

// app is the demo application.
type app struct {
	cfg    Config
	base   context.Context
	secure bool
	now    func() time.Time // replaced by tests

	mu   sync.Mutex
	disc *discovered // nil until discovery succeeds

	logins   *store[pendingLogin]
	sessions *store[userSession]

	// refreshMu serialises /refresh: two concurrent uses of one rotated
	// refresh token would look like a replay to the issuer, which then
	// revokes the whole family.
	refreshMu sync.Mutex
}

func (a *app) clock() time.Time { return a.now() }

// discovered is what discovery yields; immutable once built.
type discovered struct {
	provider *oidc.Provider
	verifier *oidc.IDTokenVerifier
	oauth2   oauth2.Config
	// endSession is the end_session_endpoint, empty if none.
	endSession string
	// issRequired: the issuer announces RFC 9207 support, so an
	// authorization response without iss must be rejected.
	issRequired bool
}

// pendingLogin is a sign-in between /login and /callback.
type pendingLogin struct {
	state, nonce, verifier string
}

// userSession is a signed-in browser.
type userSession struct {
	token      *oauth2.Token
	rawIDToken string
	idClaims   map[string]any
	// lastRefresh is set by /refresh for /me to report.
	lastRefresh *refreshReport
}

type refreshReport struct {
	at               time.Time
	oldRT, newRT     string // fingerprints
	rotated          bool
	newIDToken       bool
	previousATExpiry time.Time
}

// discover returns the issuer's configuration, running discovery if it has
// not succeeded yet. Failures are not cached: the next request retries.
// Holding the lock during the request makes concurrent first requests wait
// for one discovery instead of starting several.
func (a *app) discover(ctx context.Context) (*discovered, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.disc != nil {
		return a.disc, nil
	}
	ctx, cancel := context.WithTimeout(a.clientContext(ctx), issuerTimeout)
	defer cancel()
	p, err := oidc.NewProvider(ctx, a.cfg.Issuer)
	if err != nil {
		return nil, err
	}
	var extra map[string]any
	if err := p.Claims(&extra); err != nil {
		return nil, err
	}
	d := &discovered{
		provider: p,
		verifier: p.Verifier(&oidc.Config{ClientID: a.cfg.ClientID, Now: a.clock}),
		oauth2: oauth2.Config{
			ClientID:     a.cfg.ClientID,
			ClientSecret: a.cfg.ClientSecret,
			RedirectURL:  a.cfg.RedirectURL,
			Endpoint:     p.Endpoint(),
			Scopes:       strings.Fields(defaultScopes),
		},
	}
	d.endSession, _ = extra[endSessionName].(string)
	d.issRequired, _ = extra[issParamClaim].(bool)
	a.disc = d
	return d, nil
}

// clientContext is ctx with the configured HTTP client for go-oidc and
// oauth2, and cancelled when New's context is.
func (a *app) clientContext(ctx context.Context) context.Context {
	ctx = oidc.ClientContext(ctx, a.cfg.HTTPClient)
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(a.base, cancel)
	context.AfterFunc(ctx, func() { stop() })
	return ctx
}

// fingerprint identifies a token on a page without revealing it.
func fingerprint(token string) string {
	if token == "" {
		return "(none)"
	}
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:6])
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
