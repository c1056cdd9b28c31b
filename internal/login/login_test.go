package login_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orgkeeper/orgkeeper/internal/session"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

func wantStatus(t *testing.T, rec interface{ Result() *http.Response }, want int) {
	t.Helper()
	if got := rec.Result().StatusCode; got != want {
		t.Fatalf("status %d, want %d", got, want)
	}
}

func wantPasswordPage(t *testing.T, body string) form {
	t.Helper()
	f := parseForm(t, body)
	if f.action != "/login/password" {
		t.Fatalf("want the password form, got action %q:\n%s", f.action, body)
	}
	if f.inputs["username"]["autocomplete"] != "username" || f.inputs["password"]["autocomplete"] != "current-password" || f.inputs["password"]["type"] != "password" {
		t.Errorf("inputs lack autocomplete/type attributes: %v", f.inputs)
	}
	return f
}

func wantCallback(t *testing.T, e *env, rec interface{ Result() *http.Response }, id string) session.AuthRequest {
	t.Helper()
	res := rec.Result()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/authorize/callback?id="+url.QueryEscape(id) {
		t.Fatalf("want a redirect to the callback, got %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	ar := e.authRequest(id)
	if !ar.Done || ar.UserID != string(st.UID("user", "acme", "alice")) || ar.OrgID != string(st.UID("org", "platform", "acme")) || !slices.Equal(ar.AMR, []string{"pwd"}) || ar.AuthTime.IsZero() || ar.LoginSessionID == "" {
		t.Fatalf("auth request not completed for alice of acme: %+v", ar)
	}
	return ar
}

func TestTheOrganizationParameterChoosesTheOrganizationAndItsBranding(t *testing.T) {
	e := newEnv(t)
	id := e.authorize(func(a *session.AuthRequest) { a.Organization = "acme" })
	page := e.start(id)
	wantStatus(t, page, http.StatusOK)
	body := page.Body.String()
	wantPasswordPage(t, body)
	if !strings.Contains(body, "ACME Corporation") || !strings.Contains(body, "--ok-primary:#0B5FFF") {
		t.Errorf("the page does not show acme's branding:\n%s", body)
	}
	if !strings.Contains(body, `<html lang="en">`) {
		t.Error("the page has no lang attribute")
	}
	wantCallback(t, e, e.submit(page, map[string]string{"username": "alice@acme.example", "password": password}), id)
}

func TestALoginHintWithAVerifiedDomainChoosesTheOrganization(t *testing.T) {
	e := newEnv(t)
	id := e.authorize(func(a *session.AuthRequest) { a.LoginHint = "alice@acme.example" })
	page := e.start(id)
	f := wantPasswordPage(t, page.Body.String())
	if f.values.Get("username") != "alice@acme.example" {
		t.Errorf("username not prefilled from login_hint: %q", f.values.Get("username"))
	}
	if got := e.authRequest(id).Organization; got != "acme" {
		t.Errorf("organization recorded as %q, want acme", got)
	}
	wantCallback(t, e, e.submit(page, map[string]string{"password": password}), id)
}

func TestATypedEmailIsRoutedByItsDomain(t *testing.T) {
	e := newEnv(t)
	id := e.authorize()
	page := e.start(id)
	f := parseForm(t, page.Body.String())
	if f.action != "/login/identifier" || f.inputs["username"] == nil || f.inputs["organization"] != nil {
		t.Fatalf("want the identifier form with only username, got %q %v", f.action, f.inputs)
	}
	page = e.submit(page, map[string]string{"username": "Alice@ACME.example"})
	wantPasswordPage(t, page.Body.String())
	wantCallback(t, e, e.submit(page, map[string]string{"password": password}), id)
}

func TestAnUnknownDomainAsksForTheOrganizationHandle(t *testing.T) {
	e := newEnv(t)
	id := e.authorize()
	page := e.submit(e.start(id), map[string]string{"username": "alice@gmail.example"})
	f := parseForm(t, page.Body.String())
	if f.action != "/login/identifier" || f.inputs["organization"] == nil {
		t.Fatalf("want the identifier form with an organization field:\n%s", page.Body.String())
	}
	// A handle that does not exist says so and asks again.
	again := e.submit(page, map[string]string{"organization": "nope"})
	if msg := textOf(t, again.Body.String(), "error"); !strings.Contains(msg, "no organization") {
		t.Errorf("unknown handle message = %q", msg)
	}
	page = e.submit(again, map[string]string{"organization": "acme"})
	wantPasswordPage(t, page.Body.String())
	wantCallback(t, e, e.submit(page, map[string]string{"username": "alice", "password": password}), id)
}

func TestAWrongPasswordAndAnUnknownUserGetTheSameAnswer(t *testing.T) {
	e := newEnv(t)
	answer := func(username, pw string) (int, string) {
		id := e.authorize(func(a *session.AuthRequest) { a.Organization = "acme" })
		rec := e.submit(e.start(id), map[string]string{"username": username, "password": pw})
		if e.authRequest(id).Done {
			t.Fatalf("%s signed in with a wrong password", username)
		}
		return rec.Result().StatusCode, textOf(t, rec.Body.String(), "error")
	}
	s1, m1 := answer("alice@acme.example", "wrong")
	s2, m2 := answer("nobody@acme.example", "wrong")
	s3, m3 := answer("bob@acme.example", "wrong") // disabled, wrong password
	if m1 != "The email or password is wrong." || m1 != m2 || m1 != m3 || s1 != s2 || s1 != s3 {
		t.Errorf("answers differ: %d %q / %d %q / %d %q", s1, m1, s2, m2, s3, m3)
	}
}

func TestAccountsLockAfterFiveFailuresForFifteenMinutes(t *testing.T) {
	e := newEnv(t)
	try := func(username, pw string) (string, *session.AuthRequest) {
		id := e.authorize(func(a *session.AuthRequest) { a.Organization = "acme" })
		rec := e.submit(e.start(id), map[string]string{"username": username, "password": pw})
		ar := e.authRequest(id)
		if rec.Result().StatusCode == http.StatusTooManyRequests {
			return "locked", &ar
		}
		return textOf(t, rec.Body.String(), "error"), &ar
	}
	for i := 1; i <= 4; i++ {
		if got, _ := try("alice", "wrong"); got != "The email or password is wrong." {
			t.Fatalf("attempt %d: %q", i, got)
		}
	}
	if got, _ := try("alice@acme.example", "wrong"); got != "locked" { // email and username share the count
		t.Fatalf("fifth failure: %q, want locked", got)
	}
	if got, ar := try("alice", password); got != "locked" || ar.Done {
		t.Fatalf("right password while locked: %q", got)
	}
	lo := e.lockouts.all()
	if len(lo) != 1 || lo[0].UserID != string(st.UID("user", "acme", "alice")) || lo[0].Org != "acme" || !lo[0].Until.Equal(e.clock.Now().Add(15*time.Minute)) {
		t.Errorf("lockouts recorded: %+v", lo)
	}
	// Unknown identifiers lock the same way.
	for range 4 {
		try("ghost@acme.example", "wrong")
	}
	if got, _ := try("ghost@acme.example", "wrong"); got != "locked" {
		t.Errorf("unknown user after five failures: %q, want locked", got)
	}
	e.clock.Advance(15*time.Minute + time.Second)
	if _, ar := try("alice", password); !ar.Done {
		t.Error("alice cannot sign in after the lock ended")
	}
}

func TestAFormWithoutTheRightCSRFTokenIsRefused(t *testing.T) {
	for name, mutate := range map[string]func(url.Values, *env){
		"missing token": func(v url.Values, _ *env) { v.Del("csrf_token") },
		"wrong token":   func(v url.Values, _ *env) { v.Set("csrf_token", "AAAA") },
		"no cookie":     func(_ url.Values, e *env) { clear(e.cookies) },
		"token of another auth request": func(v url.Values, e *env) {
			other := e.authorize(func(a *session.AuthRequest) { a.Organization = "acme" })
			v.Set("csrf_token", parseForm(e.t, e.start(other).Body.String()).values.Get("csrf_token"))
		},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			id := e.authorize(func(a *session.AuthRequest) { a.Organization = "acme" })
			f := parseForm(t, e.start(id).Body.String())
			f.values.Set("username", "alice")
			f.values.Set("password", password)
			mutate(f.values, e)
			rec := e.post(f.action, f.values)
			wantStatus(t, rec, http.StatusForbidden)
			if heading(t, rec.Body.String()) != "Request refused" || e.authRequest(id).Done {
				t.Errorf("not refused:\n%s", rec.Body.String())
			}
		})
	}
	t.Run("cross-site post", func(t *testing.T) {
		e := newEnv(t)
		id := e.authorize(func(a *session.AuthRequest) { a.Organization = "acme" })
		f := parseForm(t, e.start(id).Body.String())
		f.values.Set("username", "alice")
		f.values.Set("password", password)
		req := httptestPost(f.action, f.values)
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		wantStatus(t, e.do(req), http.StatusForbidden)
	})
}

