// Package app wires Orgkeeper's parts into one controller-runtime manager:
// the reconcilers (leader only), the projection and the OIDC server (every
// replica), probes, metrics and leader election. `orgkeeper manager`,
// `orgkeeper dev` and the end-to-end tests all run exactly this wiring.
package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/apiwrite"
	"github.com/orgkeeper/orgkeeper/internal/audit"
	"github.com/orgkeeper/orgkeeper/internal/connector"
	"github.com/orgkeeper/orgkeeper/internal/controller"
	"github.com/orgkeeper/orgkeeper/internal/controller/projection"
	"github.com/orgkeeper/orgkeeper/internal/login"
	"github.com/orgkeeper/orgkeeper/internal/mail"
	"github.com/orgkeeper/orgkeeper/internal/server"
	"github.com/orgkeeper/orgkeeper/internal/session"
	"github.com/orgkeeper/orgkeeper/internal/session/redisstore"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
	"github.com/orgkeeper/orgkeeper/internal/telemetry"
)

// LeaderElectionID is the Lease that replicas compete for.
const LeaderElectionID = "orgkeeper-leader"

// Settings are what `manager`, `dev` and tests choose differently.
type Settings struct {
	Controller  controller.Options
	LeaderElect bool
	// LeaseDuration, RenewDeadline and RetryPeriod tune leader election;
	// zero means controller-runtime's defaults (15s, 10s, 2s). A standby
	// replica takes over at most LeaseDuration (plus RetryPeriod) after the
	// leader stopped renewing.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// MetricsAddr and HealthAddr: "0" disables.
	MetricsAddr string
	HealthAddr  string
	// PprofAddr serves Go's profiling endpoints (/debug/pprof/) over plain
	// HTTP, without authentication: bind it to loopback, for measurements
	// only. "" or "0" disables (the default).
	PprofAddr string
	// Issuer turns the OIDC server on; it serves on Listener if set, else
	// on HTTPAddr.
	Issuer                  string
	HTTPAddr                string
	Listener                net.Listener
	TLSCertFile, TLSKeyFile string
	// ClientIP returns a request's client address for per-address limits
	// (from --trusted-proxies); nil means the direct peer.
	ClientIP func(*http.Request) string
	// Sessions is the OIDC server's session store. Nil means an in-memory
	// store, which serves a single replica only: several replicas behind
	// one issuer need a shared store (redisstore).
	Sessions session.Store
	// ServerKeys overrides where the op crypto key and the CSRF key come
	// from. Nil (the normal case) means the Secret orgkeeper-server-keys in
	// the system namespace, made and rotated by the leader and loaded by
	// every replica, so that all replicas share them.
	ServerKeys server.ServerKeysGetter
	// Connectors signs users in at upstream identity providers. Nil means
	// the connector's defaults (https providers on public addresses, and
	// on Controller.UpstreamAllowedNetworks); orgkeeper dev and tests pass
	// one that allows loopback http or trusts a test CA.
	Connectors *connector.Registry
	// ShutdownDelay is how long the issuer keeps serving after the stop
	// signal while readiness already fails, so that load balancers stop
	// sending it requests before it stops accepting them. Zero stops
	// accepting at once (dev, tests).
	ShutdownDelay time.Duration
	// ShutdownTimeout bounds how long requests in flight may take to finish
	// once the issuer stops accepting; zero means
	// server.DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// Mail delivers invitations and password-reset links (SMTP, or .eml
	// files in dev). Nil sends nothing: invitations wait (the OrgUser's
	// status says why) and "Forgot password?" is not offered.
	Mail mail.Sender
	// InvitationTTL is how long an invitation link works; zero means
	// controller.DefaultInvitationTTL. ResetTTL the same for password
	// reset links (zero: login.DefaultResetTTL).
	InvitationTTL, ResetTTL time.Duration
	// RegistrationTTL is how long a self-registration's confirmation link
	// works; zero means login.DefaultRegistrationTTL.
	RegistrationTTL time.Duration
	// PerOrganization bounds the mail sent per hour for one customer (a
	// top-level organization with its descendants); zero means
	// controller.DefaultOutboxMailPerOrganization.
	PerOrganization int
	// MailLimits bound the mail the sign-in pages' forms send; zero fields
	// take login's defaults.
	MailLimits login.MailLimits
	// Signup bounds self-service signup of organizations (offered when the
	// root's spec.selfService.enabled and Mail is set); SignupTTL is how
	// long its link works (zero: login.DefaultSignupTTL).
	Signup    apiwrite.SignupOptions
	SignupTTL time.Duration
	// Log receives the OIDC server's errors.
	Log logr.Logger
	// Metrics bounds and places Orgkeeper's own metrics.
	Metrics MetricsSettings
	// Audit receives security events; nil writes them as JSON lines
	// through controller-runtime's logger, named "audit".
	Audit audit.Sink
}

