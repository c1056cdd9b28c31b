package server_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	crzap "sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/orgkeeper/orgkeeper/internal/audit"
	"github.com/orgkeeper/orgkeeper/internal/server"
	"github.com/orgkeeper/orgkeeper/internal/telemetry/telemetrytest"
)

// observedIssuer is the real server with its own metrics registry, served
// on a /metrics endpoint of its own, and its audit lines written as JSON
// (the manager's zap encoder) into a buffer.
type observedIssuer struct {
	*issuer
	metricsURL string
	mu         sync.Mutex
	auditLog   bytes.Buffer
}

func (o *observedIssuer) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.auditLog.Write(p)
}

func newObservedIssuer(t *testing.T) *observedIssuer {
	t.Helper()
	reg := prometheus.NewRegistry()
	m := telemetrytest.New(t, reg)
	metricsSrv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	t.Cleanup(metricsSrv.Close)
	o := &observedIssuer{metricsURL: metricsSrv.URL}
	sink := audit.NewLogSink(crzap.New(crzap.WriteTo(o), crzap.UseDevMode(false)))
	o.issuer = newIssuerWith(t, func(c *server.Config) {
		c.Metrics, c.Audit, c.SessionStoreName = m, sink, "memory"
	})
	return o
}

// scrape reads the /metrics endpoint and parses it.
func (o *observedIssuer) scrape(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(o.metricsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return families
}

// value is the value of the series of family with exactly these labels
// (a histogram's sample count), and whether it exists.
func value(families map[string]*dto.MetricFamily, family string, labels map[string]string) (float64, bool) {
	f := families[family]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		if len(m.GetLabel()) != len(labels) {
			continue
		}
		for _, l := range m.GetLabel() {
			if labels[l.GetName()] != l.GetValue() {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

// auditLines are the JSON lines written so far.
func (o *observedIssuer) auditLines(t *testing.T) []map[string]any {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	var lines []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(o.auditLog.Bytes()))
	for sc.Scan() {
		var l map[string]any
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("audit line is not JSON: %q: %v", sc.Text(), err)
		}
		lines = append(lines, l)
	}
	return lines
}

func (o *observedIssuer) auditText() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.auditLog.String()
}

// find returns the audit lines of event whose fields include want.
func find(lines []map[string]any, event string, want map[string]string) []map[string]any {
	var out []map[string]any
next:
	for _, l := range lines {
		if l["event"] != event {
			continue
		}
		for k, v := range want {
			if l[k] != v {
				continue next
			}
		}
		out = append(out, l)
	}
	return out
}

// passwordPost posts the password page of loginURL with pw, and an
// X-Request-Id header when requestID is set.
func (b *browser) passwordPost(loginURL, pw, requestID string) page {
	b.t.Helper()
	p := b.get(loginURL)
	form := url.Values{"username": {"alice@acme.example"}, "password": {pw}}
	for _, m := range hiddenInput.FindAllStringSubmatch(p.body, -1) {
		form.Set(m[1], unescape(m[2]))
	}
	req, _ := http.NewRequest(http.MethodPost, b.iss.url+"/login/password", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if requestID != "" {
		req.Header.Set(audit.HeaderRequestID, requestID)
	}
	return b.do(req)
}

// tokenResponse redeems code for portal; it returns the status and body.
func (o *observedIssuer) redeem(t *testing.T, code string) (int, map[string]any) {
	t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}}
	req, _ := http.NewRequest(http.MethodPost, o.url+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("portal", st.GeneratedClientSecret("portal"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

// signInAndRedeem runs one wrong password, then the right one, the
// callback and the token exchange, then redeems the code a second time.
// It returns every secret the flow used or produced.
func signInAndRedeem(t *testing.T, o *observedIssuer) []string {
	t.Helper()
	b := o.browser()
	loginURL := b.authorize("state-1")
	if p := b.passwordPost(loginURL, "wrong password 1234", "req-wrong-1"); p.status != http.StatusOK {
		t.Fatalf("wrong password: status %d, want the form again", p.status)
	}
	p := b.passwordPost(loginURL, password, "req-right-1")
	if p.status != http.StatusSeeOther {
		t.Fatalf("right password: status %d %q, want a redirect", p.status, p.location)
	}
	for p.status == http.StatusSeeOther || p.status == http.StatusFound {
		if c := code(t, p); c != "" {
			break
		}
		p = b.get(p.location)
	}
	c := code(t, p)
	if c == "" {
		t.Fatalf("no code at the end of the sign-in: %d %q", p.status, p.location)
	}
	status, tokens := o.redeem(t, c)
	if status != http.StatusOK {
		t.Fatalf("token exchange: status %d %v", status, tokens)
	}
	if status, _ := o.redeem(t, c); status != http.StatusBadRequest {
		t.Fatalf("second redemption of the code: status %d, want 400", status)
	}
	secrets := []string{password, "wrong password 1234", c, st.GeneratedClientSecret("portal")}
	for _, k := range []string{"access_token", "id_token", "refresh_token"} {
		if s, ok := tokens[k].(string); ok && s != "" {
			secrets = append(secrets, s)
		}
	}
	base, _ := url.Parse(o.url)
	for _, ck := range b.c.Jar.Cookies(base) {
		secrets = append(secrets, ck.Value)
	}
	return secrets
}

func TestMetricsEndpointCountsSignInsTokensAndLatencyOfARealFlow(t *testing.T) {
	o := newObservedIssuer(t)
	signInAndRedeem(t, o)
	families := o.scrape(t)

	for _, c := range []struct {
		family string
		labels map[string]string
		want   float64
	}{
		{"orgkeeper_signins_total", map[string]string{"organization": "acme", "method": "password", "result": "invalid_credentials"}, 1},
		{"orgkeeper_signins_total", map[string]string{"organization": "acme", "method": "password", "result": "success"}, 1},
		{"orgkeeper_tokens_issued_total", map[string]string{"grant_type": "authorization_code", "client": "portal"}, 1},
		{"orgkeeper_http_request_duration_seconds", map[string]string{"handler": "token", "code": "200"}, 1},
		{"orgkeeper_http_request_duration_seconds", map[string]string{"handler": "token", "code": "400"}, 1},
		{"orgkeeper_http_request_duration_seconds", map[string]string{"handler": "authorize", "code": "302"}, 1},
	} {
		got, ok := value(families, c.family, c.labels)
		if !ok || got != c.want {
			t.Errorf("%s%v = %v (present %v), want %v", c.family, c.labels, got, ok, c.want)
		}
	}
	// The login pages answered the GETs and both POSTs.
	if n, _ := value(families, "orgkeeper_http_request_duration_seconds", map[string]string{"handler": "login", "code": "200"}); n < 3 {
		t.Errorf("login requests answered 200: %v, want at least 3 (two pages and the wrong password's form)", n)
	}
	// A miss (the reused code) is an answer, not a store failure.
	if f := families["orgkeeper_session_store_errors_total"]; f != nil && len(f.GetMetric()) > 0 {
		t.Errorf("session store errors counted in a flow that had none: %v", f.GetMetric())
	}
}

func TestAuditLinesOfARealFlowNameWhoWhereAndWhyButNoSecret(t *testing.T) {
	o := newObservedIssuer(t)
	secrets := signInAndRedeem(t, o)
	lines := o.auditLines(t)

	for _, l := range lines {
		if l["logger"] != "audit" {
			t.Errorf("audit line with logger %v, want \"audit\": %v", l["logger"], l)
		}
	}
	failed := find(lines, audit.EventSignIn, map[string]string{"result": "failure", "reason": "invalid_credentials",
		"organization": "acme", "client": "portal", "userID": string(st.UID("user", "acme", "alice")), "method": "password",
		"requestID": "req-wrong-1", "clientAddress": "127.0.0.1"})
	if len(failed) != 1 {
		t.Errorf("want one failed sign-in line with the request's ID and address, got %d in\n%s", len(failed), o.auditText())
	}
	ok := find(lines, audit.EventSignIn, map[string]string{"result": "success", "organization": "acme", "client": "portal",
		"userID": string(st.UID("user", "acme", "alice")), "method": "password", "requestID": "req-right-1"})
	if len(ok) != 1 {
		t.Errorf("want one successful sign-in line, got %d in\n%s", len(ok), o.auditText())
	}
	if len(find(lines, audit.EventCodeReuse, map[string]string{"client": "portal", "result": "failure"})) != 1 {
		t.Errorf("want one code_reuse line, in\n%s", o.auditText())
	}
	text := o.auditText()
	for _, s := range secrets {
		if len(s) >= 6 && strings.Contains(text, s) {
			t.Errorf("the audit log contains a secret of the flow (%.12s...):\n%s", s, text)
		}
	}
}

func TestARequestIDIsKeptOnlyWhenItIsShortAndPlain(t *testing.T) {
	o := newObservedIssuer(t)
	for _, c := range []struct {
		name, sent string
		kept       bool
	}{
		{"a plain trace ID is kept", "0af7651916cd43dd8448eb211c80319c", true},
		{"one with spaces and quotes is replaced", `x" injected="1`, false},
		{"one longer than 64 characters is replaced", strings.Repeat("a", 65), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, o.url+"/.well-known/openid-configuration", nil)
			req.Header.Set(audit.HeaderRequestID, c.sent)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			got := resp.Header.Get(audit.HeaderRequestID)
			if (got == c.sent) != c.kept || got == "" {
				t.Errorf("X-Request-Id sent %q, answered %q; want kept=%v (and always an ID)", c.sent, got, c.kept)
			}
		})
	}
}

func TestALockoutIsCountedAndAuditedWithTheLockedAccount(t *testing.T) {
	o := newObservedIssuer(t)
	b := o.browser()
	loginURL := b.authorize("state-lock")
	// The default policy locks the account at the fifth failure.
	for i := range 5 {
		b.passwordPost(loginURL, fmt.Sprintf("guess %d", i), "")
	}
	families := o.scrape(t)
	if got, _ := value(families, "orgkeeper_lockouts_total", map[string]string{"organization": "acme", "scope": "account"}); got != 1 {
		t.Errorf("account lockouts = %v, want 1", got)
	}
	if got, _ := value(families, "orgkeeper_signins_total", map[string]string{"organization": "acme", "method": "password", "result": "invalid_credentials"}); got != 4 {
		t.Errorf("invalid_credentials = %v, want 4 (the fifth locks)", got)
	}
	if got, _ := value(families, "orgkeeper_signins_total", map[string]string{"organization": "acme", "method": "password", "result": "locked"}); got != 1 {
		t.Errorf("locked = %v, want 1", got)
	}
	lines := o.auditLines(t)
	if got := find(lines, audit.EventLockout, map[string]string{"organization": "acme", "userID": string(st.UID("user", "acme", "alice")), "reason": "account",
		"clientAddress": "127.0.0.1"}); len(got) != 1 {
		t.Errorf("want one lockout line for alice, got %d in\n%s", len(got), o.auditText())
	}
}

func TestASecondSignInThroughTheBrowsersSessionIsCountedAsSSO(t *testing.T) {
	o := newObservedIssuer(t)
	b := o.browser()
	p := b.passwordPost(b.authorize("state-1"), password, "")
	if p.status != http.StatusSeeOther {
		t.Fatalf("password: status %d", p.status)
	}
	b.get(p.location) // the callback: the code leaves, the session stays
	// The same browser again: the login pages reuse its session.
	if p := b.get(b.authorize("state-2")); p.status != http.StatusSeeOther {
		t.Fatalf("SSO: status %d %q, want a redirect to the callback", p.status, p.location)
	}
	families := o.scrape(t)
	for method, want := range map[string]float64{"password": 1, "sso": 1} {
		if got, _ := value(families, "orgkeeper_signins_total", map[string]string{"organization": "acme", "method": method, "result": "success"}); got != want {
			t.Errorf("%s sign-ins = %v, want %v", method, got, want)
		}
	}
	if got := find(o.auditLines(t), audit.EventSignIn, map[string]string{"method": "sso", "result": "success", "userID": string(st.UID("user", "acme", "alice"))}); len(got) != 1 {
		t.Errorf("want one SSO sign-in line, in\n%s", o.auditText())
	}
}
