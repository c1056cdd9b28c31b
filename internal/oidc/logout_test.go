package oidc_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/orgkeeper/orgkeeper/internal/login"
	orgoidc "github.com/orgkeeper/orgkeeper/internal/oidc"
)

// withLoginPages makes the real login pages confirm sign-outs, as the
// server wires them.
func withLoginPages(e *env, c *orgoidc.Config) {
	pages, err := login.New(login.Config{
		Issuer:      e.issuer,
		Snapshots:   e.snaps,
		Sessions:    e.sessions,
		CallbackURL: func(_ context.Context, id string) string { return orgoidc.CallbackURL(e.issuer, id) },
	})
	if err != nil {
		e.t.Fatal(err)
	}
	c.Logout = pages
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// logoutForm is the confirmation page's form: its hidden fields and the
// CSRF cookie the page set.
type logoutForm struct {
	fields url.Values
	csrf   *http.Cookie
}

func TestEndSessionWithoutHintAsksForConfirmation(t *testing.T) {
	e := newEnv(t, world{}, withLoginPages)
	// Every request below says which cookies it carries: no jar.
	e.http = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	ctx := context.Background()
	ls, err := e.sessions.CreateLoginSession(ctx, sessionFor(e.userID("acme", "alice")))
	if err != nil {
		t.Fatal(err)
	}
	sso := &http.Cookie{Name: "orgkeeper_session", Value: ls.ID}
	alive := func() bool {
		_, err := e.sessions.GetLoginSession(ctx, ls.ID)
		return err == nil
	}
	request := url.Values{"client_id": {"portal"}, "post_logout_redirect_uri": {"https://portal.example/"}, "state": {"s"}}
	site := func(s string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", s) }
	}
	cookies := func(cs ...*http.Cookie) func(*http.Request) {
		return func(r *http.Request) {
			for _, c := range cs {
				if c != nil {
					r.AddCookie(c)
				}
			}
		}
	}
	confirmationPage := func(method string) logoutForm {
		t.Helper()
		resp, body := e.send(method, "/end_session", request, cookies(sso), site("cross-site"))
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("want the confirmation page, got %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Fatalf("CSP: %q", csp)
		}
		if resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("security headers: %v", resp.Header)
		}
		if strings.Contains(body, "<script") || !strings.Contains(body, `action="`+e.issuer+`/end_session"`) {
			t.Fatalf("page: %s", body)
		}
		f := logoutForm{fields: url.Values{}}
		for _, m := range hiddenInput.FindAllStringSubmatch(body, -1) {
			f.fields.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
		}
		for _, c := range resp.Cookies() {
			if c.Name == login.CSRFCookie {
				f.csrf = c
			}
		}
		if f.fields.Get("csrf_token") == "" || f.csrf == nil {
			t.Fatalf("no CSRF token or cookie in the page: %s", body)
		}
		return f
	}

	t.Run("a cross-site GET without id_token_hint leaves the session alive", func(t *testing.T) {
		confirmationPage(http.MethodGet)
		if !alive() {
			t.Fatal("the session was ended without confirmation")
		}
	})
	t.Run("a relying party's POST without id_token_hint asks too", func(t *testing.T) {
		confirmationPage(http.MethodPost)
		if !alive() {
			t.Fatal("the session was ended without confirmation")
		}
	})
	f := confirmationPage(http.MethodGet)
	post := func(fields url.Values, prep ...func(*http.Request)) *http.Response {
		t.Helper()
		resp, _ := e.send(http.MethodPost, "/end_session", fields, prep...)
		return resp
	}
	without := func(k string) url.Values {
		v := url.Values{}
		for key, vs := range f.fields {
			if key != k {
				v[key] = vs
			}
		}
		return v
	}
	t.Run("the confirmation without the CSRF token is refused", func(t *testing.T) {
		if resp := post(without("csrf_token"), cookies(sso, f.csrf), site("same-origin")); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("status %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		if !alive() {
			t.Fatal("the session was ended")
		}
	})
	t.Run("the confirmation without the CSRF cookie is refused", func(t *testing.T) {
		if resp := post(f.fields, cookies(sso), site("same-origin")); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if !alive() {
			t.Fatal("the session was ended")
		}
	})
	t.Run("the confirmation's token does not confirm another request", func(t *testing.T) {
		other := without("")
		other.Set("state", "another")
		if resp := post(other, cookies(sso, f.csrf), site("same-origin")); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if !alive() {
			t.Fatal("the session was ended")
		}
	})
	t.Run("the confirmation posted from another site is refused", func(t *testing.T) {
		if resp := post(f.fields, cookies(sso, f.csrf), site("cross-site")); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if !alive() {
			t.Fatal("the session was ended")
		}
	})
	t.Run("the confirmation with its token ends the session and continues to the client", func(t *testing.T) {
		resp := post(f.fields, cookies(sso, f.csrf), site("same-origin"))
		if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), "https://portal.example/?state=s") {
			t.Fatalf("status %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		if alive() {
			t.Fatal("the session is still alive")
		}
		cleared := false
		for _, c := range resp.Cookies() {
			cleared = cleared || (c.Name == "orgkeeper_session" && c.MaxAge < 0)
		}
		if !cleared {
			t.Error("the SSO cookie was not cleared")
		}
	})
}

func TestEndSessionWithoutHintOrConfirmerEndsNothing(t *testing.T) {
	e := newEnv(t, world{})
	ls, err := e.sessions.CreateLoginSession(context.Background(), sessionFor(e.userID("acme", "alice")))
	if err != nil {
		t.Fatal(err)
	}
	resp, _ := e.send(http.MethodGet, "/end_session", url.Values{"client_id": {"portal"}, "post_logout_redirect_uri": {"https://portal.example/"}},
		func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "orgkeeper_session", Value: ls.ID}) })
	if resp.StatusCode == http.StatusFound {
		t.Fatalf("redirected to %q", resp.Header.Get("Location"))
	}
	if _, err := e.sessions.GetLoginSession(context.Background(), ls.ID); err != nil {
		t.Fatal("the session was ended without intent")
	}
}

func TestLogoutConfirmationEscapesAndRoundTripsTheRequest(t *testing.T) {
	e := newEnv(t, world{}, withLoginPages)
	ls, err := e.sessions.CreateLoginSession(context.Background(), sessionFor(e.userID("acme", "alice")))
	if err != nil {
		t.Fatal(err)
	}
	sso := &http.Cookie{Name: "orgkeeper_session", Value: ls.ID}
	state := `"><script>alert(1)</script>&x=1`
	q := url.Values{"client_id": {"portal"}, "post_logout_redirect_uri": {"https://portal.example/"}, "state": {state}}
	resp, body := e.send(http.MethodGet, "/end_session", q, func(r *http.Request) { r.AddCookie(sso) })
	if resp.StatusCode != http.StatusOK || strings.Contains(body, "<script") {
		t.Fatalf("status %d, page:\n%s", resp.StatusCode, body)
	}
	fields := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(body, -1) {
		fields.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	var csrf *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == login.CSRFCookie {
			csrf = c
		}
	}
	resp, _ = e.send(http.MethodPost, "/end_session", fields, func(r *http.Request) { r.AddCookie(sso); r.AddCookie(csrf) })
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || loc.Query().Get("state") != state {
		t.Fatalf("status %d, location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}