// MetricsSettings configure Orgkeeper's own metrics.
type MetricsSettings struct {
	// Registerer takes them; nil means controller-runtime's registry,
	// which the manager serves on MetricsAddr. Tests pass their own.
	Registerer prometheus.Registerer
	// MaxOrganizations caps the organization (and identity provider)
	// label's distinct values, MaxClients the client label's; zero means
	// telemetry.DefaultMaxLabelValues, negative drops the label (every
	// series says "other").
	MaxOrganizations, MaxClients int
}

func (m MetricsSettings) options() telemetry.Options {
	limit := func(n int) int {
		switch {
		case n == 0:
			return telemetry.DefaultMaxLabelValues
		case n < 0:
			return 0
		}
		return n
	}
	reg := m.Registerer
	if reg == nil {
		reg = ctrlmetrics.Registry
	}
	return telemetry.Options{Registerer: reg, MaxOrganizations: limit(m.MaxOrganizations), MaxClients: limit(m.MaxClients)}
}

// gracePeriod is how long the manager may take to stop: the issuer's delay
// and timeout, plus the write queue's drain and the reconcilers' last passes,
// which run alongside.
func (s Settings) gracePeriod() time.Duration {
	timeout := s.ShutdownTimeout
	if timeout <= 0 {
		timeout = server.DefaultShutdownTimeout
	}
	return s.ShutdownDelay + timeout + 10*time.Second
}

// NewScheme knows the Kubernetes kinds and Orgkeeper's.
func NewScheme() (*runtime.Scheme, error) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := iamv1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	return scheme, nil
}

// NewManager builds the manager with every reconciler, the projection, the
// OIDC server (with an issuer), health and readiness checks, metrics and
// leader election. The server is nil without an issuer.
func NewManager(cfg *rest.Config, s Settings) (manager.Manager, *server.Server, error) {
	scheme, err := NewScheme()
	if err != nil {
		return nil, nil, err
	}
	metrics, err := telemetry.New(s.Metrics.options())
	if err != nil {
		return nil, nil, err
	}
	auditSink := s.Audit
	if auditSink == nil {
		auditSink = audit.NewLogSink(ctrl.Log)
	}
	proj := &projection.Projection{SystemNamespace: s.Controller.SystemNamespace,
		AllowLoopbackIssuers: s.Controller.AllowLoopbackIssuers, Metrics: metrics, Audit: auditSink}
	cacheOpts := controller.CacheOptions(s.Controller)
	// The projection notes each object's last write (for the lag metric
	// and the audit line) before the cache drops managedFields.
	cacheOpts.DefaultTransform = proj.TrackWrites(cacheOpts.DefaultTransform)
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme: scheme,
		Cache:  cacheOpts,
		Metrics: metricsserver.Options{
			BindAddress:    s.MetricsAddr,
			SecureServing:  true,
			FilterProvider: filters.WithAuthenticationAndAuthorization,
			// HTTP/1.1 only: HTTP/2 exposes the server to rapid-reset and
			// stream-cancellation attacks (CVE-2023-44487, CVE-2023-39325).
			TLSOpts: []func(*tls.Config){func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} }},
		},
		// Controller names need not be unique per process: tests run
		// several replicas (managers) in one process.
		Controller:                    config.Controller{SkipNameValidation: ptr.To(true)},
		HealthProbeBindAddress:        s.HealthAddr,
		PprofBindAddress:              s.PprofAddr,
		LeaderElection:                s.LeaderElect,
		LeaderElectionID:              LeaderElectionID,
		LeaderElectionNamespace:       s.Controller.SystemNamespace,
		LeaderElectionReleaseOnCancel: true,
		GracefulShutdownTimeout:       ptr.To(s.gracePeriod()),
		LeaseDuration:                 positive(s.LeaseDuration),
		RenewDeadline:                 positive(s.RenewDeadline),
		RetryPeriod:                   positive(s.RetryPeriod),
	})
	if err != nil {
		return nil, nil, fmt.Errorf("creating the manager: %w", err)
	}
	snapshots := &snapshot.Store{}
	proj.Reader, proj.Snapshots, proj.Elected = mgr.GetClient(), snapshots, mgr.Elected()
	if err := proj.SetupWithManager(mgr); err != nil {
		return nil, nil, err
	}
	s.Controller.Server = proj
	s.Controller.Mail = controller.MailOptions{Sender: s.Mail, Snapshots: snapshots.Load,
		IssuerURL: s.Issuer, InvitationTTL: s.InvitationTTL, PerOrganization: s.PerOrganization}
	if err := controller.SetupWithManager(mgr, s.Controller); err != nil {
		return nil, nil, err
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return nil, nil, err
	}
	if err := mgr.AddReadyzCheck("caches", cachesSynced(mgr)); err != nil {
		return nil, nil, err
	}
	if s.Issuer == "" {
		return mgr, nil, nil
	}
	// The server's writes to the API (lockouts) go through one queue per
	// replica, never from request goroutines; provisioning a user who
	// signs in through an upstream provider is the exception, written in
	// the request (bounded), since the sign-in waits for the user.
	writes, err := apiwrite.New(apiwrite.Options{
		Client:          mgr.GetClient(),
		Reader:          mgr.GetAPIReader(),
		Log:             s.Log.WithName("apiwrite"),
		Events:          mgr.GetEventRecorder("orgkeeper-server"),
		SystemNamespace: s.Controller.SystemNamespace,
	})
	if err != nil {
		return nil, nil, err
	}
	if err := mgr.Add(writes); err != nil {
		return nil, nil, err
	}
	// Self-registrations that expire unconfirmed are deleted by the leader.
	if err := mgr.Add(apiwrite.RegistrationSweeper{Writer: writes}); err != nil {
		return nil, nil, err
	}
	var signups login.SignupConfig
	if s.Mail != nil {
		writes.EnableSignup(s.Signup)
		signups = login.SignupConfig{Signups: writes, TTL: s.SignupTTL}
		if err := mgr.Add(&apiwrite.SignupJanitor{Writer: writes}); err != nil {
			return nil, nil, err
		}
	}
	serverKeys := s.ServerKeys
	if serverKeys == nil {
		serverKeys = proj
	}
	srv, err := server.New(server.Config{
		Issuer:      s.Issuer,
		Addr:        s.HTTPAddr,
		Listener:    s.Listener,
		TLSCertFile: s.TLSCertFile,
		TLSKeyFile:  s.TLSKeyFile,
		Snapshots:   snapshots,
		Keys:        proj,
		ServerKeys:  serverKeys,
		Sessions:    s.Sessions,
		Lockouts:    writes,
		Provisioner: writes,
		Connectors:  connectors(s),
		Onboarding:  onboarding(s, writes),
		Signup:      signups,
		ClientIP:    s.ClientIP,
		Log:         s.Log,
		Metrics:     metrics,
		Audit:       auditSink,
		// "" when the server makes its own memory store.
		SessionStoreName: sessionStoreName(s.Sessions),
		// How long the requests in flight get once the drain's delay
		// is over.
		ShutdownTimeout: s.ShutdownTimeout,
	})
	if err != nil {
		return nil, nil, err
	}
	if _, err := srv.Listen(); err != nil {
		return nil, nil, err
	}
	drained := &drain{server: srv, delay: s.ShutdownDelay, log: s.Log}
	if err := mgr.Add(drained); err != nil {
		return nil, nil, err
	}
	if err := mgr.AddReadyzCheck("issuer", srv.Ready); err != nil {
		return nil, nil, err
	}
	if err := mgr.AddReadyzCheck("shutdown", drained.Ready); err != nil {
		return nil, nil, err
	}
	if p, ok := s.Sessions.(pinger); ok {
		// A replica that cannot reach the shared session store cannot
		// sign anyone in: take it out of rotation until it can.
		if err := mgr.AddReadyzCheck("sessions", func(req *http.Request) error {
			ctx, cancel := context.WithTimeout(req.Context(), time.Second)
			defer cancel()
			return p.Ping(ctx)
		}); err != nil {
			return nil, nil, err
		}
	}
	return mgr, srv, nil
}

