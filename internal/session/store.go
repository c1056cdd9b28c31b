package session

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"slices"
	"time"
)

// Errors returned by every Store. Backends wrap them with detail; test them with
// errors.Is.
var (
	// ErrNotFound means the record does not exist, has expired, or belongs to
	// another client than the one asking.
	ErrNotFound = errors.New("session: not found")
	// ErrAlreadyExists means a record with the same ID or secret already exists.
	ErrAlreadyExists = errors.New("session: already exists")
	// ErrInvalid means the record lacks a required field.
	ErrInvalid = errors.New("session: invalid record")
	// ErrCodeReused means the authorization code was already consumed. The
	// caller should revoke everything issued from it.
	ErrCodeReused = errors.New("session: authorization code reused")
	// ErrRefreshTokenReused means a refresh token that was already rotated was
	// presented again. The store has revoked its whole family.
	ErrRefreshTokenReused = errors.New("session: refresh token reused")
	// ErrRevoked means the refresh token, or its family, was revoked.
	ErrRevoked = errors.New("session: refresh token revoked")
)

// Store is all the ephemeral state of the OIDC server. Implementations are safe
// for concurrent use and pass sessiontest.RunConformance.
type Store interface {
	AuthRequestStore
	CodeStore
	RefreshTokenStore
	LoginSessionStore
	FailureCounter
	Collector
}

// AuthRequestStore keeps authorization requests from /authorize until the code
// is exchanged (or the request expires).
type AuthRequestStore interface {
	// CreateAuthRequest stores a new request. An empty ID is filled with a random
	// one; CreatedAt is set by the store. It returns the stored record.
	CreateAuthRequest(ctx context.Context, req AuthRequest) (AuthRequest, error)
	// GetAuthRequest returns the request with this ID.
	GetAuthRequest(ctx context.Context, id string) (AuthRequest, error)
	// UpdateAuthRequest applies update to a copy of the request and stores the
	// result atomically, for example to attach the authenticated user after
	// login. update must be free of side effects: a backend may call it more
	// than once, and it must not call the store. An error from update aborts
	// the change and is returned as is. The ID cannot be changed.
	UpdateAuthRequest(ctx context.Context, id string, update func(*AuthRequest) error) (AuthRequest, error)
	// DeleteAuthRequest removes the request. Deleting a missing request is not
	// an error. Codes issued for it are kept, so reuse is still detected.
	DeleteAuthRequest(ctx context.Context, id string) error
}

// CodeStore keeps authorization codes, keyed by HashSecret(code).
type CodeStore interface {
	// SaveCode stores code for c.AuthRequestID, bound to c.ClientID. Both are
	// required. CreatedAt is set by the store; ConsumedAt is ignored.
	SaveCode(ctx context.Context, code string, c AuthCode) error
	// ConsumeCode marks the code consumed and returns its record. It succeeds
	// exactly once, even under concurrent calls; every later call returns the
	// record (with ConsumedAt set) and ErrCodeReused.
	//
	// It does not check the client: zitadel's op looks codes up before it has
	// authenticated the client, then compares the returned ClientID with the
	// authenticated client and refuses a mismatch. Any other caller must do
	// the same.
	ConsumeCode(ctx context.Context, code string) (AuthCode, error)
}

// MaxLiveFamilies is how many refresh token families one user may hold at
// one client at once. Each sign-in with offline_access starts a family,
// and a user with a live session can start them as fast as the redirects
// go, each one a record in the store until it expires (30 days by
// default): without a bound, one account could fill the store. When a
// token starts one family more, the store revokes that user's oldest
// family at the client, as a sign-out of the longest-unused device would.
const MaxLiveFamilies = 100

// MaxFamilyTokens is how many tokens of one refresh token family the store
// keeps: the live one and the last ones it replaced, whose reuse revokes
// the family. Every rotation stores a token, kept as long as it would have
// lived; without a bound, one token rotated as fast as the token endpoint
// answers would fill the store. A token older than that is forgotten:
// presenting it is refused as unknown, without revoking the family.
const MaxFamilyTokens = 64

// familyOwnerKey names the families of subject at clientID.
func familyOwnerKey(subject, clientID string) string { return subject + "\x00" + clientID }

// FamilyOwnerKey is familyOwnerKey for stores outside this package.
func FamilyOwnerKey(subject, clientID string) string { return familyOwnerKey(subject, clientID) }

