package main

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Token exchange (RFC 8693) parameters.
const (
	grantTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	tokenTypeAccess    = "urn:ietf:params:oauth:token-type:access_token"
	tokenTypeID        = "urn:ietf:params:oauth:token-type:id_token"
	tokenTypeJWT       = "urn:ietf:params:oauth:token-type:jwt"
)

// expiryMargin: a cached ID token is used only while it stays valid this
// much longer, so that it does not expire between kubectl and the API
// server.
const expiryMargin = 30 * time.Second

// loginOptions are the flags of `kubectl org login` (the exec plugin's
// arguments in the kubeconfig).
type loginOptions struct {
	issuer       string
	clientID     string
	organization string
	caFile       string
	listen       string
	noBrowser    bool
	cacheDir     string
	timeout      time.Duration
}

// signer gets ID tokens: from the cache, by refresh, by token exchange or
// by signing in in the browser.
type signer struct {
	opts  loginOptions
	cache cache
	http  *http.Client
	// log is where the sign-in address and progress go (stderr: stdout
	// carries the ExecCredential).
	log  io.Writer
	now  func() time.Time
	open func(string) error // opens a URL in a browser

	provider *gooidc.Provider
}

func newSigner(o loginOptions, log io.Writer) (*signer, error) {
	if o.issuer == "" {
		return nil, errors.New("--issuer-url is required: the address of your Orgkeeper issuer, such as https://login.example.com")
	}
	if u, err := url.Parse(o.issuer); err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("--issuer-url %q must be an https:// URL", o.issuer)
	}
	if o.cacheDir == "" {
		d, err := defaultCacheDir()
		if err != nil {
			return nil, err
		}
		o.cacheDir = d
	}
	if o.timeout == 0 {
		o.timeout = 5 * time.Minute
	}
	s := &signer{opts: o, cache: cache{dir: o.cacheDir}, log: log, now: time.Now, open: openBrowser}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if o.caFile != "" {
		pem, err := os.ReadFile(o.caFile)
		if err != nil {
			return nil, fmt.Errorf("--certificate-authority: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--certificate-authority %s holds no PEM certificate", o.caFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	s.http = &http.Client{Transport: tr, Timeout: 30 * time.Second}
	return s, nil
}

func (s *signer) key(org string) cacheKey {
	return cacheKey{Issuer: s.opts.issuer, ClientID: s.opts.clientID, Organization: org}
}

// cached returns the cached entry for org if it is fresh, without any
// network request: the path every kubectl command takes while the token
// lasts.
func (s *signer) cached(org string) (*entry, bool) {
	e, err := s.cache.load(s.key(org))
	if err != nil || !e.fresh(s.now(), expiryMargin) {
		return nil, false
	}
	return e, true
}

// signIn makes the signer for o and returns its credential for o's
// organization: the saved one while it is valid, else a new sign-in.
func signIn(ctx context.Context, o loginOptions, log io.Writer) (*signer, *entry, error) {
	s, err := newSigner(o, log)
	if err != nil {
		return nil, nil, err
	}
	e, err := s.credential(ctx, o.organization)
	if err != nil {
		return nil, nil, err
	}
	return s, e, nil
}

// credential returns a fresh entry for org: cached, refreshed, exchanged
// again from the organization it was switched from, or from a new sign-in.
func (s *signer) credential(ctx context.Context, org string) (*entry, error) {
	if e, ok := s.cached(org); ok {
		return e, nil
	}
	if err := os.MkdirAll(s.cache.dir, 0o700); err != nil {
		return nil, err
	}
	unlock, err := lockFile(s.cache.path(s.key(org)) + ".lock")
	if err != nil {
		return nil, err
	}
	defer unlock()
	// Another kubectl may have renewed it while we waited for the lock.
	e, err := s.cache.load(s.key(org))
	if err == nil && e.fresh(s.now(), expiryMargin) {
		return e, nil
	}
	if err != nil && !errors.Is(err, errNoEntry) {
		return nil, err
	}
	var next *entry
	if e != nil && e.RefreshToken != "" {
		if next, err = s.refresh(ctx, e); err != nil {
			fmt.Fprintf(s.log, "kubectl org: could not renew the sign-in (%v); signing in again\n", err)
		}
	}
	if next == nil && e != nil && e.Switched {
		home, err := s.credential(ctx, e.SwitchedFrom)
		if err != nil {
			return nil, err
		}
		if next, err = s.exchange(ctx, home, org); err != nil {
			return nil, err
		}
	}
	if next == nil {
		if next, err = s.signIn(ctx, org); err != nil {
			return nil, err
		}
	}
	if err := s.cache.save(next); err != nil {
		return nil, fmt.Errorf("saving the tokens in %s: %w", s.cache.dir, err)
	}
	return next, nil
}

func (s *signer) ctx(ctx context.Context) context.Context { return gooidc.ClientContext(ctx, s.http) }

func (s *signer) discover(ctx context.Context) (*gooidc.Provider, error) {
	if s.provider == nil {
		p, err := gooidc.NewProvider(s.ctx(ctx), s.opts.issuer)
		if err != nil {
			return nil, fmt.Errorf("reading the issuer's discovery document: %w", err)
		}
		s.provider = p
	}
	return s.provider, nil
}

func (s *signer) oauth2(p *gooidc.Provider, redirect string) *oauth2.Config {
	ep := p.Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInParams // a Public client: client_id in the form, no secret
	return &oauth2.Config{ClientID: s.opts.clientID, Endpoint: ep, RedirectURL: redirect,
		Scopes: []string{gooidc.ScopeOpenID, "profile", "email", gooidc.ScopeOfflineAccess}}
}

// verify checks an ID token's signature, issuer, audience, expiry and (when
// given) nonce, and that it is for org.
func (s *signer) verify(ctx context.Context, raw, nonce, org string) (*gooidc.IDToken, error) {
	p, err := s.discover(ctx)
	if err != nil {
		return nil, err
	}
	tok, err := p.Verifier(&gooidc.Config{ClientID: s.opts.clientID, Now: s.now}).Verify(s.ctx(ctx), raw)
	if err != nil {
		return nil, fmt.Errorf("the issuer's ID token does not verify: %w", err)
	}
	if nonce != "" && subtle.ConstantTimeCompare([]byte(tok.Nonce), []byte(nonce)) != 1 {
		return nil, errors.New("the ID token answers another sign-in (nonce mismatch)")
	}
	var claims struct {
		Org string `json:"org_handle"`
	}
	if err := tok.Claims(&claims); err != nil {
		return nil, err
	}
	if org != "" && claims.Org != org {
		return nil, fmt.Errorf("the issuer signed you in to organization %q, not %q", claims.Org, org)
	}
	return tok, nil
}

func (s *signer) entryFor(org string, idt *gooidc.IDToken, raw string, t *oauth2.Token) *entry {
	e := &entry{Issuer: s.opts.issuer, ClientID: s.opts.clientID, Organization: org, IDToken: raw, Expiry: idt.Expiry}
	if t != nil {
		e.AccessToken, e.RefreshToken = t.AccessToken, t.RefreshToken
	}
	return e
}

func (s *signer) refresh(ctx context.Context, e *entry) (*entry, error) {
	p, err := s.discover(ctx)
	if err != nil {
		return nil, err
	}
	t, err := s.oauth2(p, "").TokenSource(s.ctx(ctx), &oauth2.Token{RefreshToken: e.RefreshToken}).Token()
	if err != nil {
		return nil, err
	}
	raw, _ := t.Extra("id_token").(string)
	if raw == "" {
		return nil, errors.New("the refresh gave no ID token")
	}
	idt, err := s.verify(ctx, raw, "", e.Organization)
	if err != nil {
		return nil, err
	}
	next := s.entryFor(e.Organization, idt, raw, t)
	next.Switched, next.SwitchedFrom = e.Switched, e.SwitchedFrom
	if next.RefreshToken == "" {
		next.RefreshToken = e.RefreshToken
	}
	return next, nil
}

// signIn runs the authorization code flow with PKCE and a loopback redirect
// (RFC 8252): the browser comes back to a one-shot server on 127.0.0.1.
func (s *signer) signIn(ctx context.Context, org string) (*entry, error) {
	p, err := s.discover(ctx)
	if err != nil {
		return nil, err
	}
	if err := loopbackOnly(s.opts.listen); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", s.opts.listen)
	if err != nil {
		return nil, fmt.Errorf("listening for the browser's return on %s: %w", s.opts.listen, err)
	}
	defer l.Close()
	conf := s.oauth2(p, "http://"+l.Addr().String()+"/callback")
	state, verifier, nonce := oauth2.GenerateVerifier(), oauth2.GenerateVerifier(), oauth2.GenerateVerifier()
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier), gooidc.Nonce(nonce)}
	if org != "" {
		opts = append(opts, oauth2.SetAuthURLParam("organization", org))
	}
	authURL := conf.AuthCodeURL(state, opts...)

	done := make(chan callbackResult, 1)
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: callbackHandler(s.opts.issuer, state, done)}
	go func() { _ = srv.Serve(l) }()
	defer func() {
		c, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(c)
	}()

	fmt.Fprintf(s.log, "Sign in to Orgkeeper in your browser at:\n\n    %s\n\n", authURL)
	if !s.opts.noBrowser {
		if err := s.open(authURL); err != nil {
			fmt.Fprintf(s.log, "(could not open a browser: %v; open the address above yourself)\n", err)
		}
	}
	wait, cancel := context.WithTimeout(ctx, s.opts.timeout)
	defer cancel()
	var res callbackResult
	select {
	case res = <-done:
	case <-wait.Done():
		return nil, fmt.Errorf("no sign-in within %s", s.opts.timeout)
	}
	if res.err != nil {
		return nil, res.err
	}
	t, err := conf.Exchange(s.ctx(ctx), res.code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, fmt.Errorf("redeeming the authorization code: %w", err)
	}
	raw, _ := t.Extra("id_token").(string)
	if raw == "" {
		return nil, errors.New("the issuer returned no ID token")
	}
	idt, err := s.verify(ctx, raw, nonce, org)
	if err != nil {
		return nil, err
	}
	fmt.Fprintln(s.log, "Signed in.")
	return s.entryFor(org, idt, raw, t), nil
}

