package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/credentials"
	"github.com/orgkeeper/orgkeeper/internal/keys"
	"github.com/orgkeeper/orgkeeper/internal/login"
	"github.com/orgkeeper/orgkeeper/internal/oidc"
	"github.com/orgkeeper/orgkeeper/internal/server"
	"github.com/orgkeeper/orgkeeper/internal/session"
	"github.com/orgkeeper/orgkeeper/internal/session/redisstore"
	"github.com/orgkeeper/orgkeeper/internal/session/redisstore/redistest"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

const (
	benchRedirect = "http://127.0.0.1:9/callback"
	benchVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	benchPassword = "correct horse battery staple"
	// flowsPerRound is how many flows run at once in each timed round: an
	// issuer serves many browsers at a time, and a store's round trips
	// overlap with other requests' work, as they do in production.
	flowsPerRound = 16
)

// storeIssuer is one server on an httptest listener, with its store.
type storeIssuer struct {
	srv      *server.Server
	url      string
	sessions session.Store
	user     *snapshot.User
	viaPages bool // sign in through the login pages (with the password), not by writing the result
}

func newStoreIssuer(b testing.TB, sessions session.Store, passwordHash string, viaPages bool) *storeIssuer {
	return newStoreIssuerWithKeys(b, sessions, passwordHash, viaPages, nil)
}

