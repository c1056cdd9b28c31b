package login

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"time"

	"github.com/go-logr/logr"

	"github.com/orgkeeper/orgkeeper/internal/audit"
	"github.com/orgkeeper/orgkeeper/internal/connector"
	"github.com/orgkeeper/orgkeeper/internal/credentials"
	"github.com/orgkeeper/orgkeeper/internal/session"
	"github.com/orgkeeper/orgkeeper/internal/telemetry"
)

// SessionStore is what the login pages need of session.Store: the auth
// requests they complete, the browser sessions they create (SSO) and the
// failure counters that throttle password guessing.
type SessionStore interface {
	session.AuthRequestStore
	session.LoginSessionStore
	session.FailureCounter
}

var _ SessionStore = (session.Store)(nil)

// PasswordVerifier checks a password against an encoded hash. A wrong
// password is (false, nil); an error means the hash itself is unusable.
type PasswordVerifier interface {
	Verify(encoded, password string) (bool, error)
}

// PasswordVerifierFunc adapts a function to PasswordVerifier.
type PasswordVerifierFunc func(encoded, password string) (bool, error)

// Verify calls f.
func (f PasswordVerifierFunc) Verify(encoded, password string) (bool, error) {
	return f(encoded, password)
}

// Argon2id is the production PasswordVerifier (credentials.Verify).
var Argon2id PasswordVerifier = PasswordVerifierFunc(credentials.Verify)

// Lockout is reported when an account reaches the failure limit.
type Lockout struct {
	// Org is the organization's handle, UserID the OrgUser's ID (sub).
	Org    string
	UserID string
	// Failures is the count that triggered the lockout.
	Failures int
	// Until is when sign-in is allowed again.
	Until time.Time
}

// LockoutRecorder is told when an account is locked after repeated failed
// sign-ins, so that a later component can show it in OrgUser status
// (state Locked, lockedUntil). The lockout itself is enforced here through
// session.FailureCounter, whatever the recorder does. It must not block for
// long: it runs in the request.
type LockoutRecorder interface {
	RecordLockout(ctx context.Context, l Lockout) error
}

// NopLockoutRecorder records nothing; it is the default.
type NopLockoutRecorder struct{}

// RecordLockout does nothing.
func (NopLockoutRecorder) RecordLockout(context.Context, Lockout) error { return nil }

// Throttle is the lockout policy for password sign-in.
type Throttle struct {
	// MaxFailures per account (organization and typed identifier, known
	// or not, so that locking reveals nothing) within Window; the account
	// is then locked for LockDuration. Default 5.
	MaxFailures int
	// MaxFailuresPerIP per client address (an IPv6 client's /64,
	// clientip.Bucket) within Window; the address is then refused for
	// LockDuration. Attempts are counted before they are
	// verified, and successful sign-ins are subtracted, so that the count
	// is the failures plus the guesses in flight. Default 50.
	MaxFailuresPerIP int
	// Window is the counting window, starting at the first failure.
	// Default 15 minutes.
	Window time.Duration
	// LockDuration is how long a lock lasts. Default 15 minutes.
	LockDuration time.Duration
}

func (t Throttle) withDefaults() Throttle {
	if t.MaxFailures <= 0 {
		t.MaxFailures = 5
	}
	if t.MaxFailuresPerIP <= 0 {
		t.MaxFailuresPerIP = 50
	}
	if t.Window <= 0 {
		t.Window = 15 * time.Minute
	}
	if t.LockDuration <= 0 {
		t.LockDuration = 15 * time.Minute
	}
	return t
}

// ErrorRedirectFunc returns the URL that sends an OAuth error (RFC 6749
// section 4.1.2.1) for the auth request back to the client.
type ErrorRedirectFunc func(ctx context.Context, req session.AuthRequest, code, description string) string