func TestDisabledLockedUsersAndSuspendedOrganizationsCannotSignIn(t *testing.T) {
	e := newEnv(t)
	id := e.authorize(func(a *session.AuthRequest) { a.Organization = "acme" })
	rec := e.submit(e.start(id), map[string]string{"username": "bob@acme.example", "password": password})
	wantStatus(t, rec, http.StatusForbidden)
	if heading(t, rec.Body.String()) != "Account disabled" || e.authRequest(id).Done {
		t.Errorf("disabled user:\n%s", rec.Body.String())
	}

	id = e.authorize(func(a *session.AuthRequest) { a.Organization = "acme" })
	rec = e.submit(e.start(id), map[string]string{"username": "carol@acme.example", "password": password})
	wantStatus(t, rec, http.StatusTooManyRequests)

	for name, mod := range map[string]func(*session.AuthRequest){
		"by parameter":  func(a *session.AuthRequest) { a.Organization = "umbrella" },
		"by login_hint": func(a *session.AuthRequest) { a.LoginHint = "uma@umbrella.example" },
	} {
		rec := e.start(e.authorize(mod))
		wantStatus(t, rec, http.StatusForbidden)
		if h := heading(t, rec.Body.String()); h != "Organization suspended" {
			t.Errorf("suspended org %s: heading %q", name, h)
		}
	}
}

