package connector

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/orgkeeper/orgkeeper/internal/snapshot"
	"github.com/orgkeeper/orgkeeper/internal/validation"
)

// Config is what every connector shares: how it talks to providers.
type Config struct {
	// HTTPClient is copied for calls to providers (its Transport is used);
	// its Timeout and redirect policy are replaced. Nil means a clone of
	// http.DefaultTransport.
	HTTPClient *http.Client
	// Timeout bounds each call to a provider (discovery, JWKS, token,
	// userinfo), body included. Default 10s.
	Timeout time.Duration
	// MaxResponseBytes bounds each answer of a provider. Default 1 MiB.
	MaxResponseBytes int64
	// Rand is the source of state, nonce and PKCE verifier. Default
	// crypto/rand.
	Rand io.Reader
	// Now is the clock for token expiry and key refresh. Default time.Now.
	Now func() time.Time
	// ClockSkew is tolerated on exp, nbf and iat. Default 1 minute.
	ClockSkew time.Duration
	// KeyRefreshInterval is the least time between two fetches of one
	// provider's JWKS, and between two discovery attempts after a failure.
	// Default 30s.
	KeyRefreshInterval time.Duration
	// KeyMaxAge is how long fetched keys are used before they are fetched
	// again. Default 1h.
	KeyMaxAge time.Duration
	// AllowLoopbackHTTP accepts plain http issuers and endpoints on
	// 127.0.0.1, ::1 and localhost, for orgkeeper dev and tests. Off in
	// production: every provider must use https. It also lets the
	// connector connect to loopback addresses.
	AllowLoopbackHTTP bool
	// AllowedNetworks are networks that are not public (private,
	// link-local, shared or other special-purpose ranges) where providers
	// may nevertheless be reached, such as a corporate identity provider
	// on 10.20.0.0/16. Every other connection goes to public addresses
	// only; see network.go.
	AllowedNetworks []netip.Prefix
}

func (c Config) withDefaults() Config {
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.MaxResponseBytes <= 0 {
		c.MaxResponseBytes = 1 << 20
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.ClockSkew <= 0 {
		c.ClockSkew = time.Minute
	}
	if c.KeyRefreshInterval <= 0 {
		c.KeyRefreshInterval = 30 * time.Second
	}
	if c.KeyMaxAge <= 0 {
		c.KeyMaxAge = time.Hour
	}
	return c
}

// IdPKey identifies one IdentityProvider object: its namespace (the owning
// organization), name and UID (which tells a re-created object from the
// one it replaced).
type IdPKey struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	UID       string `json:"uid"`
}

// String returns namespace/name.
func (k IdPKey) String() string { return k.Namespace + "/" + k.Name }

// BeginRequest is what the login step asks Begin for.
type BeginRequest struct {
	// RedirectURI is Orgkeeper's callback URL registered at the provider,
	// absolute and exact.
	RedirectURI string
	// LoginHint, when not empty, is passed as login_hint (the email the
	// user typed on the identifier page). A hint longer than 256 bytes is
	// dropped.
	LoginHint string
}

// PendingState is what the login step keeps in the auth request between
// Begin and Finish, and hands back to Finish unchanged. Everything in it is
// a string, so that any session store can serialize it (JSON). It is a
// secret: store it server-side only, never in a cookie or a page.
//
// The login step guarantees that a PendingState is used once: it deletes
// (or marks used) the pending state before calling Finish, so that a
// replayed callback finds no PendingState, or another one, and Finish
// refuses it with ErrStateMismatch.
type PendingState struct {
	// State is sent as the state parameter and must come back unchanged.
	State string `json:"state"`
	// Nonce is sent as nonce and must be the ID token's nonce claim.
	Nonce string `json:"nonce"`
	// CodeVerifier is the PKCE verifier (empty when PKCE is off).
	CodeVerifier string `json:"codeVerifier,omitempty"`
	// RedirectURI is the one sent, which the token request repeats.
	RedirectURI string `json:"redirectURI"`
	// IdP and Issuer say which provider the state is for.
	IdP    IdPKey `json:"idp"`
	Issuer string `json:"issuer"`
}

