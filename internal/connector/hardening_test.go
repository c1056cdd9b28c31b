package connector_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orgkeeper/orgkeeper/internal/connector"
	"github.com/orgkeeper/orgkeeper/internal/connector/upstreamtest"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
)

// Each hostile or broken upstream answer ends in a typed *connector.Error
// (which the login step turns into the branded page and an OAuth error),
// never an identity, a panic or a hang.

const fakeCallback = "https://orgkeeper.example/login/idp/callback"

func otherKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// unsigned builds a JWS with the given header and no valid signature.
func unsigned(header map[string]any, payload []byte) string {
	h, _ := json.Marshal(header)
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(payload) + "."
}

// endless writes a valid-looking start and then bytes until the client
// goes away.
func endless(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"id_token":"`))
	chunk := []byte(strings.Repeat("a", 64<<10))
	for r.Context().Err() == nil {
		if _, err := w.Write(chunk); err != nil {
			return
		}
	}
}

// stalled sends headers and then nothing until the client goes away.
func stalled(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(`{"id_token":`))
	w.(http.Flusher).Flush()
	<-r.Context().Done()
}

func TestEveryHostileUpstreamAnswerEndsInATypedError(t *testing.T) {
	huge := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		chunk := []byte(strings.Repeat(" ", 1<<20))
		for i := 0; i < 50 && r.Context().Err() == nil; i++ { // 50 MiB
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}
	tests := []struct {
		name  string
		setup func(t *testing.T, f *upstreamtest.Fake)
		want  *connector.Error
		// code is the OAuth error the downstream client gets.
		code string
	}{
		{
			name: "a discovery document that names another issuer is refused as a misconfiguration",
			setup: func(t *testing.T, f *upstreamtest.Fake) {
				f.Discovery = func(d map[string]any) { d["issuer"] = "https://evil.example" }
			},
			want: connector.ErrMisconfigured, code: "server_error",
		},
		{
			name: "a discovery document with a plain http token endpoint off loopback is refused",
			setup: func(t *testing.T, f *upstreamtest.Fake) {
				f.Discovery = func(d map[string]any) { d["token_endpoint"] = "http://token.example/token" }
			},
			want: connector.ErrMisconfigured, code: "server_error",
		},
		{
			name: "an ID token signed by another key under the provider's key ID fails the signature check",
			setup: func(t *testing.T, f *upstreamtest.Fake) {
				k := otherKey(t)
				f.Sign = func(p []byte) string { return upstreamtest.SignES256(k, f.KeyID, p) }
			},
			want: connector.ErrBadSignature, code: "access_denied",
		},
		{
			name: "an ID token signed by a key the provider never published fails the signature check",
			setup: func(t *testing.T, f *upstreamtest.Fake) {
				k := otherKey(t)
				f.Sign = func(p []byte) string { return upstreamtest.SignES256(k, "attacker-key", p) }
			},
			want: connector.ErrBadSignature, code: "access_denied",
		},
		{
			name: "an unsigned ID token (alg none) is refused",
			setup: func(t *testing.T, f *upstreamtest.Fake) {
				f.Sign = func(p []byte) string { return unsigned(map[string]any{"alg": "none"}, p) }
			},
			want: connector.ErrBadSignature, code: "access_denied",
		},
		{
			name: "an ID token with an HMAC algorithm is refused",
			setup: func(t *testing.T, f *upstreamtest.Fake) {
				f.Sign = func(p []byte) string { return unsigned(map[string]any{"alg": "HS256", "kid": f.KeyID}, p) + "c2ln" }
			},
			want: connector.ErrBadSignature, code: "access_denied",
		},
		{
			name: "an ID token issued by another upstream is refused",
			setup: func(t *testing.T, f *upstreamtest.Fake) {
				f.Claims = func(c map[string]any) { c["iss"] = "https://other-idp.example" }
			},
			want: connector.ErrWrongIssuer, code: "access_denied",
		},
		{
			name: "an ID token for another client is refused",
			setup: func(t *testing.T, f *upstreamtest.Fake) {
				f.Claims = func(c map[string]any) { c["aud"] = "someone-else" }
			},
			want: connector.ErrWrongAudience, code: "access_denied",
		},
		{
			name: "an ID token for several audiences authorized for another party is refused",
			setup: func(t *testing.T, f *upstreamtest.Fake) {
				f.Claims = func(c map[string]any) {
					c["aud"] = []string{upstreamtest.FakeClientID, "someone-else"}
					c["azp"] = "someone-else"
				}
			},
			want: connector.ErrWrongAudience, code: "access_denied",
		},
		{
			name: "an ID token for several audiences without an authorized party is refused",
			setup: func(t *testing.T, f *upstreamtest.Fake) {
				f.Claims = func(c map[string]any) { c["aud"] = []string{upstreamtest.FakeClientID, "someone-else"} }
			},
			want: connector.ErrWrongAudience, code: "access_denied",
		},
		{
			name: "an ID token minted for another sign-in's nonce is refused",
			setup: func(t *testing.T, f *upstreamtest.Fake) {
				f.Claims = func(c map[string]any) { c["nonce"] = "another-sign-in" }
			},
			want: connector.ErrNonceMismatch, code: "access_denied",
		},
		{
			name: "an ID token without a nonce is refused",
			setup: func(t *testing.T, f *upstreamtest.Fake) {
				f.Claims = func(c map[string]any) { delete(c, "nonce") }
			},
			want: connector.ErrNonceMismatch, code: "access_denied",
		},
		{
			name: "an expired ID token is refused",
			setup: func(t *testing.T, f *upstreamtest.Fake) {
				f.Claims = func(c map[string]any) { c["exp"] = time.Now().Add(-10 * time.Minute).Unix() }
			},
			want: connector.ErrTokenExpired, code: "access_denied",
		},
		{
			name: "an ID token issued in the future is refused",
			setup: func(t *testing.T, f *upstreamtest.Fake) {
				f.Claims = func(c map[string]any) { c["iat"] = time.Now().Add(time.Hour).Unix() }
			},
			want: connector.ErrTokenExpired, code: "access_denied",
		},
		{
			name: "an ID token without a subject is refused",
			setup: func(t *testing.T, f *upstreamtest.Fake) {
				f.Claims = func(c map[string]any) { delete(c, "sub") }
			},
			want: connector.ErrInvalidToken, code: "access_denied",
		},
		{
			name: "a response carrying another provider's iss parameter is a mix-up",
			setup: func(t *testing.T, f *upstreamtest.Fake) {
				f.Callback = func(q url.Values) { q.Set("iss", "https://other-idp.example") }
			},
			want: connector.ErrMixUp, code: "access_denied",
		},
		{
			name: "a response without iss from a provider that promises it is a mix-up",
			setup: func(t *testing.T, f *upstreamtest.Fake) {
				f.Callback = func(q url.Values) { q.Del("iss") }
			},
			want: connector.ErrMixUp, code: "access_denied",
		},
		{
			name: "a response with two iss parameters is a mix-up",
			setup: func(t *testing.T, f *upstreamtest.Fake) {
				f.Callback = func(q url.Values) { q.Add("iss", "https://other-idp.example") }
			},
			want: connector.ErrMixUp, code: "access_denied",
		},
		{
			name: "a response with another state is refused before anything in it is believed",
			setup: func(t *testing.T, f *upstreamtest.Fake) {
				f.Callback = func(q url.Values) { q.Set("state", "forged"); q.Set("error", "access_denied") }
			},
			want: connector.ErrStateMismatch, code: "access_denied",
		},
		{
			name: "a response with the state twice is refused",
			setup: func(t *testing.T, f *upstreamtest.Fake) {
				f.Callback = func(q url.Values) { q.Add("state", q.Get("state")) }
			},
			want: connector.ErrStateMismatch, code: "access_denied",
		},
		{
			name: "a response without a code is refused",
			setup: func(t *testing.T, f *upstreamtest.Fake) {
				f.Callback = func(q url.Values) { q.Del("code") }
			},
			want: connector.ErrInvalidCallback, code: "access_denied",
		},
		{
			name: "an access_denied error response is passed through as the upstream's error",
			setup: func(t *testing.T, f *upstreamtest.Fake) {
				f.Callback = func(q url.Values) {
					q.Del("code")
					q.Set("error", "access_denied")
					q.Set("error_description", "The user said no")
				}
			},
			want: connector.ErrUpstreamError, code: "access_denied",
		},
		{
			name: "an error from the token endpoint is passed through as the upstream's error",
			setup: func(t *testing.T, f *upstreamtest.Fake) {
				f.Handlers["/token"] = func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusBadRequest)
					_, _ = w.Write([]byte(`{"error":"invalid_grant","error_description":"code expired"}`))
				}
			},
			want: connector.ErrUpstreamError, code: "access_denied",
		},
		{
			name: "a token endpoint that refuses Orgkeeper's client credentials is a misconfiguration",
			setup: func(t *testing.T, f *upstreamtest.Fake) {
				f.Handlers["/token"] = func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusUnauthorized)
					_, _ = w.Write([]byte(`{"error":"invalid_client"}`))
				}
			},
			want: connector.ErrMisconfigured, code: "server_error",
		},
		{
			name: "a token endpoint that fails with a server error is unavailable",
			setup: func(t *testing.T, f *upstreamtest.Fake) {
				f.Handlers["/token"] = func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", http.StatusBadGateway) }
			},
			want: connector.ErrUnavailable, code: "temporarily_unavailable",
		},
		{
			name: "a token endpoint that redirects is not followed",
			setup: func(t *testing.T, f *upstreamtest.Fake) {
				f.Handlers["/token"] = func(w http.ResponseWriter, r *http.Request) {
					http.Redirect(w, r, "https://collector.example/steal", http.StatusTemporaryRedirect)
				}
			},
			want: connector.ErrUnavailable, code: "temporarily_unavailable",
		},
		{
			name: "a 50 MiB token response is cut off at the limit",
			setup: func(t *testing.T, f *upstreamtest.Fake) {
				f.Handlers["/token"] = huge
			},
			want: connector.ErrUnavailable, code: "temporarily_unavailable",
		},
		{
			name: "a token response that never ends is cut off at the limit",
			setup: func(t *testing.T, f *upstreamtest.Fake) {
				f.Handlers["/token"] = endless
			},
			want: connector.ErrUnavailable, code: "temporarily_unavailable",
		},
		{
			name: "a token endpoint that stalls after the headers times out",
			setup: func(t *testing.T, f *upstreamtest.Fake) {
				f.Handlers["/token"] = stalled
			},
			want: connector.ErrUnavailable, code: "temporarily_unavailable",
		},
		{
			name: "a huge JWKS is cut off at the limit",
			setup: func(t *testing.T, f *upstreamtest.Fake) {
				f.Handlers["/keys"] = huge
			},
			want: connector.ErrUnavailable, code: "temporarily_unavailable",
		},
		{
			name: "a huge discovery document is cut off at the limit",
			setup: func(t *testing.T, f *upstreamtest.Fake) {
				f.Handlers["/.well-known/openid-configuration"] = huge
			},
			want: connector.ErrUnavailable, code: "temporarily_unavailable",
		},
		{
			name: "a stalled discovery times out",
			setup: func(t *testing.T, f *upstreamtest.Fake) {
				f.Handlers["/.well-known/openid-configuration"] = stalled
			},
			want: connector.ErrUnavailable, code: "temporarily_unavailable",
		},
		{
			name: "userinfo about another subject is refused",
			setup: func(t *testing.T, f *upstreamtest.Fake) {
				f.Claims = func(c map[string]any) { delete(c, "groups") }
				f.Userinfo = func(c map[string]any) { c["sub"] = "someone-else" }
			},
			want: connector.ErrUserinfoMismatch, code: "access_denied",
		},
		{
			name: "a huge userinfo answer is cut off at the limit",
			setup: func(t *testing.T, f *upstreamtest.Fake) {
				f.Claims = func(c map[string]any) { delete(c, "groups") }
				f.Handlers["/userinfo"] = huge
			},
			want: connector.ErrUnavailable, code: "temporarily_unavailable",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := upstreamtest.NewFake(t)
			f.Set(func(f *upstreamtest.Fake) { tt.setup(t, f) })
			cfg := testConfig()
			cfg.Timeout = 500 * time.Millisecond
			conn, err := connector.New(f.IdentityProvider("acme", "fake"), cfg)
			if err != nil {
				t.Fatal(err)
			}
			id, err := signInAtFake(t, conn, f)
			if !isReason(err, tt.want) {
				t.Fatalf("want %s, got identity %+v and error %v", tt.want.Reason, id, err)
			}
			t.Logf("error: %v", err)
			if !errors.Is(err, tt.want) {
				t.Errorf("errors.Is(err, %s) is false", tt.want.Reason)
			}
			if got := connector.OAuthCode(err); got != tt.code {
				t.Errorf("OAuth error for the client: want %q, got %q", tt.code, got)
			}
			if msg := connector.UserMessage(err, "Fake"); msg == "" {
				t.Errorf("no message for the error page")
			}
			for _, secret := range []string{upstreamtest.FakeClientSecret, "fake-access-token", "fake-code-1"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("the error text reveals %q: %v", secret, err)
				}
			}
		})
	}
}