// Config configures New. Issuer, Snapshots, Sessions and CallbackURL are
// required.
type Config struct {
	// Issuer is the issuer URL. It is the iss parameter of error
	// redirects (RFC 9207), and cookies are Secure when it is https.
	Issuer string
	// Snapshots gives the current serving model.
	Snapshots SnapshotSource
	// Sessions keeps auth requests, login sessions and failure counters.
	Sessions SessionStore
	// CallbackURL is where the browser goes once the auth request is done
	// (op.AuthCallbackURL: "/authorize/callback?id=<id>").
	CallbackURL func(ctx context.Context, authRequestID string) string
	// ErrorRedirect builds error redirects to the client. Default: the
	// auth request's RedirectURI with error, error_description, state and
	// iss in the query (in the fragment for response_mode=fragment).
	ErrorRedirect ErrorRedirectFunc
	// Verifier checks passwords. Default Argon2id.
	Verifier PasswordVerifier
	// DummyHash is verified for unknown users, so that they take as long as
	// known ones. It should be made with the production parameters. Default:
	// a hash of a random password made by credentials.Hash in New.
	DummyHash string
	// Lockouts is told about lockouts. Default NopLockoutRecorder.
	Lockouts LockoutRecorder
	// Connectors signs users in at upstream identity providers. Nil turns
	// upstream sign-in off (the providers are not offered).
	Connectors *connector.Registry
	// Provisioner writes users that sign in through an upstream provider
	// (just-in-time creation, linking, profile sync). Nil refuses sign-ins
	// that need a write.
	Provisioner UserProvisioner
	// ProvisionWait bounds how long a sign-in waits for the snapshot to
	// serve a user just provisioned. Default DefaultProvisionWait.
	ProvisionWait time.Duration
	// Throttle is the lockout policy; zero fields take defaults.
	Throttle Throttle
	// Onboarding turns on the invitation and password-reset pages
	// (onboarding.go); the zero value leaves them off.
	Onboarding OnboardingConfig
	// Signup turns on self-service signup of organizations (signup.go);
	// the zero value serves its pages as "not available".
	Signup SignupConfig
	// CSRFKey signs the CSRF tokens (at least 32 bytes). Every replica
	// behind one issuer needs the same key; default: random per process,
	// which suits a single replica.
	CSRFKey []byte
	// PreviousCSRFKeys still validate (never sign) CSRF tokens, so that a
	// form rendered before a key rotation can be posted after it.
	PreviousCSRFKeys [][]byte
	// MaxConcurrentVerifications bounds simultaneous password hash
	// verifications (each argon2id uses 19 MiB). Default 2*GOMAXPROCS.
	MaxConcurrentVerifications int
	// ClientIP returns the client's address for throttling. Default: the
	// host of RemoteAddr. Behind reverse proxies, use
	// clientip.Resolver.ClientIP (--trusted-proxies), which honours
	// X-Forwarded-For and Forwarded only from trusted proxies.
	ClientIP func(*http.Request) string
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Log receives server-side errors (never shown to users). Default:
	// discard.
	Log logr.Logger
	// Metrics counts sign-ins, lockouts and upstream errors; nil counts
	// nothing.
	Metrics *telemetry.Metrics
	// Audit receives the security events of sign-in; default
	// audit.Discard.
	Audit audit.Sink
}

// Handler serves the login pages under /login. Create it with New.
type Handler struct {
	cfg        Config
	throttle   Throttle
	mailLimits MailLimits
	secure     bool
	csrf       csrfGuard
	sessCookie string
	bindCookie string
	stages     map[step]stage
	sem        chan struct{}
	pages      *template.Template
	mux        *http.ServeMux
}

var _ http.Handler = (*Handler)(nil)

