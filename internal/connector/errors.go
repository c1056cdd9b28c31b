package connector

import (
	"errors"
	"fmt"
	"strings"
)

// Reason names why a step with an upstream provider failed. It is stable:
// log it, count it, and branch on it with errors.Is and the Err* values.
type Reason string

// The reasons Begin and Finish fail. Each says whose fault it is, which
// decides the OAuth error the downstream client receives (see OAuthCode).
const (
	// ReasonStateMismatch: the callback's state is not the one pending in
	// this browser's auth request: unknown, replayed, forged, or missing.
	ReasonStateMismatch Reason = "StateMismatch"
	// ReasonWrongProvider: the pending state was created for another
	// identity provider (or another incarnation or issuer of this one).
	ReasonWrongProvider Reason = "WrongProvider"
	// ReasonMixUp: the authorization response carries the iss parameter of
	// another issuer, or lacks it although the provider promises it
	// (RFC 9207): it was meant for another provider.
	ReasonMixUp Reason = "MixUp"
	// ReasonInvalidCallback: the callback lacks a code or has parameters
	// out of bounds.
	ReasonInvalidCallback Reason = "InvalidCallback"
	// ReasonUpstreamError: the provider answered with an OAuth error
	// (error=access_denied and the like), at the callback or the token
	// endpoint. Error.Upstream has its code and description.
	ReasonUpstreamError Reason = "UpstreamError"
	// ReasonWrongIssuer: the ID token's iss is not the provider's issuer:
	// it comes from another upstream.
	ReasonWrongIssuer Reason = "WrongIssuer"
	// ReasonWrongAudience: the ID token was issued to another client (aud
	// or azp).
	ReasonWrongAudience Reason = "WrongAudience"
	// ReasonNonceMismatch: the ID token's nonce is not the pending one: it
	// was minted for another sign-in.
	ReasonNonceMismatch Reason = "NonceMismatch"
	// ReasonTokenExpired: the ID token has expired, or is not valid yet.
	ReasonTokenExpired Reason = "TokenExpired"
	// ReasonBadSignature: the ID token's signature does not verify with the
	// provider's published keys, or uses an algorithm that is not allowed.
	ReasonBadSignature Reason = "BadSignature"
	// ReasonInvalidToken: the token response or the ID token is malformed
	// or lacks a required claim.
	ReasonInvalidToken Reason = "InvalidToken"
	// ReasonUserinfoMismatch: the userinfo response is about another
	// subject than the ID token, or is malformed.
	ReasonUserinfoMismatch Reason = "UserinfoMismatch"
	// ReasonUnavailable: the provider did not answer in time, answered with
	// a server error, or answered more than Config.MaxResponseBytes.
	ReasonUnavailable Reason = "Unavailable"
	// ReasonMisconfigured: the provider's configuration cannot be used: a
	// discovery document for another issuer, an endpoint without https, a
	// missing endpoint. An administrator has to act.
	ReasonMisconfigured Reason = "Misconfigured"
)

// Error is the error Begin and Finish return (match it with errors.Is
// against the Err* values, or errors.As for the details). Its Error text is
// for logs: it never contains a code, a token, a secret or the state.
type Error struct {
	Reason Reason
	// Upstream is the provider's OAuth error, for ReasonUpstreamError.
	Upstream *UpstreamError
	// detail says what exactly was wrong, for logs.
	detail string
	err    error
}

// The sentinel of each Reason, for errors.Is.
var (
	ErrStateMismatch    = &Error{Reason: ReasonStateMismatch}
	ErrWrongProvider    = &Error{Reason: ReasonWrongProvider}
	ErrMixUp            = &Error{Reason: ReasonMixUp}
	ErrInvalidCallback  = &Error{Reason: ReasonInvalidCallback}
	ErrUpstreamError    = &Error{Reason: ReasonUpstreamError}
	ErrWrongIssuer      = &Error{Reason: ReasonWrongIssuer}
	ErrWrongAudience    = &Error{Reason: ReasonWrongAudience}
	ErrNonceMismatch    = &Error{Reason: ReasonNonceMismatch}
	ErrTokenExpired     = &Error{Reason: ReasonTokenExpired}
	ErrBadSignature     = &Error{Reason: ReasonBadSignature}
	ErrInvalidToken     = &Error{Reason: ReasonInvalidToken}
	ErrUserinfoMismatch = &Error{Reason: ReasonUserinfoMismatch}
	ErrUnavailable      = &Error{Reason: ReasonUnavailable}
	ErrMisconfigured    = &Error{Reason: ReasonMisconfigured}
)

func newError(r Reason, err error, format string, args ...any) *Error {
	return &Error{Reason: r, err: err, detail: fmt.Sprintf(format, args...)}
}

