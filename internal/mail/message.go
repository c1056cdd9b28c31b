package mail

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// Kind is what a message is for; each kind has its own templates.
type Kind string

// The kinds of message Orgkeeper sends.
const (
	// KindInvitation invites an OrgUser to set a password and sign in.
	KindInvitation Kind = "invitation"
	// KindPasswordReset carries a link to choose a new password.
	KindPasswordReset Kind = "password-reset"
	// KindRegistration confirms a self-registration before the account
	// exists.
	KindRegistration Kind = "registration"
	// KindOrganizationSignup confirms a self-service signup of a new
	// organization before the organization exists. It is sent for the
	// root organization, whose branding it carries.
	KindOrganizationSignup Kind = "organization-signup"
	// KindAccountExists answers a self-registration with the address of
	// an existing account: it says so, with a link to choose a new
	// password in case the person forgot theirs.
	KindAccountExists Kind = "account-exists"
)

// Kinds lists every Kind, in a fixed order.
var Kinds = []Kind{KindInvitation, KindPasswordReset, KindRegistration, KindOrganizationSignup, KindAccountExists}

// Valid reports whether k is one of Kinds.
func (k Kind) Valid() bool {
	for _, x := range Kinds {
		if k == x {
			return true
		}
	}
	return false
}

// Bounds of a Message's fields: what an outbox Secret may hold, whoever
// wrote it.
const (
	MaxAddress = 254 // RFC 5321 path limit
	MaxName    = 256
	MaxLink    = 2048
	MaxOrg     = 63
)

// Message is one message to send. It is stored, as JSON, in an outbox
// Secret until it is delivered; Link carries a single-use token, which is
// why the outbox is made of Secrets.
type Message struct {
	// ID identifies the message: the hash of its idempotency key. It is
	// the local part of the Message-ID header, so that a message delivered
	// twice (see the outbox reconciler) is recognisably one message.
	ID string `json:"id"`
	// Kind selects the templates.
	Kind Kind `json:"kind"`
	// Organization is the handle of the organization the message is sent
	// for; its effective branding and templates are used.
	Organization string `json:"organization"`
	// To is the recipient's address, ToName their display name (may be
	// empty).
	To     string `json:"to"`
	ToName string `json:"toName,omitempty"`
	// Link is the URL the recipient follows (with its token).
	Link string `json:"link"`
	// AppName names the application the person was signing in to, when
	// there was one (resets and sign-ups started from an application).
	AppName string `json:"appName,omitempty"`
	// ExpiresAt is when the link stops working.
	ExpiresAt time.Time `json:"expiresAt"`
	// CreatedAt is when the message was asked for.
	CreatedAt time.Time `json:"createdAt"`
}

// MessageID returns the hex SHA-256 of an idempotency key: the same key
// always gives the same message ID and outbox Secret name. The parts are
// length-prefixed, so that no two different lists of parts collide.
func MessageID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s|", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))[:40]
}

// Validate checks a message before it is stored or sent: bounded fields, a
// single well-formed address, an http(s) link. It never echoes the link.
func (m *Message) Validate() error {
	var errs []error
	if len(m.ID) == 0 || len(m.ID) > 64 || strings.Trim(m.ID, "0123456789abcdef") != "" {
		errs = append(errs, errors.New("id must be a lower-case hex string of at most 64 characters"))
	}
	if !m.Kind.Valid() {
		errs = append(errs, fmt.Errorf("kind %q is not one of %v", m.Kind, Kinds))
	}
	if m.Organization == "" || len(m.Organization) > MaxOrg {
		errs = append(errs, errors.New("organization must be a handle of 1 to 63 characters"))
	}
	if err := CheckAddress(m.To); err != nil {
		errs = append(errs, err)
	}
	if utf8.RuneCountInString(m.ToName) > MaxName || strings.ContainsAny(m.ToName, "\r\n") {
		errs = append(errs, errors.New("toName is too long or spans lines"))
	}
	if utf8.RuneCountInString(m.AppName) > MaxName || strings.ContainsAny(m.AppName, "\r\n") {
		errs = append(errs, errors.New("appName is too long or spans lines"))
	}
	if u, err := url.Parse(m.Link); len(m.Link) > MaxLink || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs = append(errs, errors.New("link must be an absolute http(s) URL of at most 2048 bytes"))
	}
	if m.ExpiresAt.IsZero() {
		errs = append(errs, errors.New("expiresAt is required"))
	}
	return errors.Join(errs...)
}

// CheckAddress accepts exactly one bare address (local@domain, no display
// name, no line breaks), at most MaxAddress bytes.
func CheckAddress(s string) error {
	if s == "" || len(s) > MaxAddress || strings.ContainsAny(s, "\r\n<>, ") {
		return fmt.Errorf("%q is not a single email address", truncate(s, 64))
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" || !strings.Contains(s, "@") {
		return fmt.Errorf("%q is not a single email address", truncate(s, 64))
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Paths of the pages that links lead to, under the issuer URL. The login
// pages serve them; whoever makes a link uses these.
const (
	// PathInvitation is the invitation acceptance page:
	// <issuer>/login/invitation?org=<org>&token=<token>.
	PathInvitation = "/login/invitation"
	// PathResetConfirm is where a password-reset link leads.
	PathResetConfirm = "/login/reset/confirm"
	// PathRegistrationConfirm is where a sign-up confirmation link leads.
	PathRegistrationConfirm = "/login/register/confirm"
	// PathSignupConfirm is where an organization signup's confirmation
	// link leads: <issuer>/signup/confirm?token=<token>.
	PathSignupConfirm = "/signup/confirm"
)

// Link returns issuer + path + "?org=<org>&token=<token>".
func Link(issuer, path, org, token string) string {
	v := url.Values{}
	v.Set("org", org)
	v.Set("token", token)
	return strings.TrimSuffix(issuer, "/") + path + "?" + v.Encode()
}