// New checks cfg, fills in defaults and returns the handler.
func New(cfg Config) (*Handler, error) {
	var errs []error
	iss, err := url.Parse(cfg.Issuer)
	if cfg.Issuer == "" || err != nil || iss.Host == "" || (iss.Scheme != "https" && iss.Scheme != "http") {
		errs = append(errs, fmt.Errorf("login: Issuer %q is not an http(s) URL", cfg.Issuer))
	}
	if cfg.Snapshots == nil {
		errs = append(errs, errors.New("login: Snapshots is required"))
	}
	if cfg.Sessions == nil {
		errs = append(errs, errors.New("login: Sessions is required"))
	}
	if cfg.CallbackURL == nil {
		errs = append(errs, errors.New("login: CallbackURL is required"))
	}
	if cfg.CSRFKey != nil && len(cfg.CSRFKey) < 32 {
		errs = append(errs, fmt.Errorf("login: CSRFKey has %d bytes; give at least 32", len(cfg.CSRFKey)))
	}
	for i, k := range cfg.PreviousCSRFKeys {
		if len(k) < 32 {
			errs = append(errs, fmt.Errorf("login: PreviousCSRFKeys[%d] has %d bytes; give at least 32", i, len(k)))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.Verifier == nil {
		cfg.Verifier = Argon2id
	}
	if cfg.DummyHash == "" {
		dummy, err := credentials.Hash(rand.Text())
		if err != nil {
			return nil, fmt.Errorf("login: making the dummy hash: %w", err)
		}
		cfg.DummyHash = dummy
	}
	if cfg.Lockouts == nil {
		cfg.Lockouts = NopLockoutRecorder{}
	}
	if cfg.Audit == nil {
		cfg.Audit = audit.Discard
	}
	if cfg.CSRFKey == nil {
		cfg.CSRFKey = make([]byte, 32)
		if _, err := rand.Read(cfg.CSRFKey); err != nil {
			return nil, err
		}
	}
	if cfg.MaxConcurrentVerifications <= 0 {
		cfg.MaxConcurrentVerifications = 2 * runtime.GOMAXPROCS(0)
	}
	if cfg.ClientIP == nil {
		cfg.ClientIP = remoteHost
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ProvisionWait <= 0 {
		cfg.ProvisionWait = DefaultProvisionWait
	}
	if cfg.Log.GetSink() == nil {
		cfg.Log = logr.Discard()
	}
	if cfg.ErrorRedirect == nil {
		cfg.ErrorRedirect = defaultErrorRedirect(cfg.Issuer)
	}
	secure := iss.Scheme == "https"
	h := &Handler{
		cfg:        cfg,
		throttle:   cfg.Throttle.withDefaults(),
		mailLimits: cfg.Onboarding.Limits.withDefaults(),
		secure:     secure,
		csrf:       newCSRFGuard(cfg.CSRFKey, cfg.PreviousCSRFKeys, secure),
		sessCookie: cookieName(SessionCookie, secure),
		bindCookie: BindingCookieName(secure),
		stages:     defaultStages(),
		sem:        make(chan struct{}, cfg.MaxConcurrentVerifications),
		pages:      pages,
	}
	h.routes()
	return h, nil
}

// remoteHost is the default ClientIP: the host part of RemoteAddr.
func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// defaultErrorRedirect sends the error to the auth request's redirect URI,
// which the provider checked against the client's registration at
// /authorize: in the query, or in the fragment for response_mode=fragment,
// with state and iss (RFC 9207). form_post is answered in the query too.
func defaultErrorRedirect(issuer string) ErrorRedirectFunc {
	return func(_ context.Context, req session.AuthRequest, code, description string) string {
		u, err := url.Parse(req.RedirectURI)
		if req.RedirectURI == "" || err != nil {
			return ""
		}
		v := url.Values{}
		v.Set("error", code)
		if description != "" {
			v.Set("error_description", description)
		}
		if req.State != "" {
			v.Set("state", req.State)
		}
		v.Set("iss", issuer)
		if req.ResponseMode == "fragment" {
			u.Fragment, u.RawFragment = "", ""
			return u.String() + "#" + v.Encode()
		}
		q := u.Query()
		for k, vals := range v {
			q[k] = vals
		}
		u.RawQuery = q.Encode()
		return u.String()
	}
}