// exchange trades the home organization's tokens for tokens of org (RFC
// 8693 token exchange with organization=org): the issuer grants it to an
// admin of an ancestor of org.
func (s *signer) exchange(ctx context.Context, home *entry, org string) (*entry, error) {
	p, err := s.discover(ctx)
	if err != nil {
		return nil, err
	}
	form := exchangeForm(s.opts.clientID, home, org)
	var resp struct {
		AccessToken     string `json:"access_token"`
		IssuedTokenType string `json:"issued_token_type"`
		IDToken         string `json:"id_token"`
		RefreshToken    string `json:"refresh_token"`
		Error           string `json:"error"`
		Description     string `json:"error_description"`
	}
	if err := postForm(s.ctx(ctx), s.http, p.Endpoint().TokenURL, form, &resp); err != nil {
		return nil, err
	}
	if resp.Error != "" {
		return nil, fmt.Errorf("the issuer refused the switch to %q: %s %s", org, resp.Error, resp.Description)
	}
	raw := resp.IDToken
	if raw == "" && (resp.IssuedTokenType == tokenTypeID || resp.IssuedTokenType == tokenTypeJWT) {
		raw = resp.AccessToken
	}
	if raw == "" {
		return nil, errors.New("the token exchange returned no ID token")
	}
	idt, err := s.verify(ctx, raw, "", org)
	if err != nil {
		return nil, err
	}
	e := s.entryFor(org, idt, raw, nil)
	if resp.IssuedTokenType == tokenTypeAccess {
		e.AccessToken = resp.AccessToken
	}
	e.RefreshToken = resp.RefreshToken
	e.Switched, e.SwitchedFrom = true, home.Organization
	return e, nil
}

