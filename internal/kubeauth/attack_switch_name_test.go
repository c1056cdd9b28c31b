package kubeauth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"k8s.io/apiserver/pkg/apis/apiserver"
	apiserverv1 "k8s.io/apiserver/pkg/apis/apiserver/v1"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/plugin/pkg/authenticator/token/oidc"

	"github.com/orgkeeper/orgkeeper/internal/rules"
)

// keySet verifies tokens with one key: kube-apiserver's JWT authenticator
// takes it in place of the issuer's JWKS.
type keySet struct{ key *ecdsa.PublicKey }

func (k keySet) VerifySignature(_ context.Context, token string) ([]byte, error) {
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return nil, err
	}
	return jws.Verify(k.key)
}

// authenticate runs kube-apiserver's own JWT authenticator, configured by
// Authenticator, on a token with claims, and returns the user's name.
func authenticate(t *testing.T, claims map[string]any) (string, []string, error) {
	t.Helper()
	u, err := authenticateUser(t, claims)
	if err != nil || u == nil {
		return "", nil, err
	}
	return u.GetName(), u.GetGroups(), nil
}

// authenticateUser is authenticate with the whole user kube-apiserver
// makes of the token; nil when it refuses the token.
func authenticateUser(t *testing.T, claims map[string]any) (user.Info, error) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	const issuer = "https://login.example.com"
	a, err := Authenticator(Options{IssuerURL: issuer})
	if err != nil {
		t.Fatal(err)
	}
	var internal apiserver.JWTAuthenticator
	if err := apiserverv1.Convert_v1_JWTAuthenticator_To_apiserver_JWTAuthenticator(&a, &internal, nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	authn, err := oidc.New(ctx, oidc.Options{JWTAuthenticator: internal, KeySet: keySet{&key.PublicKey}, SupportedSigningAlgs: []string{"ES256"}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	all := map[string]any{"iss": issuer, "aud": DefaultAudience, "sub": "u-1", "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}
	for k, v := range claims {
		all[k] = v
	}
	payload, err := json.Marshal(all)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, nil)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	token, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	resp, ok, err := authn.AuthenticateToken(ctx, token)
	if err != nil || !ok {
		return nil, err
	}
	return resp.User, nil
}

// TestSwitchedTokenIsNotTheTargetsUser: an administrator of acme who
// switched into acme-eu (token exchange) is not acme-eu's user of the same
// username in kube-apiserver. With orgkeeper:acme-eu:<username> they would
// hold every RoleBinding of that acme-eu user, and, since acme's admins
// edit their own OrgUser's spec.username, of any acme-eu user they name;
// kube-apiserver's audit log would show that user too.
func TestSwitchedTokenIsNotTheTargetsUser(t *testing.T) {
	own, _, err := authenticate(t, map[string]any{"org_handle": "acme-eu", "preferred_username": "Bob"})
	if err != nil || own != rules.KubeUser("acme-eu", "bob") {
		t.Fatalf("acme-eu's own bob is %q (%v), want %q", own, err, rules.KubeUser("acme-eu", "bob"))
	}

	act := map[string]any{"iss": "https://login.example.com", "sub": "u-admin", "org_handle": "acme", "org_id": "o-acme"}
	switched, groups, err := authenticate(t, map[string]any{"org_handle": "acme-eu", "preferred_username": "Bob",
		"groups": rules.SwitchGroups([]string{"acme", "acme-eu"}), "act": act})
	if err != nil {
		t.Fatalf("a switched token is refused: %v", err)
	}
	if switched == own {
		t.Fatalf("acme's admin switched into acme-eu is kube user %q, the name of acme-eu's own user", switched)
	}
	if want := rules.KubeSwitchedUser("acme", "acme-eu", "Bob"); switched != want {
		t.Errorf("switched user = %q, want %q", switched, want)
	}
	if len(groups) != 1 || groups[0] != rules.KubeGroup(rules.AdminGroup("acme-eu")) {
		t.Errorf("switched groups = %v, want acme-eu's admin group only", groups)
	}

	// An act claim that names no organization, or one with a colon, is refused
	// rather than mapped to a name that could run into another.
	for _, bad := range []map[string]any{
		{"sub": "u-admin"},
		{"sub": "u-admin", "org_handle": "acme:x"},
		{"sub": "u-admin", "org_handle": ""},
	} {
		name, _, err := authenticate(t, map[string]any{"org_handle": "acme-eu", "preferred_username": "bob", "act": bad})
		if err == nil && name != "" {
			t.Errorf("act %v accepted as %q", bad, name)
		}
	}
}
