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
	"time"

	"github.com/go-logr/logr"

	"github.com/orgkeeper/orgkeeper/internal/login"
	"github.com/orgkeeper/orgkeeper/internal/oidc"
	"github.com/orgkeeper/orgkeeper/internal/session"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
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
	// (one replica).
	Sessions session.Store
	// Lockouts is told when the login pages lock an account; nil records
	// nothing.
	Lockouts login.LockoutRecorder
	// ClientIP returns the client's address, for per-address limits; nil
	// means the direct peer. Behind reverse proxies, use a
	// clientip.Resolver built from --trusted-proxies.
	ClientIP func(*http.Request) string
	// Log receives server-side errors.
	Log logr.Logger
}

// The login pages confirm sign-out requests that carry no id_token_hint.
var _ oidc.LogoutConfirmer = (*login.Handler)(nil)

// Server is the issuer's HTTP server. It is a manager.Runnable that runs on
// every replica.
type Server struct {
	cfg      Config
	handler  http.Handler
	sessions session.Store
	memory   *session.Memory
	listener net.Listener
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
	s := &Server{cfg: cfg, sessions: cfg.Sessions, listener: cfg.Listener}
	if s.sessions == nil {
		s.memory = session.NewMemory()
		s.sessions = s.memory
	}
	pages, err := login.New(login.Config{
		Issuer:    cfg.Issuer,
		Snapshots: cfg.Snapshots,
		Sessions:  s.sessions,
		CallbackURL: func(_ context.Context, id string) string {
			return oidc.CallbackURL(cfg.Issuer, id)
		},
		Lockouts: cfg.Lockouts,
		ClientIP: cfg.ClientIP,
		Log:      cfg.Log,
	})
	if err != nil {
		return nil, err
	}
	provider, err := oidc.NewProvider(oidc.Config{
		Issuer:            cfg.Issuer,
		Snapshots:         cfg.Snapshots,
		Sessions:          s.sessions,
		Keys:              cfg.Keys,
		LoginURL:          func(id string) string { return login.PathStart + "?authRequestID=" + url.QueryEscape(id) },
		AllowInsecure:     insecure,
		SessionCookieName: login.SessionCookieName(!insecure),
		Logout:            pages,
		// The login pages and the provider's callback check the same
		// binding cookie, and refuse with the same branded page.
		BindingCookieName: login.BindingCookieName(!insecure),
		WrongBrowser:      http.HandlerFunc(pages.WrongBrowser),
		// One client-address resolver for the per-address limits of the
		// login pages and of /authorize.
		ClientIP: cfg.ClientIP,
	})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle(login.PathStart, pages)
	mux.Handle(login.PathStart+"/", pages)
	mux.Handle("/", provider)
	s.handler = mux
	return s, nil
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
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(shutdown); err != nil {
			return err
		}
		if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
}

// NeedLeaderElection: the issuer serves on every replica.
func (s *Server) NeedLeaderElection() bool { return false }

// Ready is a readiness check: the server has a snapshot and signing keys.
func (s *Server) Ready(*http.Request) error {
	if s.cfg.Snapshots.Load() == nil {
		return errors.New("waiting for the first snapshot")
	}
	if s.cfg.Keys.KeySet() == nil {
		return errors.New("waiting for the signing keys")
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