// exchangeForm is the token exchange request for org with the home
// organization's tokens as the subject: the access token when there is one,
// else the ID token. It asks for an ID token, which kube-apiserver reads.
func exchangeForm(clientID string, home *entry, org string) url.Values {
	subject, subjectType := home.AccessToken, tokenTypeAccess
	if subject == "" {
		subject, subjectType = home.IDToken, tokenTypeID
	}
	return url.Values{
		"grant_type":           {grantTokenExchange},
		"client_id":            {clientID},
		"subject_token":        {subject},
		"subject_token_type":   {subjectType},
		"requested_token_type": {tokenTypeID},
		"scope":                {"openid profile email"},
		"organization":         {org},
	}
}

func callbackPage(w http.ResponseWriter, status int, title, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!doctype html><title>%s</title><h1>%s</h1><p>%s</p>", html.EscapeString(title), html.EscapeString(title), html.EscapeString(msg))
}

// openBrowser opens u with the platform's opener.
func openBrowser(u string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", u)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", u)
	default:
		cmd = exec.Command("xdg-open", u)
	}
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() { _ = cmd.Wait() }()
	return nil
}

// callbackResult is what the browser brought back: a code or a refusal.
type callbackResult struct {
	code string
	err  error
}

// callbackHandler serves the loopback redirect URI of one sign-in. Only an
// answer carrying this sign-in's state counts, and only the first: done has
// room for one result.
func callbackHandler(issuer, state string, done chan<- callbackResult) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" {
			http.NotFound(w, r)
			return
		}
		q := r.URL.Query()
		// The state binds the answer to this sign-in: another page cannot
		// post a code of its own to our port.
		if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(state)) != 1 {
			http.Error(w, "This sign-in answer does not belong to the running kubectl org login.", http.StatusBadRequest)
			return
		}
		// RFC 9207: Orgkeeper names itself in every authorization
		// response; an answer without it, or naming another issuer, is
		// not from the issuer we sent the browser to.
		if iss := q.Get("iss"); iss != issuer {
			callbackPage(w, http.StatusBadRequest, "Sign-in failed", "The answer came from another issuer.")
			select {
			case done <- callbackResult{err: fmt.Errorf("the authorization response names issuer %q, not %q", iss, issuer)}:
			default:
			}
			return
		}
		if e := q.Get("error"); e != "" {
			msg := e
			if d := q.Get("error_description"); d != "" {
				msg += ": " + d
			}
			callbackPage(w, http.StatusForbidden, "Sign-in failed", msg)
			select {
			case done <- callbackResult{err: fmt.Errorf("the issuer refused the sign-in: %s", msg)}:
			default:
			}
			return
		}
		callbackPage(w, http.StatusOK, "Signed in", "You can close this tab and return to the terminal.")
		select {
		case done <- callbackResult{code: q.Get("code")}:
		default:
		}
	})
}

// loopbackOnly refuses a --listen-address that is not a loopback IP: the
// one-shot callback server must not be reachable from the network (RFC 8252
// section 7.3), even though state and PKCE protect the code it receives.
func loopbackOnly(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--listen-address %q: want a loopback host:port such as 127.0.0.1:0: %w", addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("--listen-address %q: the browser's return must stay on this machine; use a loopback IP such as 127.0.0.1:0 or [::1]:0", addr)
	}
	return nil
}
