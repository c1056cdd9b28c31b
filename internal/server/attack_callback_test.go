package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// The callback checks the browser binding of the auth request that the op
// package serves, whichever way the request names it: the op package reads
// id from the form, so a POST body (or anything else the check did not
// read) must not carry it past the check.
func TestTheCallbackChecksTheRequestItServesEvenWhenPosted(t *testing.T) {
	iss := newIssuer(t)
	victim, attacker := iss.browser(), iss.browser()

	done := victim.signIn(victim.authorize("victim-state"))
	if done.status != http.StatusSeeOther {
		t.Fatalf("the victim's sign-in: %d", done.status)
	}
	u, err := url.Parse(done.location)
	if err != nil {
		t.Fatal(err)
	}
	id := u.Query().Get("id")
	if id == "" {
		t.Fatalf("no id in the callback URL %q", done.location)
	}

	// The attacker holds the leaked ID and posts it to the callback,
	// with no id in the query string.
	p := attacker.post("/authorize/callback", url.Values{"id": {id}})
	if c := code(t, p); c != "" {
		t.Fatalf("a browser without the binding got the victim's code by posting the ID: %d %q", p.status, p.location)
	}
	if p.status != http.StatusForbidden || !strings.Contains(p.body, wrongBrowserPage) {
		t.Errorf("want the wrong-browser page, got %d %q", p.status, p.location)
	}

	// The victim's browser still gets its code.
	if cb := victim.get(done.location); code(t, cb) == "" {
		t.Fatalf("the victim's callback: want a code, got %d %q", cb.status, cb.location)
	}
}
