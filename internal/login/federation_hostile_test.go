package login_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/connector/upstreamtest"
	"github.com/orgkeeper/orgkeeper/internal/session"
)

// The connector's hostile-upstream table (internal/connector) checks each
// bad answer's typed error; this one checks what the person and the
// application get through the login handler: acme's branded page, 403 and
// never a 500, the way back to the application with a standard OAuth error,
// and no sign-in.
func TestAHostileUpstreamAnswerEndsOnTheBrandedPageWithAnOAuthError(t *testing.T) {
	cases := []struct {
		name  string
		setup func(f *upstreamtest.Fake)
		code  string
	}{
		{"an ID token issued by another upstream", func(f *upstreamtest.Fake) {
			f.Claims = func(c map[string]any) { c["iss"] = "https://other.example" }
		}, "access_denied"},
		{"an ID token for another client", func(f *upstreamtest.Fake) {
			f.Claims = func(c map[string]any) { c["aud"] = "someone-else" }
		}, "access_denied"},
		{"an expired ID token", func(f *upstreamtest.Fake) {
			f.Claims = func(c map[string]any) { c["exp"] = int64(1) }
		}, "access_denied"},
		{"an ID token signed with a key the provider never published", func(f *upstreamtest.Fake) {
			other := upstreamtest.NewFake(t)
			f.Sign = func(p []byte) string { return upstreamtest.SignES256(other.Key, f.KeyID, p) }
		}, "access_denied"},
		{"a response naming another provider as its iss (mix-up)", func(f *upstreamtest.Fake) {
			f.Callback = func(q url.Values) { q.Set("iss", "https://other.example") }
		}, "access_denied"},
		{"a response with another state", func(f *upstreamtest.Fake) {
			f.Callback = func(q url.Values) { q.Set("state", "forged") }
		}, "access_denied"},
		{"a token endpoint that fails", func(f *upstreamtest.Fake) {
			f.Handlers["/token"] = func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) }
		}, "temporarily_unavailable"},
		{"a token response of 8 MiB", func(f *upstreamtest.Fake) {
			f.Handlers["/token"] = func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`{"id_token":"` + strings.Repeat("a", 8<<20) + `"}`))
			}
		}, "temporarily_unavailable"},
		{"a userinfo answer about another subject", func(f *upstreamtest.Fake) {
			f.Claims = func(c map[string]any) { delete(c, "email") }
			f.Userinfo = func(c map[string]any) { c["sub"] = "someone-else" }
		}, "access_denied"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, w := newFedEnv(t, iamv1.ProvisioningModeJustInTime, true)
			w.fake.Set(tc.setup)
			id := e.authorize(func(a *session.AuthRequest) { a.Organization = "acme" })
			cb := atProvider(t, w.fake, e.chooseProvider(e.start(id), "corp"))
			rec := e.do(cb)
			refused(t, e, id, rec, "ACME Corporation")
			if rec.Code != http.StatusForbidden {
				t.Fatalf("status %d, want 403", rec.Code)
			}
			if !strings.Contains(rec.Body.String(), "error="+tc.code) {
				t.Fatalf("want the way back with error=%s:\n%s", tc.code, rec.Body.String())
			}
			if n := len(w.provisioned()); n != 0 {
				t.Fatalf("%d provisioning writes from a hostile answer", n)
			}
		})
	}
}
