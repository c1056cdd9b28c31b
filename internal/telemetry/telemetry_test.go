package telemetry_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/orgkeeper/orgkeeper/internal/session"
	"github.com/orgkeeper/orgkeeper/internal/session/redisstore"
	"github.com/orgkeeper/orgkeeper/internal/session/redisstore/redistest"
	"github.com/orgkeeper/orgkeeper/internal/session/sessiontest"
	"github.com/orgkeeper/orgkeeper/internal/telemetry"
)

func newMetrics(t *testing.T, maxOrgs, maxClients int) (*telemetry.Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := telemetry.New(telemetry.Options{Registerer: reg, MaxOrganizations: maxOrgs, MaxClients: maxClients})
	if err != nil {
		t.Fatal(err)
	}
	return m, reg
}

func TestThousandsOfOrganizationsAndClientsMakeABoundedNumberOfSeries(t *testing.T) {
	m, reg := newMetrics(t, 5, 3)
	for i := range 2000 {
		org, client := fmt.Sprintf("org-%d", i), fmt.Sprintf("client-%d", i)
		m.SignIn(org, telemetry.MethodPassword, telemetry.SignInSuccess)
		m.SignIn(org, telemetry.MethodPassword, telemetry.SignInInvalidCredentials)
		m.Lockout(org, telemetry.LockoutAccount)
		m.TokenIssued("client_credentials", client)
		m.UpstreamError(org+"/idp", "Unavailable")
	}
	for _, c := range []struct {
		family string
		want   int
	}{
		// (5 organizations + other) x 2 results.
		{"orgkeeper_signins_total", 6 * 2},
		{"orgkeeper_lockouts_total", 6},
		// 3 clients + other.
		{"orgkeeper_tokens_issued_total", 4},
		{"orgkeeper_upstream_errors_total", 6},
	} {
		if got := testutil.CollectAndCount(reg, c.family); got != c.want {
			t.Errorf("%s: %d series, want %d", c.family, got, c.want)
		}
	}
	// Everything is counted, the later ones under "other".
	want := `
# HELP orgkeeper_tokens_issued_total Access tokens issued at the token endpoint, by grant type and client.
# TYPE orgkeeper_tokens_issued_total counter
orgkeeper_tokens_issued_total{client="client-0",grant_type="client_credentials"} 1
orgkeeper_tokens_issued_total{client="client-1",grant_type="client_credentials"} 1
orgkeeper_tokens_issued_total{client="client-2",grant_type="client_credentials"} 1
orgkeeper_tokens_issued_total{client="other",grant_type="client_credentials"} 1997
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "orgkeeper_tokens_issued_total"); err != nil {
		t.Error(err)
	}
}

func TestACapOfZeroPutsEveryOrganizationUnderOther(t *testing.T) {
	m, reg := newMetrics(t, 0, 0)
	m.SignIn("acme", telemetry.MethodPassword, telemetry.SignInSuccess)
	m.SignIn("globex", telemetry.MethodPassword, telemetry.SignInSuccess)
	m.SignIn("", telemetry.MethodPassword, telemetry.SignInDenied)
	want := `
# HELP orgkeeper_signins_total Interactive sign-ins that ended, by organization, method (password, upstream, sso) and result (success, invalid_credentials, locked, disabled, denied, upstream_error, error).
# TYPE orgkeeper_signins_total counter
orgkeeper_signins_total{method="password",organization="none",result="denied"} 1
orgkeeper_signins_total{method="password",organization="other",result="success"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "orgkeeper_signins_total"); err != nil {
		t.Error(err)
	}
}

func TestANilMetricsRecordsNothingAndDoesNotPanic(t *testing.T) {
	var m *telemetry.Metrics
	m.SignIn("acme", "password", "success")
	m.TokenIssued("authorization_code", "portal")
	m.Lockout("acme", "account")
	m.SnapshotBuilt(time.Millisecond, nil, telemetry.SnapshotSize{})
	m.ProjectionLag(time.Second)
	m.StoreError("redis", "get")
	m.UpstreamError("acme/okta", "Unavailable")
	s := session.NewMemory()
	if got := m.InstrumentStore(s, "memory"); got != session.Store(s) {
		t.Error("a nil Metrics must return the store as it is")
	}
}

