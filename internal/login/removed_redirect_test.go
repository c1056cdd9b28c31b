package login_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/orgkeeper/orgkeeper/internal/session"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
)

// An auth request keeps the redirect URI it was started with. Once the
// application no longer registers it, the login pages send nothing there,
// not even an error.
func TestTheLoginPagesSendNoErrorToARedirectURITheApplicationRemoved(t *testing.T) {
	e := newEnv(t)
	promptNone := e.authorize(func(a *session.AuthRequest) { a.Prompt = []string{"none"} })
	notShared := e.authorize(func(a *session.AuthRequest) { a.LoginHint = "ivan@initech.example" })

	e.snaps.Set(world(e.clock.Now(), func(in *snapshot.Input) {
		in.Applications[0].Spec.RedirectURIs = []string{"https://portal.example/new-callback"}
	}))

	rec := e.start(promptNone)
	if loc := rec.Result().Header.Get("Location"); strings.HasPrefix(loc, redirectURI) {
		t.Errorf("prompt=none: redirected to the removed redirect URI: %q", loc)
	}
	rec = e.start(notShared)
	wantStatus(t, rec, http.StatusForbidden)
	if strings.Contains(rec.Body.String(), redirectURI) {
		t.Errorf("the refusal page links to the removed redirect URI")
	}
}
