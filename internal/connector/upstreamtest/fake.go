// Package upstreamtest runs a small upstream OpenID Connect provider for
// tests of the connector and of the login step that uses it: Fake, which
// behaves well by default and whose every answer a test can replace to
// behave badly (wrong issuer, foreign keys, endless answers...). It imports
// nothing of the server, so that any package's tests can use it; Orgkeeper's
// own issuer as an upstream is in the orgkeeperidp subpackage. Not for
// production.
package upstreamtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/orgkeeper/orgkeeper/internal/snapshot"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

// FakeSubject is the sub of the one account of a Fake.
const FakeSubject = "fake-user-1"

// Fake is a minimal upstream provider on 127.0.0.1 that behaves well by
// default (discovery, JWKS, a token endpoint that checks the code, PKCE and
// the client secret, userinfo) and whose every part a test can replace to
// behave badly. Set the fields before the sign-in; they are read under a
// lock.
type fakePending struct{ nonce, challenge, redirectURI string }

type Fake struct {
	// URL is the issuer.
	URL string
	// HTTPClient reaches the Fake (it trusts the TLS Fake's certificate).
	HTTPClient *http.Client
	// Key signs ID tokens; its public half is in the JWKS as KeyID.
	Key   *ecdsa.PrivateKey
	KeyID string

	mu sync.Mutex
	// Discovery edits the discovery document before it is served.
	Discovery func(doc map[string]any)
	// Claims edits the ID token's claims before they are signed.
	Claims func(claims map[string]any)
	// Sign, when set, signs the ID token's payload instead of Key.
	Sign func(payload []byte) string
	// Userinfo edits the userinfo claims before they are served.
	Userinfo func(claims map[string]any)
	// Callback edits the callback's query that Authorize returns.
	Callback func(q url.Values)
	// Now is the Fake's clock for iat and exp; nil is time.Now.
	Now func() time.Time
	// Public makes the Orgkeeper under test a public client: the token
	// endpoint wants client_id in the body and no secret.
	Public bool
	// Handlers replace the answer at a path (/.well-known/openid-configuration,
	// /keys, /token, /userinfo).
	Handlers map[string]http.HandlerFunc

	// pending holds each issued code's authorization request; a code is
	// redeemed once.
	pending map[string]fakePending
	codes   int

	// hits counts requests per path.
	hits sync.Map // path -> *atomic.Int64
	// busy is the time spent answering requests, in nanoseconds.
	busy atomic.Int64
}

// Busy is the total time the Fake has spent answering requests: the
// upstream's own share of a sign-in, which benchmarks of Orgkeeper's
// share subtract.
func (f *Fake) Busy() time.Duration { return time.Duration(f.busy.Load()) }

// Fake's client credentials, as in IdentityProvider.
const (
	FakeClientID     = "orgkeeper"
	FakeClientSecret = "fake-client-secret"
)

// NewFake starts a Fake that stops at the end of the test.
func NewFake(t testing.TB) *Fake {
	t.Helper()
	return newFake(t, false)
}

// NewTLSFake starts a Fake on https (a test certificate for 127.0.0.1),
// for tests that go through the snapshot, which serves https providers
// only. Give the connector HTTPClient, which trusts the certificate.
func NewTLSFake(t testing.TB) *Fake {
	t.Helper()
	return newFake(t, true)
}

func newFake(t testing.TB, tls bool) *Fake {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f := &Fake{Key: key, KeyID: "fake-key-1", Handlers: map[string]http.HandlerFunc{}, pending: map[string]fakePending{}}
	var srv *httptest.Server
	if tls {
		srv = httptest.NewTLSServer(http.HandlerFunc(f.serve))
	} else {
		srv = httptest.NewServer(http.HandlerFunc(f.serve))
	}
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	f.HTTPClient = srv.Client()
	return f
}

// IdentityProvider is an IdentityProvider of namespace using the Fake.
func (f *Fake) IdentityProvider(namespace, name string) *snapshot.IdentityProvider {
	return OIDCIdentityProvider(namespace, name, "Fake", f.URL, FakeClientID, FakeClientSecret)
}

// OIDCIdentityProvider is an IdentityProvider of namespace for the OIDC
// upstream at issuer, as the snapshot serves it: the standard scopes and
// claim names, PKCE on. It is built by hand because the snapshot refuses
// the plain http issuer of a test server.
func OIDCIdentityProvider(namespace, name, displayName, issuer, clientID, clientSecret string) *snapshot.IdentityProvider {
	idp := &snapshot.IdentityProvider{
		Name: name, Namespace: namespace, UID: st.UID("idp", namespace, name), Generation: 1,
		DisplayName: displayName, Issuer: issuer, ClientID: clientID, ClientSecret: clientSecret,
		Scopes: []string{"openid", "email", "profile"}, PKCE: true,
	}
	idp.ClaimMappings.Subject = "sub"
	idp.ClaimMappings.Email = "email"
	idp.ClaimMappings.EmailVerified = "email_verified"
	idp.ClaimMappings.Name = "name"
	idp.ClaimMappings.GivenName = "given_name"
	idp.ClaimMappings.FamilyName = "family_name"
	idp.ClaimMappings.Groups = "groups"
	return idp
}