// RefreshTokenStore keeps refresh tokens, keyed by HashSecret(token). The store
// generates the token values; they are returned once and never stored.
type RefreshTokenStore interface {
	// CreateRefreshToken stores rt and returns the token value to give to the
	// client, and the stored record. A token that starts a family revokes
	// the oldest of the subject's families at the client beyond
	// MaxLiveFamilies. FamilyID, ClientID and Subject are
	// required; an empty ID is filled with a random one; IssuedAt is set by the
	// store. Creating a token in a revoked family returns ErrRevoked.
	CreateRefreshToken(ctx context.Context, rt RefreshToken) (token string, stored RefreshToken, err error)
	// GetRefreshToken returns the record of a presented token value. A used
	// token revokes its family and returns ErrRefreshTokenReused; a revoked one
	// returns ErrRevoked. It does not check the client (see ConsumeCode): the
	// caller compares ClientID.
	GetRefreshToken(ctx context.Context, token string) (RefreshToken, error)
	// RotateRefreshToken exchanges a presented token of clientID for a new one
	// in the same family, atomically: exactly one of several concurrent
	// rotations of the same token succeeds, the others see a used token
	// (ErrRefreshTokenReused, family revoked). The new token keeps the family,
	// client, subject, organization, AMR and auth time; it gets scopes (nil
	// keeps the old scopes) and expiresAt (zero: the default lifetime). A token
	// of another client returns ErrNotFound and changes nothing, unless it was
	// already used.
	RotateRefreshToken(ctx context.Context, token, clientID string, scopes []string, expiresAt time.Time) (newToken string, stored RefreshToken, err error)
	// RevokeRefreshToken revokes one token of clientID (RFC 7009). A token of
	// another client returns ErrNotFound and changes nothing.
	RevokeRefreshToken(ctx context.Context, token, clientID string) error
	// RevokeRefreshTokenFamily revokes every token of the family, and refuses
	// tokens created in it later (ErrRevoked) for as long as any of its tokens
	// would have lived, and at least for longer than an authorization code
	// lives. Revoking an unknown family is not an error: it covers a code
	// replay that races the legitimate exchange.
	RevokeRefreshTokenFamily(ctx context.Context, familyID string) error
}

// LoginSessionStore keeps browser sessions (SSO). The session ID is the secret
// in the browser's cookie, so it is keyed by HashSecret(id) too.
type LoginSessionStore interface {
	// CreateLoginSession stores s and returns it. An empty ID is filled with a
	// random secret; UserID is required; CreatedAt is set by the store.
	CreateLoginSession(ctx context.Context, s LoginSession) (LoginSession, error)
	// GetLoginSession returns the session with this ID.
	GetLoginSession(ctx context.Context, id string) (LoginSession, error)
	// UpdateLoginSession applies update to a copy of the session atomically,
	// for example after a step-up login adds to AMR. The rules of
	// UpdateAuthRequest apply.
	UpdateLoginSession(ctx context.Context, id string, update func(*LoginSession) error) (LoginSession, error)
	// DeleteLoginSession removes the session (logout). Deleting a missing
	// session is not an error.
	DeleteLoginSession(ctx context.Context, id string) error
}

// FailureCounter counts failed attempts per key (for example
// "password:<org>/<user>" or "ip:<address>") in a fixed window that starts
// with the first failure. Lockout policy is the caller's. A key can also
// count things in progress (the sign-ins an address has pending): each one
// is recorded when it starts and released (ReleaseFailure) when it ends.
type FailureCounter interface {
	// RecordFailure adds one failure for key and returns the count in the
	// current window. A failure after the window has ended starts a new one.
	RecordFailure(ctx context.Context, key string, window time.Duration) (Failures, error)
	// GetFailures returns the count in the current window; zero if none.
	GetFailures(ctx context.Context, key string) (Failures, error)
	// ResetFailures forgets the key, typically after a successful login.
	ResetFailures(ctx context.Context, key string) error
	// ReleaseFailure takes one off the key's count, atomically, when the
	// key's current window is the one that ends at windowEnd (the WindowEnd
	// that RecordFailure returned when the one being taken back was
	// counted) and the count is above zero; otherwise it does nothing. The
	// window keeps its end (and the key its expiry). It is how a counter
	// used as an allowance of things in progress gives a slot back: a slot
	// counted in an earlier window was already forgotten when that window
	// ended, so it is not taken off a later one.
	ReleaseFailure(ctx context.Context, key string, windowEnd time.Time) error
}

// Collector removes expired records.
type Collector interface {
	// GC deletes every record that expired at or before now and returns how
	// many it deleted.
	GC(ctx context.Context, now time.Time) (int, error)
}

