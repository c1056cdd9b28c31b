package telemetry

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Results of a sign-in: the values of orgkeeper_signins_total's result
// label.
const (
	SignInSuccess            = "success"
	SignInInvalidCredentials = "invalid_credentials" // wrong password or unknown user
	SignInLocked             = "locked"              // account or address over its limit
	SignInDisabled           = "disabled"            // the user is disabled
	SignInDenied             = "denied"              // the policy refused it (suspended, not shared, MFA, ...)
	SignInUpstreamError      = "upstream_error"      // the upstream identity provider failed or was not trusted
	SignInError              = "error"               // a server-side failure (session store)
)

// Methods of a sign-in: the values of orgkeeper_signins_total's method
// label.
const (
	MethodPassword = "password"
	MethodUpstream = "upstream"
	MethodSSO      = "sso" // the browser's existing login session
)

// Scopes of a lockout: orgkeeper_lockouts_total's scope label.
const (
	LockoutAccount = "account"
	LockoutAddress = "address"
)

// Options configure New.
type Options struct {
	// Registerer takes the collectors. Required; the manager gives
	// controller-runtime's registry (served on --metrics-addr).
	Registerer prometheus.Registerer
	// MaxOrganizations caps the distinct values of the organization label
	// (and of the identity provider label); later ones are "other". 0
	// puts every organization under "other".
	MaxOrganizations int
	// MaxClients caps the distinct values of the client label.
	MaxClients int
}

// Metrics are Orgkeeper's collectors. A nil *Metrics records nothing, so
// that every method can be called unconditionally.
type Metrics struct {
	orgs, clients, providers *LabelLimiter

	signIns         *prometheus.CounterVec
	tokens          *prometheus.CounterVec
	requestDuration *prometheus.HistogramVec
	lockouts        *prometheus.CounterVec
	buildDuration   prometheus.Histogram
	builds          *prometheus.CounterVec
	snapshotObjects *prometheus.GaugeVec
	projectionLag   prometheus.Histogram
	storeErrors     *prometheus.CounterVec
	upstreamErrors  *prometheus.CounterVec
}

// New creates the collectors and registers them on o.Registerer.
func New(o Options) (*Metrics, error) {
	if o.Registerer == nil {
		return nil, errors.New("telemetry: a Registerer is required")
	}
	m := &Metrics{
		orgs:      NewLabelLimiter(o.MaxOrganizations),
		clients:   NewLabelLimiter(o.MaxClients),
		providers: NewLabelLimiter(o.MaxOrganizations),
		signIns: counterVec("orgkeeper_signins_total",
			"Interactive sign-ins that ended, by organization, method (password, upstream, sso) and result "+
				"(success, invalid_credentials, locked, disabled, denied, upstream_error, error).",
			"organization", "method", "result"),
		tokens: counterVec("orgkeeper_tokens_issued_total",
			"Access tokens issued at the token endpoint, by grant type and client.",
			"grant_type", "client"),
		requestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "orgkeeper_http_request_duration_seconds",
			Help: "Time to answer an issuer request, by handler (token, login, authorize, callback, userinfo, " +
				"introspect, revoke, end_session, keys, discovery, other) and HTTP status code.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"handler", "code"}),
		lockouts: counterVec("orgkeeper_lockouts_total",
			"Locks set after repeated failed sign-ins, by organization and scope (account, address).",
			"organization", "scope"),
		buildDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "orgkeeper_snapshot_build_duration_seconds",
			Help:    "Time to list the cache and build one snapshot.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12),
		}),
		builds: counterVec("orgkeeper_snapshot_builds_total",
			"Snapshot builds, by result (published, error).",
			"result"),
		snapshotObjects: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "orgkeeper_snapshot_objects",
			Help: "Objects in the snapshot being served, by kind (organizations, users, clients, identity_providers).",
		}, []string{"kind"}),
		projectionLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "orgkeeper_projection_lag_seconds",
			Help: "Time from the newest API write a snapshot includes to the moment it is served " +
				"(the write's time has one-second precision).",
			Buckets: []float64{.5, 1, 2, 3, 5, 10, 30, 60, 120, 300},
		}),
		storeErrors: counterVec("orgkeeper_session_store_errors_total",
			"Session store operations that failed (not a miss or an expected refusal), by store (memory, redis) and operation.",
			"store", "operation"),
		upstreamErrors: counterVec("orgkeeper_upstream_errors_total",
			"Sign-ins at an upstream identity provider that failed, by provider (namespace/name) and reason.",
			"provider", "reason"),
	}
	var errs []error
	reg := func(c any) {
		if err := register(o.Registerer, c); err != nil {
			errs = append(errs, err)
		}
	}
	reg(&m.signIns)
	reg(&m.tokens)
	reg(&m.requestDuration)
	reg(&m.lockouts)
	reg(&m.buildDuration)
	reg(&m.builds)
	reg(&m.snapshotObjects)
	reg(&m.projectionLag)
	reg(&m.storeErrors)
	reg(&m.upstreamErrors)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return m, nil
}

