// Package connector signs users in through an organization's upstream
// OpenID Connect provider (an IdentityProvider: their Okta, Entra ID,
// Google Workspace, Keycloak, another Orgkeeper), with the authorization
// code flow and PKCE. The login pages call it; it never imports them, the
// controllers or controller-runtime.
//
// # The flow, in two calls
//
//	reg := connector.NewRegistry(connector.Config{})      // once per server
//	conn, err := reg.Connector(idp)                       // idp: *snapshot.IdentityProvider
//	redirect, pending, err := conn.Begin(ctx, connector.BeginRequest{RedirectURI: callback, LoginHint: email})
//	// store pending in the auth request (session store), redirect the browser
//	...
//	// at the callback, in the browser bound to that auth request:
//	// take pending out of the auth request (single use), then
//	id, err := conn.Finish(ctx, pending, r)
//	// err: connector.OAuthCode(err) for the client, UserMessage(err, name) for the page
//
// Begin draws a fresh state, nonce and PKCE verifier (32 bytes each from
// Config.Rand) and returns the provider's authorization URL and the
// PendingState: strings only, JSON-serializable, kept server-side in the
// auth request, which the login step binds to the browser (binding cookie)
// like every other step. Finish checks the callback, redeems the code with
// the verifier and the client's credentials, verifies the ID token, reads
// userinfo if the ID token lacks a mapped claim, and returns the Identity
// read through spec.oidc.claimMappings.
//
// # Security decisions
//
//   - State: compared in constant time with the pending one, before
//     anything else in the callback is believed, an error included. Single
//     use is the login step's job: it deletes the PendingState from the
//     auth request before calling Finish, so a replayed callback finds none
//     (or another sign-in's) and gets ErrStateMismatch. A PendingState is
//     also tied to the provider's namespace, name, UID and issuer:
//     presenting it to another provider's connector, or to a re-created
//     provider, is ErrWrongProvider.
//   - Mix-up (RFC 9207): the iss parameter is checked whenever present and
//     required when the discovery document sets
//     authorization_response_iss_parameter_supported (status.discovery
//     records it as authorizationResponseIssParameterSupported).
//   - ID token: asymmetric algorithms only (never none or HMAC), one
//     signature, by a key of the provider's JWKS; iss equal to
//     spec.oidc.issuer exactly; the client ID among aud, and equal to azp
//     when azp is present or there are several audiences; exp in the
//     future and iat/nbf not in the future, with Config.ClockSkew; the
//     pending nonce, in constant time; a non-empty sub of at most 255 bytes.
//   - Keys: fetched on first use, refetched when a token names an unknown
//     kid (the provider rotated) but no more than once per
//     Config.KeyRefreshInterval, so that tokens with made-up kids cannot
//     make Orgkeeper hammer the provider; and refetched after
//     Config.KeyMaxAge, so that a withdrawn key stops verifying. Concurrent
//     logins share one fetch.
//   - Userinfo: fetched only when the ID token lacks a mapped claim and the
//     provider has a userinfo endpoint; its sub must be the ID token's; the
//     ID token's claims win over userinfo's.
//   - Every call to the provider (discovery, JWKS, token, userinfo) has
//     Config.Timeout and the caller's context, reads at most
//     Config.MaxResponseBytes, and follows no redirect (a token endpoint
//     that redirects would hand the code and the client secret to wherever
//     it points). Discovery checks that the document names the configured
//     issuer exactly and that every endpoint is https (plain http on
//     loopback only with Config.AllowLoopbackHTTP, for orgkeeper dev and
//     tests). A failed discovery is retried no sooner than
//     KeyRefreshInterval, so a provider that is down is not asked again at
//     every login, and comes back on its own. A discovered document is
//     fetched again after KeyMaxAge; if that fails, the previous one keeps
//     serving.
//   - An upstream error (error=access_denied, or an OAuth error from the
//     token endpoint) is passed through as UpstreamError, bounded to 64 and
//     256 bytes of printable ASCII; pages still HTML-escape it. A token
//     endpoint answering invalid_client or unauthorized_client refuses
//     Orgkeeper itself: that is ErrMisconfigured (an administrator must fix
//     the client ID or secret), not the user's failure.
//   - Claims are bounded: subject and email are refused when too long (a
//     cut subject would be another account), names are cut, groups are
//     capped at 256 names of 256 bytes. Groups are passed unfiltered: the
//     caller applies the rule on which group names a user may carry.
//   - Errors are *Error with a Reason (errors.Is against the Err* values).
//     Their text is for logs and never holds a code, token, secret or
//     state. OAuthCode maps them to the downstream client's error:
//     temporarily_unavailable when the provider was down, slow or too big,
//     server_error when its configuration is unusable, access_denied
//     otherwise.
//
// # Discovery for the reconciler
//
// Discover runs the connector's discovery rules (bounded, exact issuer,
// https endpoints) for the IdentityProvider reconciler, so that what
// status.discovery records and what a sign-in accepts are one rule. Its
// errors tell Unavailable (may pass) from Misconfigured (must be fixed).
//
// # Connectors per provider version
//
// Registry keeps one connector per IdentityProvider UID, rebuilt when the
// generation, the client secret (by digest) or status.discovery change: a
// rotated Secret or an edited spec is used at the next login without a
// restart, and discovery and keys are not fetched per login.
//
// Verification is written on go-jose (the library under go-oidc and
// zitadel/oidc) rather than go-oidc's verifier or zitadel's rp: both return
// untyped or wrapped-string errors for the failures the login step must
// tell apart, go-oidc's RemoteKeySet refetches on every unknown kid without
// a bound and reads unbounded bodies, and neither takes an injected clock
// for expiry.
package connector