// Identity is who the provider says signed in, read through the
// IdentityProvider's claim mappings.
type Identity struct {
	// Subject is the mapped subject claim: the stable upstream account ID
	// stored in status.federatedIdentities.
	Subject string
	// Email and EmailVerified as the provider asserts them. Link by email
	// only when EmailVerified is true and the domain is a verified domain
	// of the organization.
	Email         string
	EmailVerified bool
	// Profile claims; empty when the provider did not send them.
	Name              string
	GivenName         string
	FamilyName        string
	PreferredUsername string
	// Groups are the upstream groups as sent (bounded), unfiltered: the
	// caller applies the rule for which group names a user may carry.
	Groups []string
	// Issuer is the provider's issuer (the ID token's iss).
	Issuer string
	// IdPKey is the IdentityProvider that authenticated the user.
	IdPKey IdPKey
}

// Bounds on what the connector accepts and sends.
const (
	maxLoginHint    = 256
	maxStateParam   = 512
	maxCodeParam    = 4096
	maxIssParam     = 2048
	maxErrorParam   = 256
	maxDescParam    = 2048
	maxSubjectLen   = 255
	maxEmailLen     = 320
	maxNameLen      = 256
	maxGroups       = 256
	maxGroupNameLen = 256
	randomBytes     = 32
)

// OIDC is a connector to one version of one upstream OpenID Connect
// provider. It is safe for concurrent use; build it once per provider
// version (Registry does) so that discovery and keys are fetched once.
type OIDC struct {
	cfg    *Config
	key    IdPKey
	issuer string
	client upstreamClient

	clientID     string
	clientSecret string
	scopes       []string
	pkce         bool
	mappings     claimMappings

	// known is status.discovery when the reconciler recorded it: used as is,
	// without a fetch. Otherwise the metadata is discovered on first use.
	known *metadata

	mu       sync.Mutex
	meta     *metadata
	metaAt   time.Time // when meta was discovered; refetched after KeyMaxAge
	keys     *keySet
	metaErr  error
	metaTry  time.Time
	fetching chan struct{}
}

// New builds the connector of idp. It does not call the provider: discovery
// (when status.discovery is empty) and keys are fetched on first use.
func New(idp *snapshot.IdentityProvider, cfg Config) (*OIDC, error) {
	if idp == nil {
		return nil, newError(ReasonMisconfigured, nil, "no identity provider")
	}
	c := cfg.withDefaults()
	key := IdPKey{Namespace: idp.Namespace, Name: idp.Name, UID: string(idp.UID)}
	if err := validation.IssuerURL(idp.Issuer, c.AllowLoopbackHTTP); err != nil {
		return nil, newError(ReasonMisconfigured, nil, "%s: spec.oidc.issuer: %v", key, err)
	}
	if idp.ClientID == "" {
		return nil, newError(ReasonMisconfigured, nil, "%s: spec.oidc.clientID is empty", key)
	}
	o := &OIDC{
		cfg:          &c,
		key:          key,
		issuer:       idp.Issuer,
		client:       upstreamClient{http: newHTTPClient(&c), cfg: &c, provider: key.String()},
		clientID:     idp.ClientID,
		clientSecret: idp.ClientSecret,
		scopes:       append([]string(nil), idp.Scopes...),
		// Without a secret, PKCE is all that protects the code.
		pkce:     idp.PKCE || idp.ClientSecret == "",
		mappings: mappingsOf(idp),
	}
	if len(o.scopes) == 0 {
		o.scopes = []string{"openid"}
	}
	// A complete status.discovery is used as is; an incomplete one (an
	// older reconciler, a partial write) is ignored and discovery runs here.
	if d := idp.Discovery; d.AuthorizationEndpoint != "" && d.TokenEndpoint != "" && d.JWKSURI != "" {
		o.known = &metadata{
			Issuer:                idp.Issuer,
			AuthorizationEndpoint: d.AuthorizationEndpoint,
			TokenEndpoint:         d.TokenEndpoint,
			JWKSURI:               d.JWKSURI,
			UserinfoEndpoint:      d.UserinfoEndpoint,
			IssParameter:          d.AuthorizationResponseIssParameterSupported,
		}
		if err := o.known.check(c.AllowLoopbackHTTP); err != nil {
			return nil, newError(ReasonMisconfigured, nil, "%s: status.discovery: %v", key, err)
		}
	}
	return o, nil
}

// Key is the IdentityProvider this connector is for.
func (o *OIDC) Key() IdPKey { return o.key }

// Issuer is the provider's issuer.
func (o *OIDC) Issuer() string { return o.issuer }

