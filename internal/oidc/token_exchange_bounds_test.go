package oidc_test

import (
	"net/http"
	"strings"
	"testing"
)

// A subject token beyond its bound (16 KiB) is refused before any parse
// or signature check, with an OAuth error that names the parameter: the
// fast path and go-jose only ever see bounded tokens.
func TestAnOversizedSubjectTokenIsRefusedBeforeVerification(t *testing.T) {
	e := newEnv(t, switchWorld())
	home := e.signInTo("switcher", switcherRedirect, "acme", "alice")
	at := home["access_token"].(string)
	parts := strings.SplitN(at, ".", 3)
	oversized := parts[0] + "." + strings.Repeat("A", 16<<10) + "." + parts[2]
	status, body := e.exchange("switcher", switchForm(oversized, accessTokenType, "acme-eu"))
	if status != http.StatusBadRequest || body["error"] != "invalid_request" ||
		!strings.Contains(body["error_description"].(string), "subject_token") {
		t.Fatalf("got %d %v, want invalid_request about subject_token", status, body)
	}
	if status, body := e.exchange("switcher", switchForm(at, accessTokenType, "acme-eu")); status != http.StatusOK {
		t.Fatalf("the token within its bound: %d %v", status, body)
	}
}