func newStoreIssuerWithKeys(b testing.TB, sessions session.Store, passwordHash string, viaPages bool, serverKeys server.ServerKeysGetter, appOpts ...st.AppOption) *storeIssuer {
	b.Helper()
	// One user per concurrent flow: a flow is one person signing in, and
	// the account limit (reserved before the hash is verified) refuses a
	// sixth concurrent attempt at one account, as it should.
	world := []any{st.Org("acme")}
	for i := range flowsPerRound {
		u := st.User("acme", fmt.Sprintf("ada%d", i), fmt.Sprintf("ada%d@acme.example", i))
		world = append(world, u, st.CredentialSecret(u.UID, passwordHash, ""))
	}
	snap := st.MustBuild(b, st.World(append(world,
		st.App("acme", "portal", append([]st.AppOption{st.WithRedirectURIs(benchRedirect),
			st.WithGrantTypes(iamv1.GrantTypeAuthorizationCode, iamv1.GrantTypeRefreshToken)}, appOpts...)...),
	)...))
	snaps := &snapshot.Store{}
	snaps.Set(snap)
	ks, err := keys.NewKeySet(time.Now())
	if err != nil {
		b.Fatal(err)
	}
	var h http.Handler
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	b.Cleanup(ts.Close)
	srv, err := server.New(server.Config{
		Issuer: ts.URL, Snapshots: snaps, Keys: oidc.StaticKeys{Set: ks}, Sessions: sessions, Log: logr.Discard(),
		ServerKeys: serverKeys,
		// Every benchmark browser connects from 127.0.0.1; in production
		// they would be many addresses. Give each request its own, so
		// that the per-address limits (which this benchmark is not about)
		// do not refuse the load.
		ClientIP: func(*http.Request) string {
			n := clientCounter.Add(1)
			return fmt.Sprintf("10.%d.%d.%d", n>>16&255, n>>8&255, n&255)
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	h = srv.Handler()
	return &storeIssuer{srv: srv, url: ts.URL, sessions: sessions, user: snap.UserByLogin("acme", "ada0@acme.example"), viaPages: viaPages}
}

// clientCounter numbers the benchmark's requests (see ClientIP above), and
// userCounter spreads the password flows over the users.
var clientCounter, userCounter atomic.Uint64

// browser is a client with its own cookies that does not follow redirects.
func benchBrowser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// flow runs one authorization-code flow: /authorize, the sign-in, the
// callback, and the code exchange that issues ID, access and refresh tokens.
func (is *storeIssuer) flow() error {
	c := benchBrowser()
	code, err := is.code(c)
	if err != nil {
		return err
	}
	_, err = is.exchange(c, code)
	return err
}

// code runs the flow up to the authorization response and returns the code.
func (is *storeIssuer) code(c *http.Client) (string, error) {
	sum := sha256.Sum256([]byte(benchVerifier))
	q := url.Values{
		"client_id": {"portal"}, "redirect_uri": {benchRedirect}, "response_type": {"code"},
		"scope": {"openid profile email offline_access"}, "state": {"s"}, "nonce": {"n"}, "organization": {"acme"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}
	loc, _, err := redirect(c, is.url+"/authorize?"+q.Encode())
	if err != nil {
		return "", err
	}
	id := loc.Query().Get("authRequestID")
	if id == "" {
		return "", fmt.Errorf("authorize did not send the browser to the login pages: %s", loc)
	}
	callback := oidc.CallbackURL(is.url, id)
	if is.viaPages {
		if callback, err = is.signIn(c, loc); err != nil {
			return "", err
		}
	} else {
		// What the login pages do once the user is authenticated: a login
		// session in the browser's cookie, recorded on the auth request.
		ls, err := is.sessions.CreateLoginSession(context.Background(), session.LoginSession{
			UserID: is.user.ID, OrgID: is.user.Org.ID, AuthTime: time.Now(), AMR: []string{"pwd"}})
		if err != nil {
			return "", err
		}
		base, _ := url.Parse(is.url)
		c.Jar.SetCookies(base, []*http.Cookie{{Name: login.SessionCookieName(false), Value: ls.ID, Path: "/"}})
		_, err = is.sessions.UpdateAuthRequest(context.Background(), id, func(r *session.AuthRequest) error {
			r.UserID, r.OrgID, r.AuthTime, r.AMR, r.Done = is.user.ID, is.user.Org.ID, ls.AuthTime, []string{"pwd"}, true
			r.LoginSessionID = session.HashSecret(ls.ID)
			return nil
		})
		if err != nil {
			return "", err
		}
	}
	loc, _, err = redirect(c, callback)
	if err != nil {
		return "", err
	}
	code := loc.Query().Get("code")
	if code == "" {
		return "", fmt.Errorf("no code from the callback: %s", loc)
	}
	return code, nil
}

// exchange redeems a code at the token endpoint and returns the access token.
func (is *storeIssuer) exchange(c *http.Client, code string) (string, error) {
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {benchRedirect}, "code_verifier": {benchVerifier}}
	req, _ := http.NewRequest(http.MethodPost, is.url+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("portal", st.GeneratedClientSecret("portal"))
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken  string `json:"access_token"`
		IDToken      string `json:"id_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != http.StatusOK || tok.IDToken == "" || tok.RefreshToken == "" {
		return "", fmt.Errorf("token exchange: status %d, err %v, tokens %+v", resp.StatusCode, err, tok)
	}
	return tok.AccessToken, nil
}

// userinfo calls /userinfo with an access token and returns the status.
func (is *storeIssuer) userinfo(accessToken string) (int, error) {
	req, _ := http.NewRequest(http.MethodGet, is.url+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+accessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// signIn fills the password page at loc and returns the callback URL the
// login pages redirect to.
func (is *storeIssuer) signIn(c *http.Client, loc *url.URL) (string, error) {
	form, err := is.passwordForm(c, loc)
	if err != nil {
		return "", err
	}
	return is.postPassword(c, form)
}

// passwordForm opens the password page at loc and returns its form, filled.
func (is *storeIssuer) passwordForm(c *http.Client, loc *url.URL) (url.Values, error) {
	base, err := url.Parse(is.url)
	if err != nil {
		return nil, err
	}
	page, err := c.Get(base.ResolveReference(loc).String())
	if err != nil {
		return nil, err
	}
	body, _ := io.ReadAll(page.Body)
	page.Body.Close()
	user := fmt.Sprintf("ada%d@acme.example", userCounter.Add(1)%flowsPerRound)
	form := url.Values{"username": {user}, "password": {benchPassword}}
	for _, m := range hiddenInput.FindAllStringSubmatch(string(body), -1) {
		form.Set(m[1], m[2])
	}
	if form.Get("csrf_token") == "" {
		return nil, fmt.Errorf("no password form at %s (status %d)", loc, page.StatusCode)
	}
	return form, nil
}

// postPassword posts the password form and returns the callback URL.
func (is *storeIssuer) postPassword(c *http.Client, form url.Values) (string, error) {
	resp, err := c.PostForm(is.url+"/login/password", form)
	if err != nil {
		return "", err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	next := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther || next == "" {
		return "", fmt.Errorf("password page: status %d, want a redirect to the callback", resp.StatusCode)
	}
	ref, err := url.Parse(is.url)
	if err != nil {
		return "", err
	}
	ref, err = ref.Parse(next)
	if err != nil {
		return "", err
	}
	return ref.String(), nil
}

// loginPage runs /authorize and returns where it sends the browser.
func (is *storeIssuer) loginPage(c *http.Client) (*url.URL, error) {
	sum := sha256.Sum256([]byte(benchVerifier))
	q := url.Values{
		"client_id": {"portal"}, "redirect_uri": {benchRedirect}, "response_type": {"code"},
		"scope": {"openid"}, "state": {"s"}, "organization": {"acme"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}
	loc, _, err := redirect(c, is.url+"/authorize?"+q.Encode())
	return loc, err
}

func redirect(c *http.Client, u string) (*url.URL, int, error) {
	resp, err := c.Get(u)
	if err != nil {
		return nil, 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther || err != nil {
		return nil, resp.StatusCode, fmt.Errorf("GET %s: status %d, Location %q", u, resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc, resp.StatusCode, nil
}

// round runs flowsPerRound flows concurrently and returns how long they took.
func (is *storeIssuer) round(b *testing.B) time.Duration {
	start := time.Now()
	errs := make([]error, flowsPerRound)
	var wg sync.WaitGroup
	for i := range flowsPerRound {
		wg.Go(func() { errs[i] = is.flow() })
	}
	wg.Wait()
	d := time.Since(start)
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	return d
}

// compare runs rounds alternately on the memory and the Redis store, so
// that both see the same machine, and reports each store's flows per second
// and their ratio.
func compare(b *testing.B, viaPages bool) {
	rdb := redistest.Start(b).Client(b)
	hash, err := credentials.Hash(benchPassword)
	if err != nil {
		b.Fatal(err)
	}
	mem := newStoreIssuer(b, session.NewMemory(), hash, viaPages)
	red := newStoreIssuer(b, redisstore.New(rdb), hash, viaPages)
	mem.round(b) // warm up connections and caches
	red.round(b)
	var memTime, redisTime time.Duration
	rounds := 0
	for b.Loop() {
		memTime += mem.round(b)
		redisTime += red.round(b)
		rounds++
	}
	flows := float64(rounds * flowsPerRound)
	memRate, redisRate := flows/memTime.Seconds(), flows/redisTime.Seconds()
	b.ReportMetric(memRate, "memory-flows/s")
	b.ReportMetric(redisRate, "redis-flows/s")
	b.ReportMetric(redisRate/memRate, "redis/memory")
}

// BenchmarkAuthorizationCodeFlowMemoryVsRedis measures complete
// authorization-code flows (authorize, the password page with argon2id,
// callback, code exchange) per second with the memory store and with the
// Redis store (a redis-server on loopback) in the same run (target:
// redis/memory >= 0.7). Without redis-server it is skipped, unless
// ORGKEEPER_REDIS_TESTS=required.
func BenchmarkAuthorizationCodeFlowMemoryVsRedis(b *testing.B) { compare(b, true) }

// BenchmarkAuthorizationCodeFlowNoPasswordMemoryVsRedis is the same flow
// with the password check left out (the login result is written to the
// store directly), so that the store's share of the work shows: about ten
// store calls against one ES256 signature and four HTTP requests.
func BenchmarkAuthorizationCodeFlowNoPasswordMemoryVsRedis(b *testing.B) { compare(b, false) }
