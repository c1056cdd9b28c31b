package credentials

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"time"
)

// Single-use link tokens (invitations and password resets) are kept in the
// credential Secret like the password hash: only the SHA-256 of the token,
// never the token, with its expiry. A token has 256 random bits, so a fast
// hash is enough (nobody can guess a preimage), and the lookup needs no
// argon2id. Consuming a token deletes its keys in the same write that sets
// the password, so a token works once.
const (
	// InvitationHashKey holds the hex SHA-256 of the open invitation's
	// token; InvitationExpiresKey its expiry (RFC 3339, UTC);
	// InvitationRoundKey the resend round it was issued for (the value of
	// the OrgUser's resend annotation, empty for the first invitation);
	// InvitationIssuedKey when it was issued (RFC 3339, whole seconds).
	InvitationHashKey    = "invitation-sha256"
	InvitationExpiresKey = "invitation-expires"
	InvitationRoundKey   = "invitation-round"
	InvitationIssuedKey  = "invitation-issued"
	// ResetHashKey and ResetExpiresKey are the same for the open password
	// reset.
	ResetHashKey    = "reset-sha256"
	ResetExpiresKey = "reset-expires"
)

// tokenBytes is the random part's size.
const tokenBytes = 32

// MaxTokenLength bounds a presented token (user ID, dot, random part).
const MaxTokenLength = 128

// NewToken returns a token for the user with this ID (OrgUser
// metadata.uid): "<user id>.<43 characters of base64url>", and the hash to
// store. The user ID in the token lets the server find the user without a
// search; the random part is the secret.
func NewToken(userID string) (token, hash string) {
	b := make([]byte, tokenBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	token = userID + "." + base64.RawURLEncoding.EncodeToString(b)
	return token, TokenHash(token)
}

// TokenHash is the stored form of a token: hex SHA-256 of all of it, so
// that the hash is bound to the user ID too.
func TokenHash(token string) string {
	s := sha256.Sum256([]byte("orgkeeper link token\x00" + token))
	return hex.EncodeToString(s[:])
}

// ErrMalformedToken is returned by TokenUser for anything that is not a
// token's shape.
var ErrMalformedToken = errors.New("malformed token")

// TokenUser returns the user ID a token names, checking only its shape.
func TokenUser(token string) (string, error) {
	if len(token) > MaxTokenLength {
		return "", ErrMalformedToken
	}
	id, secret, ok := strings.Cut(token, ".")
	if !ok || id == "" || len(id) > 64 || len(secret) != 43 {
		return "", ErrMalformedToken
	}
	for _, c := range id {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return "", ErrMalformedToken
		}
	}
	if _, err := base64.RawURLEncoding.DecodeString(secret); err != nil {
		return "", ErrMalformedToken
	}
	return id, nil
}

// TokenMatches reports, in constant time, whether token hashes to stored
// and stored has not expired at now. An empty stored hash matches nothing.
func TokenMatches(stored, expires, token string, now time.Time) bool {
	if stored == "" || token == "" {
		return false
	}
	got := TokenHash(token)
	ok := subtle.ConstantTimeCompare([]byte(got), []byte(stored)) == 1
	exp, err := time.Parse(time.RFC3339, expires)
	return ok && err == nil && now.Before(exp)
}

// FormatTime is how token times are stored.
func FormatTime(t time.Time) string { return t.UTC().Truncate(time.Second).Format(time.RFC3339) }

// InvitationAcceptedKey records (RFC 3339) that the open invitation was
// accepted by signing in through an identity provider, which sets no
// password; the round's other keys stay so that it is not issued again.
const InvitationAcceptedKey = "invitation-accepted"

// InvitationIdentityKey holds, with InvitationAcceptedKey, the federated
// identity (the JSON of an iam FederatedIdentity) the invitation was
// accepted with: the acceptance is that one write, and the operator adds
// the identity to the OrgUser's status from it if the server's own status
// write did not happen. The server removes it once the status has it.
const InvitationIdentityKey = "invitation-identity"
