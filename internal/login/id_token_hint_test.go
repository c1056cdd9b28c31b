package login_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/orgkeeper/orgkeeper/internal/session"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

// An id_token_hint names the user the client expects. Another user's SSO
// session must not answer for them: prompt=none gets login_required, an
// interactive request the password page.
func TestTheSSOSessionOfAnotherUserDoesNotAnswerAnIDTokenHint(t *testing.T) {
	e := newEnv(t)
	first := e.authorize(func(a *session.AuthRequest) { a.Organization = "acme" })
	wantCallback(t, e, e.login(first), first) // alice's session

	// The hint names carol (verified by the provider before it stored the
	// request); the browser holds alice's session.
	hintCarol := func(a *session.AuthRequest) { a.HintSubject = string(st.UID("user", "acme", "carol")) }

	id := e.authorize(hintCarol, func(a *session.AuthRequest) { a.Prompt = []string{"none"} })
	rec := e.start(id)
	wantStatus(t, rec, http.StatusSeeOther)
	back, _ := url.Parse(rec.Result().Header.Get("Location"))
	if q := back.Query(); q.Get("error") != "login_required" || q.Get("code") != "" {
		t.Fatalf("prompt=none with another user's hint: redirect %q, want login_required", back)
	}

	id = e.authorize(hintCarol, func(a *session.AuthRequest) { a.Organization = "acme" })
	rec = e.start(id)
	if e.authRequest(id).Done {
		t.Fatal("alice's session completed a request hinted for carol")
	}
	if f := parseForm(t, rec.Body.String()); f.action != "/login/password" {
		t.Fatalf("interactive request with another user's hint: want the password page, got form %q", f.action)
	}

	// The hint of the session's own user is answered from the session.
	id = e.authorize(func(a *session.AuthRequest) {
		a.HintSubject = string(st.UID("user", "acme", "alice"))
		a.Prompt = []string{"none"}
	})
	wantCallback(t, e, e.start(id), id)
}
