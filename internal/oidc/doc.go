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
//     its family) and client credentials (with an optional organization
//     parameter). No implicit, hybrid, password, device, JWT-bearer grant or
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
// Userinfo, refresh and introspection re-check the snapshot: a disabled or
// locked user, a suspended organization (or ancestor) or an application no
// longer shared with the organization stops them.
package oidc