// metadata returns the provider's endpoints: status.discovery, or the
// discovered document (fetched on first use and again after KeyMaxAge;
// after a failure, again no sooner than KeyRefreshInterval later, so that a
// down provider is not hammered by every login).
func (o *OIDC) metadata(ctx context.Context) (*metadata, *keySet, error) {
	for {
		o.mu.Lock()
		now := o.cfg.Now()
		if o.meta != nil && (o.known != nil || now.Sub(o.metaAt) <= o.cfg.KeyMaxAge ||
			o.fetching != nil || now.Sub(o.metaTry) < o.cfg.KeyRefreshInterval) {
			// Fresh, recorded by the reconciler, or being (or lately)
			// refreshed: serve what there is.
			m, k := o.meta, o.keys
			o.mu.Unlock()
			return m, k, nil
		}
		if o.known != nil {
			o.meta, o.keys = o.known, newKeySet(&o.client, o.known.JWKSURI)
			o.mu.Unlock()
			continue
		}
		if o.meta == nil && o.metaErr != nil && now.Sub(o.metaTry) < o.cfg.KeyRefreshInterval {
			err := o.metaErr
			o.mu.Unlock()
			return nil, nil, err
		}
		if ch := o.fetching; ch != nil {
			o.mu.Unlock()
			select {
			case <-ch:
				o.mu.Lock()
				err := o.metaErr
				o.mu.Unlock()
				if err != nil {
					return nil, nil, err
				}
				continue
			case <-ctx.Done():
				return nil, nil, newError(ReasonUnavailable, ctx.Err(), "waiting for the discovery of %s", o.key)
			}
		}
		ch := make(chan struct{})
		o.fetching, o.metaTry = ch, now
		o.mu.Unlock()

		m, err := o.client.discover(context.WithoutCancel(ctx), o.issuer)
		if err == nil {
			if cerr := m.check(o.cfg.AllowLoopbackHTTP); cerr != nil {
				m, err = nil, newError(ReasonMisconfigured, nil, "discovery of %s: %v", o.key, cerr)
			}
		}
		o.mu.Lock()
		o.metaErr = err
		stale := o.meta
		switch {
		case err == nil && stale != nil && stale.JWKSURI == m.JWKSURI:
			o.meta, o.metaAt = m, now // same keys: keep the cached ones
		case err == nil:
			o.meta, o.metaAt, o.keys = m, now, newKeySet(&o.client, m.JWKSURI)
		}
		o.fetching = nil
		close(ch)
		o.mu.Unlock()
		if err != nil && stale == nil {
			return nil, nil, err
		}
		// A failed refresh keeps serving the document fetched before: the
		// provider's endpoints rarely move, and its outage shows at the
		// endpoints themselves.
	}
}

// Begin starts a sign-in at the provider: it returns the URL to send the
// browser to and the PendingState to keep in the auth request. State,
// nonce and PKCE verifier are fresh random values from Config.Rand.
func (o *OIDC) Begin(ctx context.Context, req BeginRequest) (string, PendingState, error) {
	if err := checkEndpoint(req.RedirectURI, true); err != nil {
		return "", PendingState{}, newError(ReasonMisconfigured, nil, "%s: redirect URI: %v", o.key, err)
	}
	if len(req.LoginHint) > maxLoginHint {
		req.LoginHint = ""
	}
	m, _, err := o.metadata(ctx)
	if err != nil {
		return "", PendingState{}, err
	}
	p := PendingState{RedirectURI: req.RedirectURI, IdP: o.key, Issuer: o.issuer}
	if p.State, err = o.random(); err != nil {
		return "", PendingState{}, err
	}
	if p.Nonce, err = o.random(); err != nil {
		return "", PendingState{}, err
	}
	if o.pkce {
		if p.CodeVerifier, err = o.random(); err != nil {
			return "", PendingState{}, err
		}
	}
	u, err := url.Parse(m.AuthorizationEndpoint)
	if err != nil {
		return "", PendingState{}, newError(ReasonMisconfigured, nil, "%s: authorization endpoint is not a URL", o.key)
	}
	// Keep a query the endpoint has (some providers put a policy there).
	q := u.Query()
	q.Set("response_type", "code")
	q.Set("client_id", o.clientID)
	q.Set("redirect_uri", req.RedirectURI)
	q.Set("scope", strings.Join(o.scopes, " "))
	q.Set("state", p.State)
	q.Set("nonce", p.Nonce)
	if o.pkce {
		sum := sha256.Sum256([]byte(p.CodeVerifier))
		q.Set("code_challenge", base64.RawURLEncoding.EncodeToString(sum[:]))
		q.Set("code_challenge_method", "S256")
	}
	if req.LoginHint != "" {
		q.Set("login_hint", req.LoginHint)
	}
	u.RawQuery = q.Encode()
	return u.String(), p, nil
}