// Hits is how many requests path received.
func (f *Fake) Hits(path string) int64 {
	if v, ok := f.hits.Load(path); ok {
		return v.(*atomic.Int64).Load()
	}
	return 0
}

// Set changes the Fake under its lock.
func (f *Fake) Set(change func(f *Fake)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change(f)
}

// Authorize plays the user signing in at the Fake: it reads the
// authorization request authURL (remembering its nonce, PKCE challenge and
// redirect URI) and returns the callback request the browser would send:
// redirect_uri?code=...&state=...&iss=..., edited by Callback.
func (f *Fake) Authorize(t testing.TB, authURL string) *http.Request {
	t.Helper()
	u, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	f.mu.Lock()
	f.codes++
	code := "fake-code-" + strconv.Itoa(f.codes)
	f.pending[code] = fakePending{nonce: q.Get("nonce"), challenge: q.Get("code_challenge"), redirectURI: q.Get("redirect_uri")}
	edit := f.Callback
	f.mu.Unlock()
	cb := url.Values{"code": {code}, "state": {q.Get("state")}, "iss": {f.URL}}
	if edit != nil {
		edit(cb)
	}
	return httptest.NewRequest(http.MethodGet, q.Get("redirect_uri")+"?"+cb.Encode(), nil)
}

// IDTokenClaims are the claims the Fake would sign now for an
// authorization request with nonce. Call it under the Fake's lock (from
// Set, Claims or Userinfo).
func (f *Fake) IDTokenClaims(nonce string) map[string]any {
	now := time.Now()
	if f.Now != nil {
		now = f.Now()
	}
	return map[string]any{
		"iss": f.URL, "sub": FakeSubject, "aud": FakeClientID,
		"exp": now.Add(5 * time.Minute).Unix(), "iat": now.Unix(), "nonce": nonce,
		"email": "pat@fake.example", "email_verified": true,
		"name": "Pat Doe", "given_name": "Pat", "family_name": "Doe", "preferred_username": "pat",
		"groups": []string{"staff"},
	}
}

// SignES256 signs payload with key under kid (for Sign).
func SignES256(key *ecdsa.PrivateKey, kid string, payload []byte) string {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, nil)
	if err != nil {
		panic(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		panic(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		panic(err)
	}
	return s
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	defer func() { f.busy.Add(int64(time.Since(start))) }()
	v, _ := f.hits.LoadOrStore(r.URL.Path, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
	f.mu.Lock()
	h := f.Handlers[r.URL.Path]
	f.mu.Unlock()
	if h != nil {
		h(w, r)
		return
	}
	switch r.URL.Path {
	case "/.well-known/openid-configuration":
		doc := map[string]any{
			"issuer": f.URL, "authorization_endpoint": f.URL + "/authorize", "token_endpoint": f.URL + "/token",
			"jwks_uri": f.URL + "/keys", "userinfo_endpoint": f.URL + "/userinfo",
			"id_token_signing_alg_values_supported":          []string{"ES256"},
			"authorization_response_iss_parameter_supported": true,
		}
		f.mu.Lock()
		if f.Discovery != nil {
			f.Discovery(doc)
		}
		f.mu.Unlock()
		writeJSON(w, http.StatusOK, doc)
	case "/keys":
		writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &f.Key.PublicKey, KeyID: f.KeyID, Algorithm: "ES256", Use: "sig"}}})
	case "/token":
		f.token(w, r)
	case "/userinfo":
		if r.Header.Get("Authorization") != "Bearer fake-access-token" {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token"})
			return
		}
		f.mu.Lock()
		claims := f.IDTokenClaims("")
		for _, k := range []string{"iss", "aud", "exp", "iat", "nonce"} {
			delete(claims, k)
		}
		if f.Userinfo != nil {
			f.Userinfo(claims)
		}
		f.mu.Unlock()
		writeJSON(w, http.StatusOK, claims)
	default:
		http.NotFound(w, r)
	}
}

// token checks the code, the PKCE verifier, the redirect URI and the
// client secret like a real provider, and answers with an ID token.
func (f *Fake) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "authorization_code" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	id, secret, ok := r.BasicAuth()
	f.mu.Lock()
	public := f.Public
	f.mu.Unlock()
	if public {
		id, secret, ok = r.PostForm.Get("client_id"), FakeClientSecret, !ok && r.PostForm.Get("client_secret") == ""
	}
	if !ok || id != FakeClientID || secret != FakeClientSecret {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	code := r.PostForm.Get("code")
	p, ok := f.pending[code]
	delete(f.pending, code)
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if !ok || r.PostForm.Get("redirect_uri") != p.redirectURI || base64.RawURLEncoding.EncodeToString(sum[:]) != p.challenge {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "code, redirect_uri or code_verifier is wrong"})
		return
	}
	claims := f.IDTokenClaims(p.nonce)
	if f.Claims != nil {
		f.Claims(claims)
	}
	payload, _ := json.Marshal(claims)
	var idToken string
	if f.Sign != nil {
		idToken = f.Sign(payload)
	} else {
		idToken = SignES256(f.Key, f.KeyID, payload)
	}
	writeJSON(w, http.StatusOK, map[string]any{"access_token": "fake-access-token", "token_type": "Bearer", "expires_in": 300, "id_token": idToken})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
