package login_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/audit"
	"github.com/orgkeeper/orgkeeper/internal/audit/audittest"
	"github.com/orgkeeper/orgkeeper/internal/connector"
	"github.com/orgkeeper/orgkeeper/internal/connector/upstreamtest"
	"github.com/orgkeeper/orgkeeper/internal/login"
	"github.com/orgkeeper/orgkeeper/internal/session"
	"github.com/orgkeeper/orgkeeper/internal/telemetry"
	"github.com/orgkeeper/orgkeeper/internal/telemetry/telemetrytest"
)

// newObservedFedEnv is newFedEnv with metrics (on its own registry) and
// audit on.
func newObservedFedEnv(t *testing.T) (*env, *fedWorld, *prometheus.Registry, *audittest.Recorder) {
	t.Helper()
	reg, sink := prometheus.NewRegistry(), &audittest.Recorder{}
	m := telemetrytest.New(t, reg)
	fake := upstreamtest.NewFake(t)
	fake.Set(func(f *upstreamtest.Fake) { f.Public = true })
	w := &fedWorld{t: t, fake: fake, mode: iamv1.ProvisioningModeJustInTime, password: true}
	e := newEnvWith(t, func(c *login.Config) {
		c.Connectors = connector.NewRegistry(connector.Config{AllowLoopbackHTTP: true, Timeout: 5 * time.Second})
		c.Provisioner = w
		c.ProvisionWait = time.Second
		c.Snapshots = w
		c.Metrics, c.Audit = m, sink
	})
	w.snaps, w.now = e.snaps, e.clock.Now()
	w.rebuild()
	return e, w, reg, sink
}

func TestAProviderThatIsDownIsCountedByProviderAndReason(t *testing.T) {
	e, w, reg, sink := newObservedFedEnv(t)
	w.fake.Set(func(f *upstreamtest.Fake) {
		f.Handlers["/.well-known/openid-configuration"] = func(rw http.ResponseWriter, _ *http.Request) {
			rw.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	id := e.authorize(func(a *session.AuthRequest) { a.Organization = "acme" })
	refused(t, e, id, e.chooseProvider(e.start(id), "corp"), "did not answer in time")

	want := `
# HELP orgkeeper_upstream_errors_total Sign-ins at an upstream identity provider that failed, by provider (namespace/name) and reason.
# TYPE orgkeeper_upstream_errors_total counter
orgkeeper_upstream_errors_total{provider="acme/corp",reason="Unavailable"} 1
# HELP orgkeeper_signins_total Interactive sign-ins that ended, by organization, method (password, upstream, sso) and result (success, invalid_credentials, locked, disabled, denied, upstream_error, error).
# TYPE orgkeeper_signins_total counter
orgkeeper_signins_total{method="upstream",organization="acme",result="upstream_error"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "orgkeeper_upstream_errors_total", "orgkeeper_signins_total"); err != nil {
		t.Error(err)
	}
	if got := sink.Of(audit.EventSignIn); len(got) != 1 || got[0].Result != audit.ResultFailure || got[0].Reason != "Unavailable" {
		t.Errorf("sign-in audit events: %+v, want one failure for Unavailable", got)
	}
}

func TestAJustInTimeSignInIsAuditedAsAProvisioningAndASignIn(t *testing.T) {
	e, w, reg, sink := newObservedFedEnv(t)
	id := e.authorize(func(a *session.AuthRequest) { a.Organization = "acme" })
	ar := signedIn(t, e, id, e.do(atProvider(t, w.fake, e.chooseProvider(e.start(id), "corp"))))
	// The done step runs on the way to the callback.
	e.start(id)

	if got := sink.Of(audit.EventFederationCreate); len(got) != 1 || got[0].UserID != ar.UserID || got[0].Provider != "acme/corp" || got[0].Organization != "acme" {
		t.Errorf("federation_provision events: %+v, want one for %s through acme/corp", got, ar.UserID)
	}
	if got := sink.Of(audit.EventSignIn); len(got) != 1 || got[0].Result != audit.ResultSuccess || got[0].Method != telemetry.MethodUpstream || got[0].UserID != ar.UserID {
		t.Errorf("sign-in events: %+v, want one upstream success for %s", got, ar.UserID)
	}
	if n := testutil.ToFloat64(counter(t, reg, "orgkeeper_signins_total")); n != 1 {
		t.Errorf("sign-ins counted: %v, want 1", n)
	}
}

// counter sums a counter family of reg.
func counter(t *testing.T, reg *prometheus.Registry, name string) prometheus.Collector {
	t.Helper()
	total := 0.0
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				total += m.GetCounter().GetValue()
			}
		}
	}
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "sum"})
	c.Add(total)
	return c
}