// signInAtFake runs Begin, the Fake's authorization and Finish.
func signInAtFake(t *testing.T, conn *connector.OIDC, f *upstreamtest.Fake) (connector.Identity, error) {
	t.Helper()
	authURL, pending, err := conn.Begin(t.Context(), connector.BeginRequest{RedirectURI: fakeCallback})
	if err != nil {
		return connector.Identity{}, err
	}
	return conn.Finish(t.Context(), pending, f.Authorize(t, authURL))
}

func TestAWellBehavedFakeSignsIn(t *testing.T) {
	// The control for the table above: the Fake's defaults sign in.
	f := upstreamtest.NewFake(t)
	conn, err := connector.New(f.IdentityProvider("acme", "fake"), testConfig())
	if err != nil {
		t.Fatal(err)
	}
	id, err := signInAtFake(t, conn, f)
	if err != nil {
		t.Fatal(err)
	}
	if id.Subject != upstreamtest.FakeSubject || id.Email != "pat@fake.example" || !id.EmailVerified || id.PreferredUsername != "pat" {
		t.Fatalf("identity: %+v", id)
	}
	if n := f.Hits("/userinfo"); n != 0 {
		t.Errorf("userinfo was fetched %d times although the ID token had every mapped claim", n)
	}
}

func TestTheUpstreamsErrorDescriptionIsBoundedAndPrintable(t *testing.T) {
	f := upstreamtest.NewFake(t)
	f.Set(func(f *upstreamtest.Fake) {
		f.Callback = func(q url.Values) {
			q.Del("code")
			q.Set("error", "access_denied\x00<b>")
			q.Set("error_description", "<script>alert(1)</script>\n"+strings.Repeat("x", 2000))
		}
	})
	conn, err := connector.New(f.IdentityProvider("acme", "fake"), testConfig())
	if err != nil {
		t.Fatal(err)
	}
	_, err = signInAtFake(t, conn, f)
	var e *connector.Error
	if !errors.As(err, &e) || e.Upstream == nil {
		t.Fatalf("want an upstream error, got %v", err)
	}
	if len(e.Upstream.Description) > 256 || len(e.Upstream.Code) > 64 {
		t.Errorf("not bounded: %d and %d bytes", len(e.Upstream.Code), len(e.Upstream.Description))
	}
	for _, s := range []string{e.Upstream.Code, e.Upstream.Description} {
		for _, c := range []byte(s) {
			if c < 0x20 || c > 0x7e {
				t.Errorf("a control byte %#x passed through: %q", c, s)
			}
		}
	}
	if !strings.HasPrefix(e.Upstream.Code, "access_denied") {
		t.Errorf("code: %q", e.Upstream.Code)
	}
}

