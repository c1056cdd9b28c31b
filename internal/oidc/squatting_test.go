package oidc_test

import (
	"net/http"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orgkeeper/orgkeeper/internal/snapshot"
)

// addSquatters adds to the world what an acme admin can create: an
// organization below acme named like one that the root's portal lists but
// that does not exist at the root, with a user (squatOrg), and an
// application of acme named like the root's portal (squatApp).
func (w world) addSquatters(in *snapshot.Input) {
	if w.squatOrg {
		addSquattingOrg(in)
	}
	if w.squatApp {
		addSquattingApp(in)
	}
}

func addSquattingOrg(in *snapshot.Input) {
	in.Organizations = append(in.Organizations, org("initech", []string{"platform", "acme", "initech"}))
	in.Users = append(in.Users, user("initech", "mallory"))
	for i := range in.Applications {
		if a := &in.Applications[i]; a.Name == "portal" {
			a.Spec.Sharing.Organizations = append(a.Spec.Sharing.Organizations, "initech")
		}
	}
}

func addSquattingApp(in *snapshot.Input) {
	sq := app("portal")
	sq.Namespace = "acme"
	sq.UID = "uid-app-acme-portal"
	sq.CreationTimestamp = metav1.NewTime(sq.CreationTimestamp.Add(-1)) // older than the root's
	sq.Spec.RedirectURIs = []string{"https://squatter.example/callback"}
	in.Applications = append(in.Applications, sq)
	sec := secretFor("portal")
	sec.Namespace = "acme"
	sec.Data = map[string][]byte{snapshot.ClientSecretKey: []byte(clientSecret("acme/portal"))}
	in.Secrets = append(in.Secrets, corev1.Secret{ObjectMeta: sec.ObjectMeta, Data: sec.Data})
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