func TestAnApplicationNotSharedWithTheOrganizationIsRefusedWithAccessDenied(t *testing.T) {
	e := newEnv(t)
	id := e.authorize(func(a *session.AuthRequest) { a.LoginHint = "ivan@initech.example" })
	rec := e.start(id)
	wantStatus(t, rec, http.StatusForbidden)
	body := rec.Body.String()
	if heading(t, body) != "No access to this application" {
		t.Errorf("heading %q", heading(t, body))
	}
	back, err := url.Parse(link(t, body))
	if err != nil {
		t.Fatal(err)
	}
	q := back.Query()
	if back.Scheme+"://"+back.Host+back.Path != redirectURI || q.Get("error") != "access_denied" || q.Get("state") != "st-123" || q.Get("iss") != issuer {
		t.Errorf("the way back to the client is %q", back)
	}
	if _, err := e.store.GetAuthRequest(t.Context(), id); err == nil {
		t.Error("the refused auth request still exists")
	}
}

func TestASignedInBrowserSkipsThePasswordPageUnlessReauthenticationIsAsked(t *testing.T) {
	e := newEnv(t)
	firstID := e.authorize(func(a *session.AuthRequest) { a.Organization = "acme" })
	first := wantCallback(t, e, e.login(firstID), firstID)
	cookie := e.cookies["__Host-orgkeeper_session"]
	if cookie == nil || !cookie.HttpOnly || !cookie.Secure || cookie.SameSite != http.SameSiteLaxMode || len(cookie.Value) != 43 {
		t.Fatalf("session cookie: %+v", cookie)
	}

	e.clock.Advance(10 * time.Minute)
	// Same organization, no prompt: straight to the callback, with the
	// original authentication time.
	id := e.authorize(func(a *session.AuthRequest) { a.Organization = "acme" })
	if ar := wantCallback(t, e, e.start(id), id); !ar.AuthTime.Equal(first.AuthTime) {
		t.Errorf("SSO auth time %v, want %v", ar.AuthTime, first.AuthTime)
	}
	// No organization asked: the session's organization.
	id = e.authorize()
	wantCallback(t, e, e.start(id), id)
	// max_age still satisfied.
	hour := time.Hour
	id = e.authorize(func(a *session.AuthRequest) { a.Organization = "acme"; a.MaxAge = &hour })
	wantCallback(t, e, e.start(id), id)
	// prompt=none with a session.
	id = e.authorize(func(a *session.AuthRequest) { a.Prompt = []string{"none"} })
	wantCallback(t, e, e.start(id), id)

	fiveMinutes := 5 * time.Minute
	for name, mod := range map[string]func(*session.AuthRequest){
		"prompt=login":       func(a *session.AuthRequest) { a.Organization = "acme"; a.Prompt = []string{"login"} },
		"max_age exceeded":   func(a *session.AuthRequest) { a.Organization = "acme"; a.MaxAge = &fiveMinutes },
		"other organization": func(a *session.AuthRequest) { a.Organization = "globex" },
	} {
		id := e.authorize(mod)
		rec := e.start(id)
		if e.authRequest(id).Done {
			t.Errorf("%s: signed in from the session", name)
			continue
		}
		f := parseForm(t, rec.Body.String())
		if f.action != "/login/password" {
			t.Errorf("%s: want the password page, got form %q", name, f.action)
		}
	}
	// Re-authentication works and gives a fresh auth time.
	id = e.authorize(func(a *session.AuthRequest) { a.Organization = "acme"; a.Prompt = []string{"login"} })
	if ar := wantCallback(t, e, e.login(id), id); !ar.AuthTime.Equal(e.clock.Now()) {
		t.Errorf("re-authentication kept auth time %v", ar.AuthTime)
	}
}