// sessionStoreName labels the session store's failures.
func sessionStoreName(s session.Store) string {
	switch s.(type) {
	case nil:
		return ""
	case *session.Memory:
		return "memory"
	case *redisstore.Store:
		return "redis"
	}
	return "custom"
}

// positive is &d, or nil (the default) when d is not positive.
func positive(d time.Duration) *time.Duration {
	if d <= 0 {
		return nil
	}
	return &d
}

// onboarding turns on the invitation and reset pages. Invitation links
// are redeemed whatever the mail settings (a link mailed before a restart
// without SMTP still works); "Forgot password?" needs mail.
func onboarding(s Settings, w *apiwrite.Writer) login.OnboardingConfig {
	c := login.OnboardingConfig{Tokens: w, Acceptor: w, ResetTTL: s.ResetTTL, RegistrationTTL: s.RegistrationTTL, Limits: s.MailLimits}
	if s.Mail != nil {
		c.Resets = w
		c.Registrations = w
	}
	return c
}

// pinger is a session store that can check its connection (redisstore).
type pinger interface {
	Ping(ctx context.Context) error
}

// cachesSynced is ready once the manager's informers have synced.
func cachesSynced(mgr manager.Manager) healthz.Checker {
	return func(req *http.Request) error {
		ctx, cancel := context.WithTimeout(req.Context(), time.Second)
		defer cancel()
		if !mgr.GetCache().WaitForCacheSync(ctx) {
			return errors.New("informer caches are not synced yet")
		}
		return nil
	}
}

// connectors is the registry the server signs users in with: the one
// given, else one with the installation's allowed networks, the same as
// the IdentityProvider reconciler's discovery uses.
func connectors(s Settings) *connector.Registry {
	if s.Connectors != nil {
		return s.Connectors
	}
	return connector.NewRegistry(connector.Config{AllowedNetworks: s.Controller.UpstreamAllowedNetworks})
}