func TestAResponseWithoutIssFromAProviderThatDoesNotPromiseItIsAccepted(t *testing.T) {
	f := upstreamtest.NewFake(t)
	f.Set(func(f *upstreamtest.Fake) {
		f.Discovery = func(d map[string]any) { delete(d, "authorization_response_iss_parameter_supported") }
		f.Callback = func(q url.Values) { q.Del("iss") }
	})
	conn, err := connector.New(f.IdentityProvider("acme", "fake"), testConfig())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := signInAtFake(t, conn, f); err != nil {
		t.Fatalf("a provider without RFC 9207: %v", err)
	}
}

func TestAPendingStateOfAnotherProviderIsRefused(t *testing.T) {
	f := upstreamtest.NewFake(t)
	mine, err := connector.New(f.IdentityProvider("acme", "fake"), testConfig())
	if err != nil {
		t.Fatal(err)
	}
	// globex's provider, same upstream: a callback for acme's sign-in must
	// not finish at globex's connector, and a re-created provider (new
	// UID) does not inherit the old one's pending sign-ins.
	other := f.IdentityProvider("globex", "fake")
	recreated := f.IdentityProvider("acme", "fake")
	recreated.UID = "a-new-uid"
	for _, idp := range []*snapshot.IdentityProvider{other, recreated} {
		theirs, err := connector.New(idp, testConfig())
		if err != nil {
			t.Fatal(err)
		}
		authURL, pending, err := mine.Begin(t.Context(), connector.BeginRequest{RedirectURI: fakeCallback})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := theirs.Finish(t.Context(), pending, f.Authorize(t, authURL)); !isReason(err, connector.ErrWrongProvider) {
			t.Errorf("%s finishing %s's sign-in: %v", theirs.Key(), mine.Key(), err)
		}
	}
}

