// Package oidc is Orgkeeper's OpenID Provider: zitadel/oidc's op package wired
// to the serving snapshot (organizations, users, clients), the ephemeral
// session.Store (auth requests, codes, refresh tokens, login sessions) and the
// signing keys.
//
// NewProvider returns the http.Handler of the issuer. The login UI is another
// package: /authorize redirects the browser to Config.LoginURL with the auth
// request's ID; the login UI authenticates the user, marks the
// session.AuthRequest done (UserID, OrgID, AuthTime, AMR, Done) and redirects
// to CallbackURL, which issues the authorization code.
//
// # What is served
//
//   - Authorization code flow with PKCE (S256 only; required for Public
//     clients), refresh tokens (rotated on every use; a reused token revokes
//     its family), client credentials (with an optional organization
//     parameter) and token exchange for the organization switch of
//     administrators (token_exchange.go; announced in discovery only while
//     an application enables it). No implicit, hybrid, password, device, JWT-bearer grant or
//     request objects.
//   - Redirect URIs match exactly, without any normalisation. The only
//     exception is RFC 8252 loopback redirects of native Public clients: a
//     registered http://127.0.0.1/... or http://[::1]/... URI matches the same
//     URI with any port.
//   - RFC 9207: every authorization response (success or error redirect)
//     carries iss, and discovery says so
//     (authorization_response_iss_parameter_supported). Only response_mode
//     query is supported, so that iss always travels with the response.
//   - The organization parameter of /authorize is kept on the auth request
//     (session.AuthRequest.Organization) for the login UI.
//   - Claims (api.md section 7): sub, org_id, org_handle, org_name, org_path,
//     roles, groups in the ID token, the JWT access token and userinfo; email
//     and email_verified with the email scope; name, given_name, family_name
//     and preferred_username with the profile scope; amr.
//
// # Tokens and their limits
//
// Access tokens are stateless: a JWT signed with the key set's default key,
// or, for Opaque clients, an AES-GCM encrypted reference. The token ID (jti)
// carries, signed or encrypted, what userinfo and introspection need
// (client, organization, scopes, AMR, expiry), so nothing is stored per
// access token. The consequence is that an access token cannot be revoked:
// revocation of an access token is accepted (RFC 7009) but the token stays
// valid until it expires (the client's access token lifetime, 15 minutes by
// default). Refresh tokens live in session.Store and are revoked for real,
// together with their family.
//
// Userinfo, refresh and introspection re-check the snapshot: a disabled
// user, a suspended organization (or ancestor), an application no longer
// shared with the organization, or a sign-in without the second factor the
// organization now requires (rules.AMRSatisfies) stops them. A lock after
// wrong passwords does not: it stops password sign-ins only, so that it
// cannot be used to cut a user off. They also refuse every
// token that rests on a sign-in from before the user's or an
// organization's status.sessionsRevokedAt (snapshot.User.SessionRevoked,
// applied by resolveSession): disabling a user or suspending an
// organization ends its refresh token families and the access tokens
// issued from them for good; enabling it again does not revive them, only
// a new sign-in does.
//
// # Bounded input
//
// Every endpoint bounds its input before anything else reads it
// (limits.go): a body of at most MaxBodyBytes (64 KiB), at most
// MaxParameters parameters, none repeated (RFC 6749 section 3.1), and a
// size per parameter (parameterLimits documents each, for example 2048
// bytes for state and redirect_uri, 512 for nonce, 128 for
// code_verifier). An over-limit request gets invalid_request, never an
// echo of the value: JSON at the back-channel endpoints; at /authorize a
// redirect to the client only when client_id and redirect_uri are
// themselves in bounds and registered, otherwise a 400 page. /authorize
// also counts the pending sign-ins of each client address
// (Config.ClientIP): started within the current window of the auth
// request lifetime and not yet finished (a sign-in gives its slot back
// when its auth request is deleted, and a refused /authorize takes none);
// past Config.MaxPendingAuthRequestsPerAddress (default 100) it answers
// temporarily_unavailable and stores nothing.
//
// # Token, introspection and revocation endpoints
//
// They take POST only, and parameters only from the body (RFC 6749
// sections 2.3.1 and 3.2): a query string is refused with invalid_request.
// Clients authenticate with HTTP Basic or client_id and client_secret in the
// body, not both; introspection (this package's own handler) and revocation
// accept exactly what discovery advertises for them. Errors are JSON
// (RFC 6749 section 5.2). Introspection reports a live refresh token as
// active (token_type refresh_token, with client_id, sub, exp and the
// organization claims) and a revoked, rotated, expired or foreign one as
// {"active":false}. Userinfo (also this package's own handler) takes the
// access token from the Authorization header or a form body, never the
// query string, and answers refusals with a Bearer challenge and JSON
// (RFC 6750 section 3). Opaque tokens and codes use authenticated
// encryption (AES-256-GCM) only. A client_credentials request for an
// organization that does not exist and one for an organization the
// application is not shared with get the same answer.
//
// # Logout
//
// end_session with an id_token_hint ends the browser's SSO session in one
// navigation, as before. Without one, any web page could log the user
// out, so the provider validates the request (client, exact
// post_logout_redirect_uri) and asks the user to confirm
// (Config.Logout, implemented by the login pages: a plain form with a CSRF
// token bound to the request); only the confirmation's POST ends the
// session and continues to the post-logout URI with state.
package oidc