// AuthRequest is an authorization request from /authorize, and, once the user
// has logged in, who logged in.
type AuthRequest struct {
	ID                  string
	ClientID            string
	RedirectURI         string
	ResponseType        string
	ResponseMode        string
	Scopes              []string
	State               string
	Nonce               string
	CodeChallenge       string
	CodeChallengeMethod string
	Prompt              []string
	// MaxAge is the max_age parameter; nil if it was not sent.
	MaxAge    *time.Duration
	UILocales []string
	LoginHint string
	// HintSubject is the sub of the id_token_hint, once the op package
	// verified that this issuer signed it (empty without a hint). Only that
	// user's SSO session may complete the request.
	HintSubject string
	// Organization is the organization asked for with organization=, or chosen
	// on the identifier-first page.
	Organization string
	// OrganizationRequested is true when the client asked for Organization
	// with organization=: the login pages may not change it.
	OrganizationRequested bool
	// BrowserBinding is HashSecret of the binding cookie that /authorize set
	// in the browser that started the request. Every login step and the
	// callback require that cookie, so the request ID alone (it travels in
	// URLs, logs and Referer headers) cannot finish the sign-in elsewhere.
	BrowserBinding string
	// Upstream is the sign-in with an upstream identity provider that the
	// method step began and whose callback has not come back yet. The
	// callback takes it out (clears it) atomically before it is used, so
	// that a replayed callback finds none. It holds secrets (state, nonce,
	// PKCE verifier): it never leaves the server.
	Upstream UpstreamPending
	// Invitation is set on the record of a sign-in at an upstream identity
	// provider that an invitation's page began: it names the invitation
	// that the provider's callback accepts. Such a record is no
	// authorization request: its ClientID is one no application can have
	// (login.InvitationRecordClientID), so it never yields a code.
	Invitation InvitationPending

	// Slot is the place this request takes in the allowance of pending
	// sign-ins of the client address that started it (the /authorize cap),
	// as counted when /authorize reserved it. It is stored with the request,
	// not derived again later, so that whoever finishes the sign-in (the
	// application's back end at the token endpoint, another replica) gives
	// back exactly the slot that was taken. Zero when nothing was counted,
	// and once the slot was given back.
	Slot Slot

	// Set after login.
	UserID         string
	OrgID          string
	AuthTime       time.Time
	AMR            []string
	LoginSessionID string
	Done           bool
	// CodeIssued is set atomically when the callback saves the request's
	// authorization code: one auth request yields at most one code.
	CodeIssued bool

	CreatedAt time.Time
	ExpiresAt time.Time
}

// Clone returns a deep copy.
func (r AuthRequest) Clone() AuthRequest {
	r.Scopes = slices.Clone(r.Scopes)
	r.Prompt = slices.Clone(r.Prompt)
	r.UILocales = slices.Clone(r.UILocales)
	r.AMR = slices.Clone(r.AMR)
	if r.MaxAge != nil {
		d := *r.MaxAge
		r.MaxAge = &d
	}
	return r
}

// UpstreamPending is the server-side half of a sign-in at an upstream
// identity provider (connector.PendingState, as plain strings so that every
// store serializes it). The zero value means none is pending.
type UpstreamPending struct {
	State        string
	Nonce        string
	CodeVerifier string
	RedirectURI  string
	// IdPNamespace, IdPName and IdPUID name the IdentityProvider; Issuer is
	// its issuer when the sign-in began.
	IdPNamespace string
	IdPName      string
	IdPUID       string
	Issuer       string
}

// InvitationPending names the invitation an upstream sign-in accepts: the
// invited OrgUser and the hash of the invitation's token (never the token
// itself). The zero value means none.
type InvitationPending struct {
	// Org is the user's organization (its namespace); UserName the
	// OrgUser's name and UserID its metadata.uid.
	Org      string
	UserName string
	UserID   string
	// TokenHash is credentials.TokenHash of the invitation's token.
	TokenHash string
}

// Slot names one count taken from a FailureCounter key: the key and the
// end of the window it was counted in. The zero value means none.
type Slot struct {
	Key       string
	WindowEnd time.Time
}

// IsZero reports whether s names no slot.
func (s Slot) IsZero() bool { return s.Key == "" }

// AuthCode is an authorization code's record. The code itself is not stored.
type AuthCode struct {
	AuthRequestID string
	ClientID      string
	CreatedAt     time.Time
	ExpiresAt     time.Time
	// ConsumedAt is zero until ConsumeCode succeeds.
	ConsumedAt time.Time
}

// RefreshToken is a refresh token's record. The token value is not stored.
type RefreshToken struct {
	// ID names the token in logs and audit; it is not a secret.
	ID string
	// FamilyID groups a token with the tokens it was rotated from and into.
	FamilyID string
	ClientID string
	Subject  string
	OrgID    string
	Scopes   []string
	Audience []string
	AMR      []string
	AuthTime time.Time
	IssuedAt time.Time
	// ExpiresAt ends this token; its successor gets its own.
	ExpiresAt time.Time
}

// Clone returns a deep copy.
func (t RefreshToken) Clone() RefreshToken {
	t.Scopes = slices.Clone(t.Scopes)
	t.Audience = slices.Clone(t.Audience)
	t.AMR = slices.Clone(t.AMR)
	return t
}

// LoginSession is a browser's single sign-on session.
type LoginSession struct {
	// ID is the secret kept in the browser's cookie.
	ID        string
	UserID    string
	OrgID     string
	AuthTime  time.Time
	AMR       []string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Clone returns a deep copy.
func (s LoginSession) Clone() LoginSession {
	s.AMR = slices.Clone(s.AMR)
	return s
}

// Failures is the state of one FailureCounter key.
type Failures struct {
	Count int
	// WindowEnd is when the count resets; zero if Count is 0.
	WindowEnd time.Time
}

// NewSecret returns 32 random bytes from r, base64url-encoded without padding
// (43 characters). It is how stores make token values and session IDs.
func NewSecret(r io.Reader) (string, error) {
	var b [32]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// HashSecret is the key under which a store keeps a record named by a secret:
// SHA-256 of the value, base64url-encoded. The secrets are 256-bit random
// values, so an unsalted fast hash is enough to make a dump useless.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