func TestPromptNoneWithoutASessionReturnsLoginRequired(t *testing.T) {
	e := newEnv(t)
	for _, mod := range []func(*session.AuthRequest){
		func(a *session.AuthRequest) { a.Prompt = []string{"none"} },
		func(a *session.AuthRequest) { a.Prompt = []string{"none"}; a.Organization = "acme" },
	} {
		rec := e.start(e.authorize(mod))
		wantStatus(t, rec, http.StatusSeeOther)
		back, _ := url.Parse(rec.Result().Header.Get("Location"))
		q := back.Query()
		if !strings.HasPrefix(back.String(), redirectURI+"?") || q.Get("error") != "login_required" || q.Get("state") != "st-123" || q.Get("iss") != issuer {
			t.Errorf("redirect %q", back)
		}
	}
}

func TestUnknownRequestsAndOrganizationsGetErrorPages(t *testing.T) {
	e := newEnv(t)
	for name, tc := range map[string]struct {
		path    string
		status  int
		heading string
	}{
		"no auth request":      {"/login", http.StatusBadRequest, "This sign-in link has expired"},
		"unknown auth request": {"/login?authRequestID=nope", http.StatusBadRequest, "This sign-in link has expired"},
		"unknown organization": {"/login?authRequestID=" + e.authorize(func(a *session.AuthRequest) { a.Organization = "nope" }), http.StatusNotFound, "Unknown organization"},
	} {
		rec := e.get(tc.path)
		if rec.Code != tc.status || heading(t, rec.Body.String()) != tc.heading {
			t.Errorf("%s: %d %q", name, rec.Code, heading(t, rec.Body.String()))
		}
		if strings.Contains(rec.Body.String(), "session:") {
			t.Errorf("%s: internal error text on the page", name)
		}
	}
	// An expired auth request.
	id := e.authorize(func(a *session.AuthRequest) { a.Organization = "acme" })
	e.clock.Advance(time.Hour)
	if rec := e.start(id); heading(t, rec.Body.String()) != "This sign-in link has expired" {
		t.Errorf("expired request: %q", heading(t, rec.Body.String()))
	}
}

func TestADisplayNameWithMarkupIsEscaped(t *testing.T) {
	e := newEnv(t)
	body := e.start(e.authorize(func(a *session.AuthRequest) { a.Organization = "evil" })).Body.String()
	if strings.Contains(body, "<script") || !strings.Contains(body, "&lt;script&gt;") {
		t.Errorf("display name not escaped:\n%s", body)
	}
}

func TestEveryResponseCarriesTheSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	for name, rec := range map[string]interface {
		Result() *http.Response
	}{
		"password page": e.start(e.authorize(func(a *session.AuthRequest) { a.Organization = "acme" })),
		"error page":    e.get("/login?authRequestID=nope"),
		"not found":     e.get("/login/nothing"),
		"csrf refusal":  e.post("/login/password", url.Values{"authRequestID": {"x"}}),
	} {
		h := rec.Result().Header
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "script-src") {
			t.Errorf("%s: CSP %q", name, csp)
		}
		for k, v := range map[string]string{"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"} {
			if h.Get(k) != v {
				t.Errorf("%s: %s = %q, want %q", name, k, h.Get(k), v)
			}
		}
	}
	// The style element's nonce is the CSP's, and the page has no script.
	rec := e.start(e.authorize(func(a *session.AuthRequest) { a.Organization = "acme" }))
	body := rec.Body.String()
	csp := rec.Result().Header.Get("Content-Security-Policy")
	i := strings.Index(csp, "'nonce-")
	nonce := csp[i+7 : i+7+strings.Index(csp[i+7:], "'")]
	if !strings.Contains(body, `<style nonce="`+nonce+`">`) || strings.Contains(body, "<script") {
		t.Errorf("nonce %q not on the style element, or a script:\n%s", nonce, body)
	}
	csrf := e.cookies["__Host-orgkeeper_csrf"]
	if csrf == nil || !csrf.HttpOnly || !csrf.Secure || csrf.SameSite != http.SameSiteLaxMode || csrf.Path != "/" {
		t.Errorf("CSRF cookie %+v", csrf)
	}
}
