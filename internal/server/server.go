// Package server assembles the OIDC side of Orgkeeper into one HTTP server:
// the zitadel/oidc provider (internal/oidc), the login pages (internal/login)
// and the ephemeral session store, all reading the current snapshot. It runs
// on every replica and never talks to the API server.
package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"

	"github.com/orgkeeper/orgkeeper/internal/audit"
	"github.com/orgkeeper/orgkeeper/internal/connector"
	"github.com/orgkeeper/orgkeeper/internal/keys"
	"github.com/orgkeeper/orgkeeper/internal/login"
	"github.com/orgkeeper/orgkeeper/internal/oidc"
	"github.com/orgkeeper/orgkeeper/internal/session"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
	"github.com/orgkeeper/orgkeeper/internal/telemetry"
)

// Config configures the server.
type Config struct {
	// Issuer is the issuer URL (--issuer-url): https, or http on loopback.
	Issuer string
	// Addr is the listen address (--http-addr).
	Addr string
	// Listener, when set, is used instead of listening on Addr (tests take
	// a free port first and build the issuer URL from it).
	Listener net.Listener
	// TLSCertFile and TLSKeyFile serve HTTPS; empty serves plain HTTP (for
	// loopback development or behind a TLS-terminating proxy).
	TLSCertFile, TLSKeyFile string
	// Snapshots is the serving model the projection publishes.
	Snapshots *snapshot.Store
	// Keys gives the current signing keys.
	Keys oidc.KeySetGetter
	// Sessions holds ephemeral OAuth state; nil means a new in-memory store
	// (one replica). Several replicas need one shared store (redisstore).
	Sessions session.Store
	// ServerKeys gives the crypto key (opaque access tokens) and CSRF key
	// that every replica shares; the server serves once it has them and
	// picks up rotated keys. Nil means random keys of this process (one
	// replica: opaque tokens and open login forms do not survive a restart).
	ServerKeys ServerKeysGetter
	// Lockouts is told when the login pages lock an account; nil records
	// nothing.
	Lockouts login.LockoutRecorder
	// Provisioner writes users who sign in through an upstream identity
	// provider (just-in-time creation, linking, profile sync); nil refuses
	// those sign-ins that need a write.
	Provisioner login.UserProvisioner
	// Connectors signs users in at upstream identity providers; nil means
	// a registry with the connector's defaults (https providers only).
	Connectors *connector.Registry
	// Onboarding turns on the invitation and password-reset pages; the
	// zero value leaves them off.
	Onboarding login.OnboardingConfig
	// Signup turns on self-service signup of organizations at /signup.
	Signup login.SignupConfig
	// ClientIP returns the client's address, for per-address limits; nil
	// means the direct peer. Behind reverse proxies, use a
	// clientip.Resolver built from --trusted-proxies.
	ClientIP func(*http.Request) string
	// ShutdownTimeout bounds how long requests in flight may take to
	// finish once the server stops accepting connections; the connections
	// still busy then are closed. Zero means DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// Log receives server-side errors.
	Log logr.Logger
	// Metrics counts sign-ins, tokens, request latency and session store
	// failures; nil counts nothing.
	Metrics *telemetry.Metrics
	// SessionStoreName labels the session store's failures (memory,
	// redis); default "memory" for the store the server makes, else
	// "custom".
	SessionStoreName string
	// Audit receives the security events of sign-in and of the token
	// endpoint; nil records none.
	Audit audit.Sink
}

// DefaultShutdownTimeout is how long requests in flight get to finish when
// the server stops, unless Config.ShutdownTimeout says otherwise.
const DefaultShutdownTimeout = 15 * time.Second

// The login pages confirm sign-out requests that carry no id_token_hint.
var _ oidc.LogoutConfirmer = (*login.Handler)(nil)

// ServerKeysGetter gives the current server keys, nil until they exist. The
// projection implements it.
type ServerKeysGetter interface {
	ServerKeys() *keys.ServerKeys
}

// staticKeys is the ServerKeysGetter of a server without shared keys.
type staticKeys struct{ k *keys.ServerKeys }

func (s staticKeys) ServerKeys() *keys.ServerKeys { return s.k }

// Server is the issuer's HTTP server. It is a manager.Runnable that runs on
// every replica.
type Server struct {
	cfg      Config
	insecure bool
	handler  http.Handler
	sessions session.Store
	memory   *session.Memory
	listener net.Listener

	// built is the provider and login pages made with the current server
	// keys; they are rebuilt when the keys rotate (rarely), since neither
	// zitadel's op nor the login pages change keys in place.
	buildMu sync.Mutex
	built   atomic.Pointer[builtHandler]
}

