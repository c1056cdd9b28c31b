// Package session holds the ephemeral OAuth state of the embedded OIDC server:
// auth requests between /authorize and the callback, authorization codes,
// refresh tokens, browser login sessions (SSO) and failed-login counters.
//
// The OIDC server depends only on the Store interface, which is composed of
// small role interfaces (AuthRequestStore, CodeStore, RefreshTokenStore,
// LoginSessionStore, FailureCounter, Collector). Memory is the in-memory
// implementation for a single replica; several replicas share a Redis
// backend (package redisstore). Both pass the same conformance suite
// (package sessiontest).
//
// # Semantics shared by every backend
//
//   - Every record expires. A record whose ExpiresAt is zero when it is created
//     gets the backend's default lifetime for its kind. An expired record is
//     reported as ErrNotFound (wrapped, so the message says "expired"), exactly
//     as if it had never existed; GC removes it for good.
//   - Secrets are never keys. Authorization codes, refresh tokens and login
//     session IDs are bearer credentials: backends key them by HashSecret of
//     the value and never store the raw value, so a dump of the store cannot
//     be replayed.
//   - Codes are single use. ConsumeCode succeeds exactly once; every later call
//     returns ErrCodeReused together with the code's record, so that the caller
//     can revoke what was issued from it (RFC 6749 section 4.1.2). Refresh tokens
//     issued from a code should use the code's AuthRequestID as their FamilyID,
//     which makes that revocation one RevokeRefreshTokenFamily call.
//   - Refresh tokens rotate. RotateRefreshToken marks the presented token used
//     and issues its successor in the same family. Presenting a used token again
//     (to GetRefreshToken or RotateRefreshToken, by any client) means its value
//     has leaked: the whole family is revoked and ErrRefreshTokenReused is
//     returned (OAuth 2.0 Security BCP, section 4.14.2).
//   - Records are values. Methods take and return copies; changing a returned
//     record never changes the stored one.
//   - Every method takes a context and returns its error when it is done.
package session
