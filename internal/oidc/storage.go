package oidc

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/orgkeeper/orgkeeper/internal/audit"
	"github.com/orgkeeper/orgkeeper/internal/session"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
	"github.com/orgkeeper/orgkeeper/internal/telemetry"
)

var (
	_ op.Storage                        = (*Storage)(nil)
	_ op.ClientCredentialsStorage       = (*Storage)(nil)
	_ op.CanSetUserinfoFromRequest      = (*Storage)(nil)
	_ op.CanGetPrivateClaimsFromRequest = (*Storage)(nil)
	_ op.CanTerminateSessionFromRequest = (*Storage)(nil)
)

// DefaultAuthRequestLifetime is how long a user has between /authorize and
// the callback.
const DefaultAuthRequestLifetime = 30 * time.Minute

// StorageConfig is what Storage serves from.
type StorageConfig struct {
	// Snapshots returns the current serving snapshot.
	Snapshots SnapshotGetter
	// Sessions keeps auth requests, codes, refresh tokens and login sessions.
	Sessions session.Store
	// Keys returns the current signing keys.
	Keys KeySetGetter
	// LoginURL is where /authorize sends the browser, given the auth
	// request's ID.
	LoginURL func(authRequestID string) string
	// DevMode relaxes the op package's redirect URI scheme checks for every
	// client; NewProvider sets it only for a plain-http loopback issuer.
	DevMode bool
	// DefaultLogoutRedirectURI is where end-session sends the browser
	// without a post_logout_redirect_uri.
	DefaultLogoutRedirectURI string
	// AuthRequestLifetime defaults to DefaultAuthRequestLifetime.
	AuthRequestLifetime time.Duration
	// Now defaults to time.Now.
	Now func() time.Time
	// Metrics counts tokens issued; nil counts nothing.
	Metrics *telemetry.Metrics
	// Audit receives machine tokens and reuse of codes and refresh tokens;
	// default audit.Discard.
	Audit audit.Sink
}

// Storage implements op.Storage over the snapshot, the session store and
// the key set. It holds no state of its own and is safe for concurrent use.
type Storage struct {
	cfg StorageConfig
}

