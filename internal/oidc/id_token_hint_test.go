package oidc_test

import (
	"net/http"
	"net/url"
	"testing"
)

// The subject of a verified id_token_hint is kept with the auth request,
// so that the login pages answer it only from that user's SSO session
// (internal/login's TestTheSSOSessionOfAnotherUserDoesNotAnswerAnIDTokenHint).
func TestAnIDTokenHintsSubjectIsKeptWithTheAuthRequest(t *testing.T) {
	e := newEnv(t, world{})
	alice := e.userID("acme", "alice")
	code := e.codeFor("portal", "https://portal.example/callback", alice, "")
	status, body := e.redeem("portal", "https://portal.example/callback", code, "")
	if status != http.StatusOK {
		t.Fatalf("redeem: %d %v", status, body)
	}
	hint := body["id_token"].(string)

	params := authParams("portal", "https://portal.example/callback")
	params.Set("id_token_hint", hint)
	params.Set("prompt", "none")
	id := e.authRequestID(e.authorize(params))
	ar, err := e.sessions.GetAuthRequest(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if ar.HintSubject != alice {
		t.Fatalf("HintSubject = %q, want alice's %q", ar.HintSubject, alice)
	}

	// A hint this issuer did not sign is refused before anything is stored.
	params.Set("id_token_hint", hint[:len(hint)-4]+"AAAA")
	resp := e.authorize(params)
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc.Host == "login.test" || loc.Query().Get("error") != "login_required" {
		t.Fatalf("a forged id_token_hint: %d %q, want login_required to the client", resp.StatusCode, loc)
	}
}