// counterVec is a counter named name with the given labels.
func counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
}

// register registers *c, or points *c at the collector a previous New
// registered on the same registry (several managers in one process, as in
// tests, share controller-runtime's registry).
func register(r prometheus.Registerer, c any) error {
	switch p := c.(type) {
	case **prometheus.CounterVec:
		return registerAs(r, p)
	case **prometheus.HistogramVec:
		return registerAs(r, p)
	case **prometheus.GaugeVec:
		return registerAs(r, p)
	case *prometheus.Histogram:
		return registerAs(r, p)
	}
	return fmt.Errorf("telemetry: cannot register %T", c)
}

func registerAs[T prometheus.Collector](r prometheus.Registerer, c *T) error {
	err := r.Register(*c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(T); ok {
			*c = existing
			return nil
		}
	}
	if err != nil {
		return fmt.Errorf("telemetry: registering a metric: %w", err)
	}
	return nil
}

// SignIn counts a sign-in that ended. org is the organization's handle, ""
// when the sign-in ended before it was known.
func (m *Metrics) SignIn(org, method, result string) {
	if m == nil {
		return
	}
	if method == "" {
		method = LabelNone
	}
	m.signIns.WithLabelValues(m.orgs.Value(org), method, result).Inc()
}

// TokenIssued counts an access token issued to client by grant type.
func (m *Metrics) TokenIssued(grantType, client string) {
	if m == nil {
		return
	}
	m.tokens.WithLabelValues(grantType, m.clients.Value(client)).Inc()
}

// Lockout counts a lock of an account or an address of org.
func (m *Metrics) Lockout(org, scope string) {
	if m == nil {
		return
	}
	m.lockouts.WithLabelValues(m.orgs.Value(org), scope).Inc()
}

// SnapshotBuilt records one build: its duration, and when it was
// published the size of what is now served.
func (m *Metrics) SnapshotBuilt(d time.Duration, err error, size SnapshotSize) {
	if m == nil {
		return
	}
	m.buildDuration.Observe(d.Seconds())
	if err != nil {
		m.builds.WithLabelValues("error").Inc()
		return
	}
	m.builds.WithLabelValues("published").Inc()
	m.snapshotObjects.WithLabelValues("organizations").Set(float64(size.Organizations))
	m.snapshotObjects.WithLabelValues("users").Set(float64(size.Users))
	m.snapshotObjects.WithLabelValues("clients").Set(float64(size.Clients))
	m.snapshotObjects.WithLabelValues("identity_providers").Set(float64(size.IdentityProviders))
}

// SnapshotSize counts what a snapshot serves.
type SnapshotSize struct {
	Organizations, Users, Clients, IdentityProviders int
}

// ProjectionLag records the time from an API write to its being served.
func (m *Metrics) ProjectionLag(d time.Duration) {
	if m == nil {
		return
	}
	m.projectionLag.Observe(max(d, 0).Seconds())
}

// StoreError counts a failed session store operation.
func (m *Metrics) StoreError(store, operation string) {
	if m == nil {
		return
	}
	m.storeErrors.WithLabelValues(store, operation).Inc()
}

// UpstreamError counts a failed sign-in at provider (namespace/name) for
// reason (connector.Reason, a fixed set).
func (m *Metrics) UpstreamError(provider, reason string) {
	if m == nil {
		return
	}
	m.upstreamErrors.WithLabelValues(m.providers.Value(provider), reason).Inc()
}