type builtHandler struct {
	keys    *keys.ServerKeys
	handler http.Handler
}

// New builds the server.
func New(cfg Config) (*Server, error) {
	u, err := url.Parse(cfg.Issuer)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("--issuer-url %q is not an absolute URL", cfg.Issuer)
	}
	insecure := u.Scheme == "http"
	if insecure && !isLoopback(u.Hostname()) {
		return nil, fmt.Errorf("--issuer-url %q: plain http is only allowed on a loopback address; use https", cfg.Issuer)
	}
	s := &Server{cfg: cfg, insecure: insecure, sessions: cfg.Sessions, listener: cfg.Listener}
	if s.sessions == nil {
		s.memory = session.NewMemory()
		s.sessions = s.memory
		if s.cfg.SessionStoreName == "" {
			s.cfg.SessionStoreName = "memory"
		}
	}
	if s.cfg.SessionStoreName == "" {
		s.cfg.SessionStoreName = "custom"
	}
	s.sessions = cfg.Metrics.InstrumentStore(s.sessions, s.cfg.SessionStoreName)
	if s.cfg.Connectors == nil {
		// One registry for the server's life: connectors keep the
		// providers' discovery and keys across key rotations (build).
		s.cfg.Connectors = connector.NewRegistry(connector.Config{})
	}
	if s.cfg.ServerKeys == nil {
		k, err := keys.NewServerKeys(time.Now(), nil)
		if err != nil {
			return nil, err
		}
		s.cfg.ServerKeys = staticKeys{k}
	}
	// Build once now, so that a configuration error is reported by New and
	// not by the first request; with shared keys not loaded yet, throwaway
	// keys serve only this check.
	k := s.cfg.ServerKeys.ServerKeys()
	probe := k
	if probe == nil {
		var err error
		if probe, err = keys.NewServerKeys(time.Now(), nil); err != nil {
			return nil, err
		}
	}
	h, err := s.build(probe)
	if err != nil {
		return nil, err
	}
	if k != nil {
		s.built.Store(&builtHandler{keys: k, handler: h})
	}
	// Every request gets its ID and client address for the audit line, and
	// its latency measured, before any handler runs.
	s.handler = audit.Middleware(cfg.ClientIP, cfg.Metrics.InstrumentHTTP(http.HandlerFunc(s.serve)))
	return s, nil
}

// build makes the provider and the login pages with keys k.
func (s *Server) build(k *keys.ServerKeys) (http.Handler, error) {
	cfg := s.cfg
	// Previous and next keys only decrypt and validate (see
	// keys.ServerKeys): tokens and forms made before a rotation, or by a
	// replica that loaded the rotated keys before this one, keep working.
	var previous [][32]byte
	var previousCSRF [][]byte
	for _, p := range []*[keys.ServerKeySize]byte{k.PreviousCrypto, k.NextCrypto} {
		if p != nil {
			previous = append(previous, *p)
		}
	}
	for _, p := range []*[keys.ServerKeySize]byte{k.PreviousCSRF, k.NextCSRF} {
		if p != nil {
			previousCSRF = append(previousCSRF, p[:])
		}
	}
	pages, err := login.New(login.Config{
		Issuer:    cfg.Issuer,
		Snapshots: cfg.Snapshots,
		Sessions:  s.sessions,
		CallbackURL: func(_ context.Context, id string) string {
			return oidc.CallbackURL(cfg.Issuer, id)
		},
		Lockouts:         cfg.Lockouts,
		Provisioner:      cfg.Provisioner,
		Connectors:       cfg.Connectors,
		Onboarding:       cfg.Onboarding,
		Signup:           cfg.Signup,
		ClientIP:         cfg.ClientIP,
		Log:              cfg.Log,
		Metrics:          cfg.Metrics,
		Audit:            cfg.Audit,
		CSRFKey:          k.CSRF[:],
		PreviousCSRFKeys: previousCSRF,
	})
	if err != nil {
		return nil, err
	}
	provider, err := oidc.NewProvider(oidc.Config{
		Issuer:             cfg.Issuer,
		Snapshots:          cfg.Snapshots,
		Sessions:           s.sessions,
		Keys:               cfg.Keys,
		LoginURL:           func(id string) string { return login.PathStart + "?authRequestID=" + url.QueryEscape(id) },
		AllowInsecure:      s.insecure,
		SessionCookieName:  login.SessionCookieName(!s.insecure),
		CryptoKey:          k.Crypto,
		PreviousCryptoKeys: previous,
		Logout:             pages,
		// The login pages and the provider's callback check the same
		// binding cookie, and refuse with the same branded page.
		BindingCookieName: login.BindingCookieName(!s.insecure),
		WrongBrowser:      http.HandlerFunc(pages.WrongBrowser),
		// One client-address resolver for the per-address limits of the
		// login pages and of /authorize.
		ClientIP: cfg.ClientIP,
		Metrics:  cfg.Metrics,
		Audit:    cfg.Audit,
	})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle(login.PathStart, pages)
	mux.Handle(login.PathStart+"/", pages)
	mux.Handle(login.PathSignup, pages)
	mux.Handle(login.PathSignup+"/", pages)
	mux.Handle("/", provider)
	return mux, nil
}

