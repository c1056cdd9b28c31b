package oidc_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/oidc"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

// portalRedirects is a world whose portal registers exactly uris.
func portalRedirects(uris ...string) world {
	return world{apps: map[string][]st.AppOption{"portal": {st.WithRedirectURIs(uris...)}}}
}

// A pending auth request keeps the redirect URI it was started with; once
// the application no longer registers it, the callback must not send a
// code (or anything else) there.
func TestARedirectURIRemovedWhileASignInIsPendingGetsNoCode(t *testing.T) {
	const old, kept = "https://portal.example/callback", "https://portal.example/new-callback"
	for _, c := range []struct {
		name  string
		after world
	}{
		{"the redirect URI was removed from the application", portalRedirects(kept)},
		{"the application was deleted", world{edit: func(in *snapshot.Input) {
			in.Applications = in.Applications[1:] // portal is first
		}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, portalRedirects(old, kept))
			id := e.authRequestID(e.authorize(authParams("portal", old)))
			e.login(id, e.userID("acme", "alice"))

			e.setWorld(c.after)

			resp, err := e.http.Get(oidc.CallbackURL(e.issuer, id))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
				t.Fatalf("callback: %d to %q, want an error page and no redirect", resp.StatusCode, resp.Header.Get("Location"))
			}
			if !strings.Contains(string(body), "no longer accepts sign-ins") {
				t.Errorf("error page: %q", body)
			}
			if ar, err := e.sessions.GetAuthRequest(t.Context(), id); err == nil && ar.CodeIssued {
				t.Error("a code was issued for the removed redirect URI")
			}
		})
	}
}

// A redirect URI still registered works as before after an unrelated
// change of the application.
func TestARedirectURIStillRegisteredGetsItsCodeAfterTheApplicationChanged(t *testing.T) {
	e := newEnv(t, world{})
	id := e.authRequestID(e.authorize(authParams("portal", "https://portal.example/callback")))
	e.login(id, e.userID("acme", "alice"))
	e.setWorld(world{edit: func(in *snapshot.Input) {
		in.Applications[0].Spec.RedirectURIs = append(in.Applications[0].Spec.RedirectURIs, "https://portal.example/other")
		in.Applications[0].Spec.Roles = append(in.Applications[0].Spec.Roles, iamv1.ApplicationRole{Name: "viewer"})
	}})
	if code := e.callback(id).Query().Get("code"); code == "" {
		t.Fatal("no code for a redirect URI that is still registered")
	}
}