func (o *OIDC) random() (string, error) {
	b := make([]byte, randomBytes)
	if _, err := io.ReadFull(o.cfg.Rand, b); err != nil {
		return "", newError(ReasonUnavailable, err, "reading random bytes")
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Finish completes the sign-in at the provider's callback r (its query),
// with the PendingState Begin returned for this browser's auth request:
// it checks the response, redeems the code, verifies the ID token and
// returns the identity. Every failure is an *Error; nothing in r can make
// it panic.
func (o *OIDC) Finish(ctx context.Context, pending PendingState, r *http.Request) (Identity, error) {
	if r == nil || r.URL == nil {
		return Identity{}, newError(ReasonInvalidCallback, nil, "no callback request")
	}
	if pending.State == "" || pending.Nonce == "" {
		return Identity{}, newError(ReasonStateMismatch, nil, "no sign-in with %s is pending", o.key)
	}
	if pending.IdP != o.key || pending.Issuer != o.issuer {
		return Identity{}, newError(ReasonWrongProvider, nil, "the pending sign-in is for %s (%s), not %s", pending.IdP, printable(pending.Issuer, 256), o.key)
	}
	if len(r.URL.RawQuery) > maxCodeParam+maxStateParam+maxIssParam+maxErrorParam+maxDescParam+256 {
		return Identity{}, newError(ReasonInvalidCallback, nil, "the callback's query is %d bytes long", len(r.URL.RawQuery))
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return Identity{}, newError(ReasonInvalidCallback, nil, "the callback's query does not parse")
	}
	// The state first: an answer that does not belong to this browser's
	// sign-in is refused before anything in it is believed, errors too.
	state := single(q, "state")
	if len(state) > maxStateParam || subtle.ConstantTimeCompare([]byte(state), []byte(pending.State)) != 1 {
		return Identity{}, newError(ReasonStateMismatch, nil, "the callback's state is not the pending one")
	}
	m, keys, err := o.metadata(ctx)
	if err != nil {
		return Identity{}, err
	}
	// RFC 9207: iss names who sent the response. Checked whenever present
	// and required when the provider promises it.
	if iss, ok := q["iss"]; ok {
		if len(iss) != 1 || iss[0] != o.issuer {
			return Identity{}, newError(ReasonMixUp, nil, "the response's iss is %q, not %q", printable(strings.Join(iss, ","), 256), o.issuer)
		}
	} else if m.IssParameter {
		return Identity{}, newError(ReasonMixUp, nil, "the response has no iss although %s promises it", o.key)
	}
	if code := single(q, "error"); code != "" {
		e := newError(ReasonUpstreamError, nil, "%s answered the authorization request with an error", o.key)
		e.Upstream = upstreamError(code, single(q, "error_description"))
		return Identity{}, e
	}
	code := single(q, "code")
	if code == "" || len(code) > maxCodeParam {
		return Identity{}, newError(ReasonInvalidCallback, nil, "the callback has no usable code (%d bytes)", len(code))
	}
	tok, err := o.exchange(ctx, m, pending, code)
	if err != nil {
		return Identity{}, err
	}
	claims, err := o.verifyIDToken(ctx, keys, tok.IDToken, pending.Nonce)
	if err != nil {
		return Identity{}, err
	}
	if o.mappings.missingFrom(claims) && m.UserinfoEndpoint != "" && tok.AccessToken != "" {
		info, err := o.userinfo(ctx, m.UserinfoEndpoint, tok.AccessToken)
		if err != nil {
			return Identity{}, err
		}
		if sub, _ := info["sub"].(string); sub != claims.subject() {
			return Identity{}, newError(ReasonUserinfoMismatch, nil, "the userinfo response is about another subject than the ID token")
		}
		for k, v := range info {
			if _, ok := claims[k]; !ok {
				claims[k] = v
			}
		}
	}
	id, err := o.mappings.identity(claims)
	if err != nil {
		return Identity{}, err
	}
	id.Issuer, id.IdPKey = o.issuer, o.key
	return id, nil
}

// single returns the parameter's value if it appears once, "" otherwise
// (a repeated parameter is ambiguous; RFC 6749 section 3.1 forbids it).
func single(q url.Values, name string) string {
	if v := q[name]; len(v) == 1 {
		return v[0]
	}
	return ""
}

func (o *OIDC) String() string { return fmt.Sprintf("OIDC connector %s (%s)", o.key, o.issuer) }
