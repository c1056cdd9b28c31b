package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/orgkeeper/orgkeeper/internal/oidc"
)

// Issue 6 item 1: an auth request is finished only by the browser that
// started it, with the login session that completed it, once.

const wrongBrowserPage = "This sign-in was started in another browser"

func TestASignInLinkSentToAVictimYieldsTheAttackerNoCode(t *testing.T) {
	iss := newIssuer(t)
	attacker, victim := iss.browser(), iss.browser()

	// The victim is signed in (SSO), which used to take one navigation and
	// show nothing.
	if p := victim.signIn(victim.authorize("victim-state")); p.status != http.StatusSeeOther {
		t.Fatalf("the victim's own sign-in: %d", p.status)
	}

	link := attacker.authorize("attacker-state")
	id := authRequestID(t, link)
	p := victim.get(link)
	if p.status != http.StatusForbidden || !strings.Contains(p.body, wrongBrowserPage) {
		t.Fatalf("the victim opening the attacker's link: want the wrong-browser page, got %d %q", p.status, p.location)
	}
	if ar, err := iss.sessions.GetAuthRequest(t.Context(), id); err != nil || ar.Done || ar.UserID != "" {
		t.Fatalf("the attacker's auth request was completed by the victim: %+v %v", ar, err)
	}

	// Without SSO the victim cannot sign in through the link either.
	fresh := iss.browser()
	if p := fresh.get(link); p.status != http.StatusForbidden || !strings.Contains(p.body, wrongBrowserPage) {
		t.Fatalf("a fresh browser opening the link: got %d", p.status)
	}

	// The attacker's browser fetches the callback: no code.
	cb := attacker.get(oidc.CallbackURL(iss.url, id))
	if c := code(t, cb); c != "" {
		t.Fatalf("the attacker got a code: %q", cb.location)
	}
	// Nor does the victim's browser get one at the callback.
	if cb := victim.get(oidc.CallbackURL(iss.url, id)); code(t, cb) != "" || cb.status != http.StatusForbidden {
		t.Fatalf("the victim's browser at the attacker's callback: %d %q", cb.status, cb.location)
	}
}

func TestTheCallbackWantsTheLoginSessionThatCompletedTheRequest(t *testing.T) {
	iss := newIssuer(t)
	b := iss.browser()
	link := b.authorize("s1")
	done := b.signIn(link)
	if done.status != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", done.status)
	}
	// The SSO cookie changes (another sign-in, or a planted cookie) before
	// the callback: the request was completed by another session.
	u, _ := url.Parse(iss.url)
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: "orgkeeper_session", Value: "another-session", Path: "/"}})
	cb := b.get(done.location)
	if code(t, cb) != "" || cb.status != http.StatusForbidden || !strings.Contains(cb.body, wrongBrowserPage) {
		t.Fatalf("callback with another session's cookie: %d %q", cb.status, cb.location)
	}
}

func TestOneAuthRequestYieldsOneCodeAndSSOTakesOneNavigation(t *testing.T) {
	iss := newIssuer(t)
	b := iss.browser()
	done := b.signIn(b.authorize("s1"))
	if done.status != http.StatusSeeOther || !strings.Contains(done.location, "/authorize/callback?id=") {
		t.Fatalf("sign-in: want a redirect to the callback, got %d %q", done.status, done.location)
	}
	first := b.get(done.location)
	if code(t, first) == "" || !strings.HasPrefix(first.location, redirectURI+"?") {
		t.Fatalf("callback: want a code, got %d %q", first.status, first.location)
	}
	// A replayed callback gets an error, not a second code.
	again := b.get(done.location)
	if c := code(t, again); c != "" {
		t.Fatalf("a replayed callback got a second code: %q", again.location)
	}
	if u, err := url.Parse(again.location); err != nil || u.Query().Get("error") == "" {
		t.Errorf("a replayed callback: want an OAuth error, got %d %q", again.status, again.location)
	}

	// SSO: the login link goes straight to the callback, which answers
	// with a code.
	login := b.get(b.authorize("s2"))
	if login.status != http.StatusSeeOther || !strings.Contains(login.location, "/authorize/callback?id=") {
		t.Fatalf("SSO: want one navigation to the callback, got %d %q", login.status, login.location)
	}
	if cb := b.get(login.location); code(t, cb) == "" {
		t.Fatalf("SSO callback: want a code, got %d %q", cb.status, cb.location)
	}
}
