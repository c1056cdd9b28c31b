package connector_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/orgkeeper/orgkeeper/internal/connector"
	"github.com/orgkeeper/orgkeeper/internal/connector/upstreamtest"
)

// zeros is an endless source of zero bytes: a deterministic Config.Rand, so
// that the fuzzer can hit the pending state.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// FuzzFinishCallback: whatever the callback's query, Finish returns an
// identity only for the one real sign-in and never panics.
func FuzzFinishCallback(f *testing.F) {
	up := upstreamtest.NewFake(f)
	cfg := testConfig()
	cfg.Rand = zeros{}
	conn, err := connector.New(up.IdentityProvider("acme", "fake"), cfg)
	if err != nil {
		f.Fatal(err)
	}
	state := strings.Repeat("A", 43) // base64url of 32 zero bytes
	for _, seed := range []string{
		"", "state=" + state, "state=" + state + "&code=x", "state=" + state + "&iss=" + url.QueryEscape(up.URL) + "&error=access_denied",
		"state=" + state + "&state=" + state, "state=%", "code=fake-code-1&state=" + state + "&iss=" + url.QueryEscape(up.URL),
		"state=" + state + "&iss=" + url.QueryEscape(up.URL) + "&error=" + strings.Repeat("%00", 100),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		_, pending, err := conn.Begin(t.Context(), connector.BeginRequest{RedirectURI: fakeCallback})
		if err != nil {
			t.Fatal(err)
		}
		r := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/cb", RawQuery: raw}}
		id, err := conn.Finish(t.Context(), pending, r)
		if err == nil {
			t.Fatalf("query %q gave an identity without a sign-in at the upstream: %+v", raw, id)
		}
		if connector.OAuthCode(err) == "" || connector.UserMessage(err, "Fake") == "" {
			t.Fatalf("no client error or page message for %v", err)
		}
	})
}

func TestTheErrorPageMessageNamesTheProviderAndItsReason(t *testing.T) {
	f := upstreamtest.NewFake(t)
	f.Set(func(f *upstreamtest.Fake) {
		f.Callback = func(q url.Values) {
			q.Del("code")
			q.Set("error", "access_denied")
			q.Set("error_description", "Your account is not assigned to this app")
		}
	})
	conn, err := connector.New(f.IdentityProvider("acme", "fake"), testConfig())
	if err != nil {
		t.Fatal(err)
	}
	_, err = signInAtFake(t, conn, f)
	msg := connector.UserMessage(err, "ACME Okta")
	if !strings.Contains(msg, "ACME Okta") || !strings.Contains(msg, "Your account is not assigned to this app") || !strings.Contains(msg, "access_denied") {
		t.Errorf("message: %q", msg)
	}
	if got := connector.UserMessage(http.ErrAbortHandler, "ACME Okta"); !strings.Contains(got, "ACME Okta") {
		t.Errorf("a foreign error's message: %q", got)
	}
	if connector.OAuthCode(http.ErrAbortHandler) != "server_error" {
		t.Error("a foreign error is not server_error")
	}
}
