package oidc_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/orgkeeper/orgkeeper/internal/audit"
	"github.com/orgkeeper/orgkeeper/internal/audit/audittest"
	orgoidc "github.com/orgkeeper/orgkeeper/internal/oidc"
	"github.com/orgkeeper/orgkeeper/internal/telemetry/telemetrytest"
)

// observed turns metrics (on reg) and audit (into sink) on.
func observed(t *testing.T, reg *prometheus.Registry, sink audit.Sink) envOption {
	m := telemetrytest.New(t, reg)
	return func(_ *env, c *orgoidc.Config) { c.Metrics, c.Audit = m, sink }
}

func TestAMachineTokenIsCountedByGrantAndClientAndAudited(t *testing.T) {
	reg, sink := prometheus.NewRegistry(), &audittest.Recorder{}
	e := newEnv(t, world{}, observed(t, reg, sink))
	status, body := e.token("portal", clientSecret("portal"), url.Values{"grant_type": {"client_credentials"}, "organization": {"acme"}})
	if status != http.StatusOK {
		t.Fatalf("client_credentials: %d %v", status, body)
	}
	// A refused request issues nothing and counts nothing.
	if status, _ := e.token("portal", "wrong-secret", url.Values{"grant_type": {"client_credentials"}}); status == http.StatusOK {
		t.Fatal("a wrong client secret got a token")
	}
	want := `
# HELP orgkeeper_tokens_issued_total Access tokens issued at the token endpoint, by grant type and client.
# TYPE orgkeeper_tokens_issued_total counter
orgkeeper_tokens_issued_total{client="portal",grant_type="client_credentials"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "orgkeeper_tokens_issued_total"); err != nil {
		t.Error(err)
	}
	got := sink.Of(audit.EventTokenIssued)
	if len(got) != 1 || got[0].Client != "portal" || got[0].Organization != "acme" || got[0].Result != audit.ResultSuccess {
		t.Errorf("token_issued audit events: %+v, want one for portal in acme", got)
	}
}

func TestReusingARotatedRefreshTokenIsAudited(t *testing.T) {
	reg, sink := prometheus.NewRegistry(), &audittest.Recorder{}
	e := newEnv(t, world{}, observed(t, reg, sink))
	const redirect = "https://portal.example/callback"
	code := e.codeFor("portal", redirect, e.userID("acme", "alice"), verifier, "offline_access")
	status, body := e.redeem("portal", redirect, code, verifier)
	if status != http.StatusOK {
		t.Fatalf("redeem: %d %v", status, body)
	}
	rt1 := body["refresh_token"].(string)
	if status, body := e.refresh("portal", rt1); status != http.StatusOK {
		t.Fatalf("refresh: %d %v", status, body)
	}
	if status, _ := e.refresh("portal", rt1); status != http.StatusBadRequest {
		t.Fatalf("reusing a rotated token: %d, want 400", status)
	}
	if got := sink.Of(audit.EventRefreshTokenReuse); len(got) != 1 || got[0].Result != audit.ResultFailure || got[0].Reason != "reused" ||
		got[0].Client != "portal" {
		t.Errorf("refresh_token_reuse audit events: %+v, want one", got)
	}
	want := `
# HELP orgkeeper_tokens_issued_total Access tokens issued at the token endpoint, by grant type and client.
# TYPE orgkeeper_tokens_issued_total counter
orgkeeper_tokens_issued_total{client="portal",grant_type="authorization_code"} 1
orgkeeper_tokens_issued_total{client="portal",grant_type="refresh_token"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "orgkeeper_tokens_issued_total"); err != nil {
		t.Error(err)
	}
	// User tokens follow a sign-in that is audited already.
	if got := sink.Of(audit.EventTokenIssued); len(got) != 0 {
		t.Errorf("user tokens audited as machine tokens: %+v", got)
	}
}

func TestEndingASessionIsAuditedWithItsUserAndClient(t *testing.T) {
	reg, sink := prometheus.NewRegistry(), &audittest.Recorder{}
	e := newEnv(t, world{}, observed(t, reg, sink))
	const redirect = "https://portal.example/callback"
	alice := e.userID("acme", "alice")
	code := e.codeFor("portal", redirect, alice, verifier)
	status, body := e.redeem("portal", redirect, code, verifier)
	if status != http.StatusOK {
		t.Fatalf("redeem: %d %v", status, body)
	}
	resp, _ := e.send(http.MethodGet, "/end_session", url.Values{"id_token_hint": {body["id_token"].(string)},
		"post_logout_redirect_uri": {"https://portal.example/"}})
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("end_session: %d", resp.StatusCode)
	}
	got := sink.Of(audit.EventLogout)
	if len(got) != 1 || got[0].UserID != alice || got[0].Client != "portal" || got[0].Organization != "acme" {
		t.Errorf("logout audit events: %+v, want one for alice at portal in acme", got)
	}
}