func TestTwoMetricsOnOneRegistryShareTheCollectors(t *testing.T) {
	reg := prometheus.NewRegistry()
	a, err := telemetry.New(telemetry.Options{Registerer: reg, MaxOrganizations: 10})
	if err != nil {
		t.Fatal(err)
	}
	b, err := telemetry.New(telemetry.Options{Registerer: reg, MaxOrganizations: 10})
	if err != nil {
		t.Fatalf("a second manager in the process must reuse the metrics: %v", err)
	}
	a.Lockout("acme", "account")
	b.Lockout("acme", "account")
	want := `
# HELP orgkeeper_lockouts_total Locks set after repeated failed sign-ins, by organization and scope (account, address).
# TYPE orgkeeper_lockouts_total counter
orgkeeper_lockouts_total{organization="acme",scope="account"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "orgkeeper_lockouts_total"); err != nil {
		t.Error(err)
	}
}

func TestTheInstrumentedStoreStillPassesTheConformanceSuite(t *testing.T) {
	m, reg := newMetrics(t, 10, 10)
	sessiontest.RunConformance(t, func(_ *testing.T, c *sessiontest.FakeClock) session.Store {
		return m.InstrumentStore(session.NewMemory(session.WithClock(c.Now)), "memory")
	})
	// Misses, reuse and revocations are answers: the suite causes many,
	// and none is a failure. (Its cancelled-context cases are not either.)
	if n := testutil.CollectAndCount(reg, "orgkeeper_session_store_errors_total"); n != 0 {
		out, _ := reg.Gather()
		t.Errorf("the conformance suite counted %d store error series: %v", n, out)
	}
}

func TestARedisStoreThatStopsAnsweringCountsItsFailures(t *testing.T) {
	srv := redistest.Start(t)
	m, reg := newMetrics(t, 10, 10)
	s := m.InstrumentStore(redisstore.New(srv.Client(t)), "redis")
	ctx := context.Background()
	if _, err := s.RecordFailure(ctx, "ip:192.0.2.1", time.Minute); err != nil {
		t.Fatalf("with Redis up: %v", err)
	}
	if _, err := s.GetAuthRequest(ctx, "nobody"); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("a missing auth request: %v, want ErrNotFound", err)
	}
	srv.Stop()
	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := s.RecordFailure(short, "ip:192.0.2.1", time.Minute); err == nil {
		t.Fatal("RecordFailure succeeded with Redis stopped")
	}
	if _, err := s.GetAuthRequest(short, "nobody"); err == nil {
		t.Fatal("GetAuthRequest succeeded with Redis stopped")
	}
	want := `
# HELP orgkeeper_session_store_errors_total Session store operations that failed (not a miss or an expected refusal), by store (memory, redis) and operation.
# TYPE orgkeeper_session_store_errors_total counter
orgkeeper_session_store_errors_total{operation="get_auth_request",store="redis"} 1
orgkeeper_session_store_errors_total{operation="record_failure",store="redis"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "orgkeeper_session_store_errors_total"); err != nil {
		t.Error(err)
	}
}

func TestAnUpdateFunctionsOwnErrorIsNotAStoreFailure(t *testing.T) {
	m, reg := newMetrics(t, 10, 10)
	s := m.InstrumentStore(session.NewMemory(), "memory")
	ctx := context.Background()
	ar, err := s.CreateAuthRequest(ctx, session.AuthRequest{ClientID: "portal", ExpiresAt: time.Now().Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	mine := errors.New("already done")
	if _, err := s.UpdateAuthRequest(ctx, ar.ID, func(*session.AuthRequest) error { return mine }); !errors.Is(err, mine) {
		t.Fatalf("update: %v, want the function's error", err)
	}
	if n := testutil.CollectAndCount(reg, "orgkeeper_session_store_errors_total"); n != 0 {
		t.Errorf("an update function's refusal counted as a store failure")
	}
}
