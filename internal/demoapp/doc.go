// Package demoapp is the small relying party that `orgkeeper dev` serves
// (api.md section 8): a web application that signs in through the issuer and
// shows what it received.
//
// It is written with libraries this project did not write,
// github.com/coreos/go-oidc/v3 and golang.org/x/oauth2, so that it exercises
// the issuer the way a customer's application would:
//
//   - GET  /          what the demo is, a "Sign in" button and an optional
//     hint: an email (sent as login_hint) or an organization handle (sent as
//     the organization authorize parameter).
//   - GET  /login     starts the authorization code flow with PKCE (S256),
//     a random state and a random nonce.
//   - GET  /callback  checks state and RFC 9207's iss parameter, shows an
//     issuer's error response (error, error_description) on a friendly page,
//     exchanges the code with the PKCE verifier, verifies the ID token and
//     its nonce, and starts a local session.
//   - GET  /me        the ID token claims, the userinfo response and the
//     access token's expiry.
//   - POST /refresh   uses the refresh token and shows whether it rotated.
//   - GET|POST /logout  ends the local session and performs RP-initiated
//     logout at the issuer's end_session_endpoint.
//
// # State
//
// Everything is held server-side in memory, in small maps with expiry: the
// pending sign-ins (state, nonce, PKCE verifier; ten minutes) and the
// signed-in sessions (tokens; eight hours). The browser only holds random
// identifiers in HttpOnly, SameSite=Lax cookies, so nothing needs signing
// or encrypting, and a restart simply signs everyone out. Tokens are never
// shown; refresh tokens are shown as short fingerprints so that rotation is
// visible.
//
// # Discovery
//
// `orgkeeper dev` starts the demo application before the issuer serves, so
// New does not contact the issuer: discovery happens on the first request
// that needs it and is retried on later requests until it succeeds. While
// the issuer is unreachable those requests get a page that says so.
package demoapp
