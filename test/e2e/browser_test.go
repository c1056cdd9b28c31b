package e2e

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/net/html"
	"golang.org/x/oauth2"
)

// browser is a minimal browser: cookies, no JavaScript, and it never follows
// a redirect by itself, so that each hop can be inspected.
type browser struct{ c *http.Client }

func newBrowser() *browser {
	jar, err := cookiejar.New(nil)
	Expect(err).NotTo(HaveOccurred())
	return &browser{c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// page is one response as the browser saw it.
type page struct {
	URL      *url.URL
	Status   int
	Location *url.URL // resolved; nil unless a redirect
	Body     string
}

func (b *browser) do(req *http.Request) page {
	GinkgoHelper()
	resp, err := b.c.Do(req)
	Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	Expect(err).NotTo(HaveOccurred())
	p := page{URL: req.URL, Status: resp.StatusCode, Body: string(body)}
	if loc := resp.Header.Get("Location"); loc != "" && resp.StatusCode >= 300 && resp.StatusCode < 400 {
		l, err := req.URL.Parse(loc)
		Expect(err).NotTo(HaveOccurred())
		p.Location = l
	}
	return p
}

func (b *browser) get(u string) page {
	GinkgoHelper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	Expect(err).NotTo(HaveOccurred())
	return b.do(req)
}

func (b *browser) post(u string, form url.Values) page {
	GinkgoHelper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// follow follows redirects that stay on the issuer; it stops at a page or
// at a redirect that leaves the issuer (the authorization response).
func (b *browser) follow(p page) page {
	GinkgoHelper()
	iss, _ := url.Parse(issuer)
	for i := 0; p.Location != nil && p.Location.Host == iss.Host; i++ {
		Expect(i).To(BeNumerically("<", 10), "redirect loop at %s", p.URL)
		p = b.get(p.Location.String())
	}
	return p
}

// form is an HTML form: where it posts and its fields' values.
type form struct {
	Action *url.URL
	Fields url.Values
	Inputs []string // input names, in order, hidden ones included
}

// findForm returns the page's first form with method post.
func findForm(p page) (form, bool) {
	doc, err := html.Parse(strings.NewReader(p.Body))
	if err != nil {
		return form{}, false
	}
	var found *html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if found != nil {
			return
		}
		if n.Type == html.ElementNode && n.Data == "form" && strings.EqualFold(attr(n, "method"), "post") {
			found = n
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if found == nil {
		return form{}, false
	}
	action, err := p.URL.Parse(attr(found, "action"))
	if err != nil {
		return form{}, false
	}
	f := form{Action: action, Fields: url.Values{}}
	var inputs func(*html.Node)
	inputs = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "input" && attr(n, "name") != "" {
			f.Fields.Set(attr(n, "name"), attr(n, "value"))
			f.Inputs = append(f.Inputs, attr(n, "name"))
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			inputs(c)
		}
	}
	inputs(found)
	return f, true
}

// continueLink is the error page's way back to the client (a.button).
func continueLink(p page) *url.URL {
	doc, err := html.Parse(strings.NewReader(p.Body))
	if err != nil {
		return nil
	}
	var link *url.URL
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "a" && strings.Contains(attr(n, "class"), "button") {
			link, _ = p.URL.Parse(attr(n, "href"))
		}
		for c := n.FirstChild; c != nil && link == nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return link
}

func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

// flow is what happened in one sign-in attempt.
type flow struct {
	// Steps are the paths of the forms the user filled in, in order.
	Steps []string
	// Last is the last response: the redirect to the client, or a page
	// (an error page, or a form that cannot be completed).
	Last page
	// Response is the authorization response (the redirect to the
	// client's redirect_uri), or nil.
	Response *url.URL
}

// signIn opens authURL in a fresh browser and signs in as a user with the
// password, filling whichever forms the issuer shows.
func signIn(authURL, email, pass string) flow {
	GinkgoHelper()
	return newBrowser().signIn(authURL, email, pass)
}

func (b *browser) signIn(authURL, email, pass string) flow {
	GinkgoHelper()
	var f flow
	p := b.follow(b.get(authURL))
	for range 4 {
		if p.Location != nil {
			f.Last, f.Response = p, p.Location
			return f
		}
		fm, ok := findForm(p)
		if !ok || p.Status != http.StatusOK {
			break
		}
		Expect(fm.Fields).To(HaveKey("csrf_token"), "the form at %s has no CSRF token", fm.Action)
		if _, isPassword := fm.Fields["password"]; isPassword {
			if fm.Fields.Get("username") == "" {
				fm.Fields.Set("username", email)
			}
			fm.Fields.Set("password", pass)
		} else {
			fm.Fields.Set("username", email)
		}
		f.Steps = append(f.Steps, fm.Action.Path)
		p = b.follow(b.post(fm.Action.String(), fm.Fields))
	}
	f.Last = p
	return f
}

// authorization is one authorization request of the relying party.
type authorization struct {
	State    string
	Verifier string
	URL      string
}

// authorize builds an authorization request of conf with PKCE S256.
func authorize(conf oauth2.Config, opts ...oauth2.AuthCodeOption) authorization {
	a := authorization{State: oauth2.GenerateVerifier(), Verifier: oauth2.GenerateVerifier()}
	a.URL = conf.AuthCodeURL(a.State, append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(a.Verifier)}, opts...)...)
	return a
}

// codeFrom checks an authorization response (state, RFC 9207 iss, to the
// redirect URI) and returns its code.
func codeFrom(f flow, a authorization, redirectURI string) string {
	GinkgoHelper()
	Expect(f.Response).NotTo(BeNil(), "no authorization response; last page %d at %s:\n%s", f.Last.Status, f.Last.URL, f.Last.Body)
	q := f.Response.Query()
	Expect(q.Get("error")).To(BeEmpty(), "error response: %s", f.Response)
	resp := *f.Response
	resp.RawQuery = ""
	Expect(resp.String()).To(Equal(redirectURI))
	Expect(q.Get("state")).To(Equal(a.State))
	Expect(q.Get("iss")).To(Equal(issuer), "RFC 9207 iss parameter")
	Expect(q.Get("code")).NotTo(BeEmpty())
	return q.Get("code")
}

// signedIn is a completed code flow at portal.
type signedIn struct {
	Token   *oauth2.Token
	IDToken *gooidc.IDToken
	Claims  map[string]any
	RawID   string
}

// loginPortal signs a user in to portal and redeems the code.
func loginPortal(email string, opts ...oauth2.AuthCodeOption) signedIn {
	GinkgoHelper()
	a := authorize(portal, opts...)
	code := codeFrom(signIn(a.URL, email, password), a, portalRedirect())
	tok, err := portal.Exchange(ctx, code, oauth2.VerifierOption(a.Verifier))
	Expect(err).NotTo(HaveOccurred())
	return verified(tok)
}

func verified(tok *oauth2.Token) signedIn {
	GinkgoHelper()
	raw, ok := tok.Extra("id_token").(string)
	Expect(ok).To(BeTrue(), "no id_token in the token response")
	idt, err := portalVerifier.Verify(ctx, raw)
	Expect(err).NotTo(HaveOccurred())
	s := signedIn{Token: tok, IDToken: idt, RawID: raw}
	Expect(idt.Claims(&s.Claims)).To(Succeed())
	return s
}

// oauthError returns the OAuth error code of a failed token request.
func oauthError(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	return ""
}

// refresh uses a refresh token once at portal.
func refresh(rt string) (*oauth2.Token, error) {
	return portal.TokenSource(ctx, &oauth2.Token{RefreshToken: rt}).Token()
}

// jwtHeader decodes a JWS's protected header.
func jwtHeader(raw string) map[string]any {
	GinkgoHelper()
	parts := strings.Split(raw, ".")
	Expect(parts).To(HaveLen(3))
	b, err := base64.RawURLEncoding.DecodeString(parts[0])
	Expect(err).NotTo(HaveOccurred())
	var h map[string]any
	Expect(json.Unmarshal(b, &h)).To(Succeed())
	return h
}

// jwtClaims decodes a JWT's claims without verifying (the signature of
// access tokens is checked separately where it matters).
func jwtClaims(raw string) map[string]any {
	GinkgoHelper()
	parts := strings.Split(raw, ".")
	Expect(parts).To(HaveLen(3), "not a JWT: %q", raw)
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	Expect(err).NotTo(HaveOccurred())
	var c map[string]any
	Expect(json.Unmarshal(b, &c)).To(Succeed())
	return c
}