// current returns the handler for the current server keys, building it when
// they changed; nil while there are none.
func (s *Server) current() (http.Handler, error) {
	k := s.cfg.ServerKeys.ServerKeys()
	if k == nil {
		return nil, nil
	}
	if b := s.built.Load(); b != nil && b.keys == k {
		return b.handler, nil
	}
	s.buildMu.Lock()
	defer s.buildMu.Unlock()
	if b := s.built.Load(); b != nil && b.keys == k {
		return b.handler, nil
	}
	h, err := s.build(k)
	if err != nil {
		return nil, err
	}
	s.built.Store(&builtHandler{keys: k, handler: h})
	return h, nil
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	h, err := s.current()
	if err != nil {
		s.cfg.Log.Error(err, "building the issuer with new server keys")
		http.Error(w, "The sign-in service is temporarily unavailable. Please try again in a moment.", http.StatusServiceUnavailable)
		return
	}
	if h == nil {
		w.Header().Set("Retry-After", "1")
		http.Error(w, "The sign-in service is starting. Please try again in a moment.", http.StatusServiceUnavailable)
		return
	}
	h.ServeHTTP(w, r)
}

// Handler serves the issuer; tests mount it on httptest servers.
func (s *Server) Handler() http.Handler { return s.handler }

// Listen binds the address now, so that callers learn the port (":0") and
// bind errors before the manager starts.
func (s *Server) Listen() (net.Addr, error) {
	if s.listener != nil {
		return s.listener.Addr(), nil
	}
	l, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", s.cfg.Addr, err)
	}
	s.listener = l
	return l.Addr(), nil
}

// Start serves until ctx ends (manager.Runnable).
func (s *Server) Start(ctx context.Context) error {
	if s.listener == nil {
		if _, err := s.Listen(); err != nil {
			return err
		}
	}
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          nil,
	}
	// A shared store cleans up after itself (Redis TTLs); sweeping it from
	// every replica would only repeat the work.
	if s.memory != nil {
		go func() { _ = s.memory.RunGC(ctx, time.Minute) }()
	}
	errc := make(chan error, 1)
	go func() {
		if s.cfg.TLSCertFile != "" {
			errc <- srv.ServeTLS(s.listener, s.cfg.TLSCertFile, s.cfg.TLSKeyFile)
		} else {
			errc <- srv.Serve(s.listener)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		// Shutdown closes the listener and idle connections at once, then
		// waits for the requests in flight, each of which ends its
		// connection when it is answered.
		timeout := s.cfg.ShutdownTimeout
		if timeout <= 0 {
			timeout = DefaultShutdownTimeout
		}
		shutdown, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		if err := srv.Shutdown(shutdown); err != nil {
			// The bound passed: cut off what is still running, so that the
			// process stops within its grace period.
			s.cfg.Log.Info("requests still in flight when the shutdown timeout passed; closing their connections", "timeout", timeout.String())
			_ = srv.Close()
		}
		if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
}

// NeedLeaderElection: the issuer serves on every replica.
func (s *Server) NeedLeaderElection() bool { return false }

// Ready is a readiness check: the server has a snapshot, signing keys and
// server keys.
func (s *Server) Ready(*http.Request) error {
	if s.cfg.Snapshots.Load() == nil {
		return errors.New("waiting for the first snapshot")
	}
	if s.cfg.Keys.KeySet() == nil {
		return errors.New("waiting for the signing keys")
	}
	if s.cfg.ServerKeys.ServerKeys() == nil {
		return errors.New("waiting for the server keys (Secret orgkeeper-server-keys)")
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