// NewStorage returns a Storage. Snapshots, Sessions, Keys and LoginURL are
// required.
func NewStorage(cfg StorageConfig) (*Storage, error) {
	if cfg.Snapshots == nil || cfg.Sessions == nil || cfg.Keys == nil || cfg.LoginURL == nil {
		return nil, errors.New("oidc: Snapshots, Sessions, Keys and LoginURL are required")
	}
	if cfg.AuthRequestLifetime <= 0 {
		cfg.AuthRequestLifetime = DefaultAuthRequestLifetime
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Audit == nil {
		cfg.Audit = audit.Discard
	}
	return &Storage{cfg: cfg}, nil
}

func (s *Storage) snapshot() *snapshot.Snapshot { return s.cfg.Snapshots.Load() }

func (s *Storage) now() time.Time { return s.cfg.Now() }

func (s *Storage) newClient(c *snapshot.Client) *client {
	return newClient(c, s.cfg.LoginURL, s.cfg.DevMode)
}

// ---- auth requests and codes

// CreateAuthRequest stores the validated request with its expiry, and the
// organization parameter that the /authorize interceptor put into ctx.
//
// hintSubject is the subject of the id_token_hint as the op package's
// IDTokenHintVerifier verified it (signed by this issuer; possibly expired,
// which a hint may be), or "": the login pages reuse only that user's SSO
// session for the request.
func (s *Storage) CreateAuthRequest(ctx context.Context, req *oidc.AuthRequest, hintSubject string) (op.AuthRequest, error) {
	r := session.AuthRequest{
		ClientID:            req.ClientID,
		RedirectURI:         req.RedirectURI,
		ResponseType:        string(req.ResponseType),
		ResponseMode:        string(req.ResponseMode),
		Scopes:              req.Scopes,
		State:               req.State,
		Nonce:               req.Nonce,
		CodeChallenge:       req.CodeChallenge,
		CodeChallengeMethod: string(req.CodeChallengeMethod),
		Prompt:              req.Prompt,
		LoginHint:           req.LoginHint,
		HintSubject:         hintSubject,
		Organization:        organizationFrom(ctx),
		BrowserBinding:      browserBindingFrom(ctx),
		Slot:                slotFrom(ctx),
		ExpiresAt:           s.now().Add(s.cfg.AuthRequestLifetime),
	}
	if req.MaxAge != nil {
		d := time.Duration(*req.MaxAge) * time.Second
		r.MaxAge = &d
	}
	r.OrganizationRequested = r.Organization != ""
	if r.BrowserBinding == "" {
		// Only the /authorize interceptor creates auth requests.
		return nil, oidc.ErrServerError().WithDescription("the authorization request is not bound to a browser")
	}
	for _, t := range req.UILocales {
		r.UILocales = append(r.UILocales, t.String())
	}
	stored, err := s.cfg.Sessions.CreateAuthRequest(ctx, r)
	if err != nil {
		return nil, err
	}
	if c := createdAuthRequestFrom(ctx); c != nil {
		c.id = stored.ID
	}
	return &authRequest{r: stored}, nil
}

// AuthRequestByID returns the stored request (the callback after login).
func (s *Storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	r, err := s.cfg.Sessions.GetAuthRequest(ctx, id)
	if err != nil {
		return nil, oidc.ErrInvalidRequest().WithDescription("unknown or expired authorization request").WithParent(err)
	}
	return &authRequest{r: r}, nil
}

// AuthRequestByCode consumes the code: it succeeds once. A second
// presentation means the code leaked, so every refresh token issued from it
// (its family is the auth request's ID) is revoked, and the request fails.
// The user's grant is checked again, as login may be minutes ago.
func (s *Storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	c, err := s.cfg.Sessions.ConsumeCode(ctx, code)
	if errors.Is(err, session.ErrCodeReused) {
		s.reused(ctx, audit.EventCodeReuse, c.ClientID, "", "")
		if rerr := s.cfg.Sessions.RevokeRefreshTokenFamily(ctx, c.AuthRequestID); rerr != nil {
			return nil, fmt.Errorf("code reused; revoking its tokens: %w", rerr)
		}
		return nil, oidc.ErrInvalidGrant().WithDescription("the authorization code was already used")
	}
	if err != nil {
		return nil, err
	}
	r, err := s.cfg.Sessions.GetAuthRequest(ctx, c.AuthRequestID)
	if err != nil {
		return nil, err
	}
	if !r.Done || r.UserID == "" || r.ClientID != c.ClientID {
		return nil, oidc.ErrInvalidGrant()
	}
	if _, err := resolveSession(s.snapshot(), r.ClientID, r.UserID, r.OrgID, r.AuthTime, r.AMR, s.now()); err != nil {
		return nil, oidc.ErrInvalidGrant().WithDescription("%s", err.Error())
	}
	return &authRequest{r: r}, nil
}

// errCodeAlreadyIssued ends a replayed callback: the request's one code
// has left already.
var errCodeAlreadyIssued = errors.New("the authorization response for this request was already issued")

// SaveAuthCode stores the code issued at the callback, bound to the client.
// It is also the last moment before a code leaves: a user that may not use
// the client gets access_denied at the client instead of a code.
//
// The request is marked CodeIssued atomically first, so that of several
// callbacks (a replay, a race) exactly one gets a code; the others get
// invalid_request. A code whose save fails is lost with its request: the
// user starts again, which is safer than a second chance.
func (s *Storage) SaveAuthCode(ctx context.Context, id, code string) error {
	r, err := s.cfg.Sessions.UpdateAuthRequest(ctx, id, func(a *session.AuthRequest) error {
		if a.CodeIssued {
			return errCodeAlreadyIssued
		}
		if !a.Done {
			return oidc.ErrInteractionRequired().WithDescription("the user has not signed in")
		}
		a.CodeIssued = true
		return nil
	})
	if errors.Is(err, errCodeAlreadyIssued) {
		return oidc.ErrInvalidRequest().WithDescription("%s", err.Error())
	}
	if err != nil {
		return err
	}
	if !s.registeredRedirect(r.ClientID, r.RedirectURI) {
		// No redirect with this error: the URI is no longer trusted.
		return oidc.ErrInvalidRequestRedirectURI().WithDescription("the redirect_uri is no longer registered for this client; sign in again from the application")
	}
	if _, err := resolveSession(s.snapshot(), r.ClientID, r.UserID, r.OrgID, r.AuthTime, r.AMR, s.now()); err != nil {
		return oidc.ErrAccessDenied().WithDescription("%s", err.Error())
	}
	return s.cfg.Sessions.SaveCode(ctx, code, session.AuthCode{AuthRequestID: id, ClientID: r.ClientID})
}

// DeleteAuthRequest is called once tokens were issued for the request: the
// sign-in is finished, so the slot it took of its address's allowance of
// pending sign-ins goes back (once, however often this is called, and to
// the address that started it, whoever calls).
func (s *Storage) DeleteAuthRequest(ctx context.Context, id string) error {
	return session.FinishAuthRequest(ctx, s.cfg.Sessions, id)
}

// ---- clients

// GetClientByClientID returns the client from the current snapshot.
func (s *Storage) GetClientByClientID(_ context.Context, clientID string) (op.Client, error) {
	c := s.snapshot().Client(clientID)
	if c == nil {
		return nil, oidc.ErrInvalidClient().WithDescription("unknown client")
	}
	return s.newClient(c), nil
}

// AuthorizeClientIDSecret authenticates a Confidential client. The secret is
// compared in constant time (digests, crypto/subtle) by the snapshot.
func (s *Storage) AuthorizeClientIDSecret(_ context.Context, clientID, clientSecret string) error {
	_, err := s.authenticate(clientID, clientSecret)
	return err
}

func (s *Storage) authenticate(clientID, clientSecret string) (*snapshot.Client, error) {
	c := s.snapshot().Client(clientID)
	if c == nil || c.IsPublic() || !c.CheckSecret(clientSecret) {
		return nil, oidc.ErrInvalidClient().WithDescription("invalid client_id or client_secret")
	}
	return c, nil
}

// ---- keys

// SigningKey returns the current key of the default algorithm.
func (s *Storage) SigningKey(context.Context) (op.SigningKey, error) {
	return s.cfg.Keys.KeySet().SigningKey()
}

// SignatureAlgorithms lists the algorithms that have keys, default first.
func (s *Storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return s.cfg.Keys.KeySet().SignatureAlgorithms(), nil
}

// KeySet returns every public key, current and previous.
func (s *Storage) KeySet(context.Context) ([]op.Key, error) {
	return s.cfg.Keys.KeySet().PublicKeys(), nil
}

// GetKeyByIDAndClientID refuses: private_key_jwt client authentication and
// the JWT bearer grant are not supported.
func (s *Storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, oidc.ErrInvalidClient().WithDescription("private_key_jwt is not supported")
}

// ValidateJWTProfileScopes refuses: the JWT bearer grant is not supported.
func (s *Storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, oidc.ErrUnsupportedGrantType()
}

// ---- sessions

// TerminateSession is not used: TerminateSessionFromRequest is.
func (s *Storage) TerminateSession(context.Context, string, string) error { return nil }

// TerminateSessionFromRequest deletes the browser's login session (its ID
// comes from the cookie, through the end-session interceptor) and returns
// where to send the browser: the validated post_logout_redirect_uri, or the
// default.
func (s *Storage) TerminateSessionFromRequest(ctx context.Context, req *op.EndSessionRequest) (string, error) {
	if err := s.checkPostLogoutRedirect(req); err != nil {
		return "", err
	}
	if id := loginSessionFrom(ctx); id != "" {
		ls, err := s.cfg.Sessions.GetLoginSession(ctx, id)
		switch {
		case errors.Is(err, session.ErrNotFound):
		case err != nil:
			return "", err
		case req.UserID != "" && ls.UserID != req.UserID:
			// The hint names someone else: this browser's session is not
			// the one being ended. Leave it alone.
		default:
			if err := s.cfg.Sessions.DeleteLoginSession(ctx, id); err != nil {
				return "", err
			}
			s.cfg.Audit.Record(ctx, audit.Event{Event: audit.EventLogout, Organization: s.orgName(ls.OrgID),
				Client: req.ClientID, UserID: ls.UserID, Result: audit.ResultSuccess})
		}
	}
	return req.RedirectURI, nil
}

// postLogoutURIMatches reports whether redirect (a registered
// post-logout URI to which the op package may have added state) has the
// scheme, host, port and path of a registered one, byte for byte.
func postLogoutURIMatches(c *snapshot.Client, redirect string) bool {
	got, err := url.Parse(redirect)
	if err != nil {
		return false
	}
	for _, reg := range c.PostLogoutRedirectURIs {
		if reg == redirect {
			return true
		}
		want, err := url.Parse(reg)
		if err == nil && want.Scheme == got.Scheme && want.Host == got.Host &&
			want.EscapedPath() == got.EscapedPath() && got.User == nil {
			return true
		}
	}
	return false
}

// Health reports whether a snapshot and keys are loaded.
func (s *Storage) Health(context.Context) error {
	if s.snapshot() == nil {
		return errors.New("no snapshot loaded yet")
	}
	if _, err := s.cfg.Keys.KeySet().SigningKey(); err != nil {
		return err
	}
	return nil
}