func TestUnknownKeyIDsDoNotMakeTheConnectorHammerTheJWKS(t *testing.T) {
	f := upstreamtest.NewFake(t)
	var mu sync.Mutex
	n := 0
	f.Set(func(f *upstreamtest.Fake) {
		k := otherKey(t)
		f.Sign = func(p []byte) string {
			mu.Lock()
			defer mu.Unlock()
			n++
			return upstreamtest.SignES256(k, "made-up-"+string(rune('a'+n%26)), p)
		}
	})
	conn, err := connector.New(f.IdentityProvider("acme", "fake"), testConfig())
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if _, err := signInAtFake(t, conn, f); !isReason(err, connector.ErrBadSignature) {
			t.Fatalf("want BadSignature, got %v", err)
		}
	}
	if hits := f.Hits("/keys"); hits != 1 {
		t.Errorf("20 tokens with unknown key IDs fetched the JWKS %d times; want 1 within the refresh interval", hits)
	}
}

func TestACanceledSignInStopsWaitingForTheUpstream(t *testing.T) {
	f := upstreamtest.NewFake(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	// The browser goes away while the token request is under way: the
	// call ends with the login's context, long before the 5s timeout.
	f.Set(func(f *upstreamtest.Fake) {
		f.Handlers["/token"] = func(w http.ResponseWriter, r *http.Request) { cancel(); stalled(w, r) }
	})
	conn, err := connector.New(f.IdentityProvider("acme", "fake"), testConfig())
	if err != nil {
		t.Fatal(err)
	}
	authURL, pending, err := conn.Begin(t.Context(), connector.BeginRequest{RedirectURI: fakeCallback})
	if err != nil {
		t.Fatal(err)
	}
	_, err = conn.Finish(ctx, pending, f.Authorize(t, authURL))
	if !isReason(err, connector.ErrUnavailable) || !errors.Is(err, context.Canceled) {
		t.Fatalf("want Unavailable because of the canceled context, got %v", err)
	}
}

func TestARedirectingTokenEndpointDoesNotGetTheCodeSentElsewhere(t *testing.T) {
	f := upstreamtest.NewFake(t)
	f.Set(func(f *upstreamtest.Fake) {
		f.Handlers["/token"] = func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, f.URL+"/collector", http.StatusTemporaryRedirect)
		}
		f.Handlers["/collector"] = func(w http.ResponseWriter, r *http.Request) { http.Error(w, "got it", http.StatusOK) }
	})
	conn, err := connector.New(f.IdentityProvider("acme", "fake"), testConfig())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := signInAtFake(t, conn, f); !isReason(err, connector.ErrUnavailable) {
		t.Fatalf("want Unavailable, got %v", err)
	}
	if n := f.Hits("/collector"); n != 0 {
		t.Errorf("the redirect was followed: the collector got %d requests with the code and the client secret", n)
	}
}

func TestConcurrentSignInsThroughOneConnectorEachGetTheirOwnIdentity(t *testing.T) {
	f := upstreamtest.NewFake(t)
	f.Set(func(f *upstreamtest.Fake) {
		// Each sign-in's subject is its nonce's prefix, so that a mixed-up
		// answer would show.
		f.Claims = func(c map[string]any) { c["sub"] = "user-" + c["nonce"].(string)[:8] }
	})
	conn, err := connector.New(f.IdentityProvider("acme", "fake"), testConfig())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			authURL, pending, err := conn.Begin(t.Context(), connector.BeginRequest{RedirectURI: fakeCallback})
			if err != nil {
				errs <- err
				return
			}
			id, err := conn.Finish(t.Context(), pending, f.Authorize(t, authURL))
			if err == nil && id.Subject != "user-"+pending.Nonce[:8] {
				err = errors.New("got another sign-in's identity: " + id.Subject)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := f.Hits("/keys"); n != 1 {
		t.Errorf("16 concurrent sign-ins fetched the JWKS %d times; want once", n)
	}
}
