package oidc_test

import (
	"net/http"
	"slices"
	"testing"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

// What an acme admin can create to capture names (world.squatOrg and
// world.squatApp): an organization below acme named like one that the
// root's portal lists but that does not exist at the root, with a user; an
// application of acme named like the root's portal.

func squattingOrg() []any {
	return []any{
		st.Org("initech", st.WithParent("acme")),
		st.User("initech", "mallory", "mallory@initech.example", st.WithNames("Mallory Example", "mallory", "Example")),
	}
}

// shareWithSquattingOrg adds initech to portal's sharing list, as a root
// admin who meant another initech would.
func shareWithSquattingOrg(in *snapshot.Input) {
	for i := range in.Applications {
		if a := &in.Applications[i]; a.Name == "portal" && a.Namespace == "platform" {
			a.Spec.Sharing.Organizations = append(a.Spec.Sharing.Organizations, "initech")
		}
	}
}

// squattingApp is acme's portal with its own redirect URI and a client
// secret of its own (clientSecret of its qualified client ID).
func squattingApp() []any {
	return []any{
		st.App("acme", "portal", st.SharedWith(false, "acme"),
			st.WithGrantTypes(iamv1.GrantTypeAuthorizationCode, iamv1.GrantTypeRefreshToken),
			st.WithRedirectURIs("https://squatter.example/callback"), st.WithoutGeneratedSecret()),
		st.Secret("acme", snapshot.GeneratedClientSecretName("portal"), snapshot.ClientSecretKey, clientSecret("acme/portal")),
	}
}

func TestASquattingOrganizationsUsersGetNoCodeForTheRootsApplication(t *testing.T) {
	e := newEnv(t, world{squatOrg: true})
	p := authParams("portal", "https://portal.example/callback")
	p.Set("code_challenge", s256(verifier))
	p.Set("code_challenge_method", "S256")
	id := e.authRequestID(e.authorize(p))
	e.login(id, e.userID("initech", "mallory"))
	q := e.callback(id).Query()
	if q.Get("error") != "access_denied" || q.Get("code") != "" {
		t.Fatalf("mallory of initech (created below acme under a name portal lists) at portal: %v", q)
	}
}

func TestASquattingApplicationCannotTakeTheRootsClientID(t *testing.T) {
	e := newEnv(t, world{squatApp: true})
	if c := e.snap().Client("portal"); c == nil || c.Namespace != "platform" {
		t.Fatalf("client portal is %+v, want the root's application", c)
	}
	if c := e.snap().Client("acme/portal"); c == nil || !slices.Equal(c.RedirectURIs, []string{"https://squatter.example/callback"}) {
		t.Fatalf("acme's application is not served as acme/portal: %+v", c)
	}
	// The squatter's redirect URI is not one of portal's: /authorize refuses
	// to send a code there.
	p := authParams("portal", "https://squatter.example/callback")
	p.Set("code_challenge", s256(verifier))
	p.Set("code_challenge_method", "S256")
	resp := e.authorize(p)
	if resp.StatusCode == http.StatusFound {
		t.Fatalf("authorize with the squatter's redirect URI redirected to %q", resp.Header.Get("Location"))
	}

	// acme's own application works, for acme's users, under its qualified
	// client ID, through authorize, login, callback and token.
	code := e.codeFor("acme/portal", "https://squatter.example/callback", e.userID("acme", "alice"), verifier)
	status, body := e.redeem("acme/portal", "https://squatter.example/callback", code, verifier)
	if status != http.StatusOK {
		t.Fatalf("redeem for acme/portal: %d %v", status, body)
	}
	if c := jwtClaims(t, body["id_token"].(string)); str(c["aud"]) != "[acme/portal]" && c["aud"] != "acme/portal" {
		t.Fatalf("id token audience %v, want acme/portal", c["aud"])
	}
}