// Error is a sentence for logs.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("upstream identity provider: ")
	b.WriteString(string(e.Reason))
	if e.detail != "" {
		b.WriteString(": ")
		b.WriteString(e.detail)
	}
	if e.Upstream != nil {
		fmt.Fprintf(&b, ": error=%q", e.Upstream.Code)
		if e.Upstream.Description != "" {
			fmt.Fprintf(&b, " error_description=%q", e.Upstream.Description)
		}
	}
	if e.err != nil {
		b.WriteString(": ")
		b.WriteString(e.err.Error())
	}
	return b.String()
}

// Unwrap returns the cause (a network error, a context error), if any.
func (e *Error) Unwrap() error { return e.err }

// Is matches another *Error with the same Reason, so that
// errors.Is(err, ErrMixUp) works on wrapped errors.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t != nil && t.Reason == e.Reason
}

// OAuthCode is the OAuth 2.0 error code (RFC 6749 section 4.1.2.1) that the
// downstream client receives when a sign-in ends with err:
// temporarily_unavailable when the provider was down or too slow (trying
// again may work), server_error when the provider's configuration is
// unusable, and access_denied otherwise: the user could not be
// authenticated. Any other error (not from this package) is server_error.
func OAuthCode(err error) string {
	var e *Error
	if !errors.As(err, &e) {
		return "server_error"
	}
	switch e.Reason {
	case ReasonUnavailable:
		return "temporarily_unavailable"
	case ReasonMisconfigured:
		return "server_error"
	case ReasonUpstreamError:
		if e.Upstream != nil && e.Upstream.Code == "temporarily_unavailable" {
			return "temporarily_unavailable"
		}
		return "access_denied"
	default:
		return "access_denied"
	}
}

// UserMessage is a sentence for the organization's error page, saying why
// the sign-in with provider (the IdentityProvider's display name) failed and
// what to do. It includes the provider's own error description, bounded;
// the page must HTML-escape it like any other text (html/template does).
func UserMessage(err error, provider string) string {
	var e *Error
	if !errors.As(err, &e) {
		return fmt.Sprintf("Signing in with %s failed. Please try again later.", provider)
	}
	switch e.Reason {
	case ReasonStateMismatch, ReasonWrongProvider:
		return fmt.Sprintf("This answer from %s does not belong to a sign-in started in this browser, or was already used. Start the sign-in again.", provider)
	case ReasonMixUp:
		return fmt.Sprintf("The answer received was not sent by %s, so it was refused. Start the sign-in again.", provider)
	case ReasonInvalidCallback:
		return fmt.Sprintf("The answer from %s was incomplete. Start the sign-in again.", provider)
	case ReasonUpstreamError:
		msg := fmt.Sprintf("%s did not sign you in", provider)
		if e.Upstream != nil {
			if d := e.Upstream.Description; d != "" {
				return fmt.Sprintf("%s: %s (%s).", msg, d, e.Upstream.Code)
			}
			return fmt.Sprintf("%s (%s).", msg, e.Upstream.Code)
		}
		return msg + "."
	case ReasonUnavailable:
		return fmt.Sprintf("%s did not answer in time. Please try again in a moment.", provider)
	case ReasonMisconfigured:
		return fmt.Sprintf("Signing in with %s is not set up correctly. Tell your administrator; the IdentityProvider's status and the server's log say more.", provider)
	default: // the ID token or userinfo could not be trusted
		return fmt.Sprintf("The identity %s sent could not be verified, so you were not signed in. Start the sign-in again; if it keeps failing, tell your administrator.", provider)
	}
}

// UpstreamError is an OAuth error that the provider answered with. Both
// fields are bounded and hold printable ASCII only (RFC 6749 restricts them
// to it); anything else was replaced.
type UpstreamError struct {
	Code        string
	Description string
}

// Bounds of an upstream error's fields.
const (
	maxErrorCodeLen        = 64
	maxErrorDescriptionLen = 256
)

func upstreamError(code, description string) *UpstreamError {
	code = printable(code, maxErrorCodeLen)
	if code == "" {
		code = "invalid_response"
	}
	return &UpstreamError{Code: code, Description: printable(description, maxErrorDescriptionLen)}
}

// printable keeps the printable ASCII of s (RFC 6749 section 4.1.2.1:
// %x20-21 / %x23-5B / %x5D-7E), replacing anything else by '?', and cuts it
// to max bytes.
func printable(s string, max int) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < max; i++ {
		c := s[i]
		if c >= 0x20 && c <= 0x7e && c != '"' && c != '\\' {
			b.WriteByte(c)
		} else {
			b.WriteByte('?')
		}
	}
	return b.String()
}
