// Package login serves the sign-in pages of the embedded OIDC provider,
// under /login.
//
// # Contract with the provider (internal/oidc)
//
// The provider stores a session.AuthRequest, bound to the browser by the
// binding cookie (BindingCookie; the auth request keeps its hash), and
// redirects the browser to /login?authRequestID=<id>. Every page and form
// here serves the request only to that browser; any other gets the branded
// "started in another browser" page (WrongBrowser, which the provider's
// callback serves too). This package runs the sign-in's steps (steps.go),
// then sets UserID, OrgID, AuthTime, AMR, LoginSessionID
// (session.HashSecret of the login session ID: the raw ID is the cookie's
// bearer secret and never leaves the cookie) and Done on the auth request,
// and redirects the browser to Config.CallbackURL(id). When
// the client must get an OAuth error (access_denied: the application is not
// shared with the organization, or it requires a second factor this
// server does not offer yet; login_required: prompt=none without a usable
// session), it uses Config.ErrorRedirect, by default the auth
// request's redirect URI with error, error_description, state and iss
// (RFC 9207), and deletes the auth request.
//
// # Steps
//
// organization, method, second factor, done: see steps.go. Each step's
// state is in the auth request; nextStep decides from it alone.
//
// # Choosing the organization (api.md section 7)
//
//  1. organization=<name> on the auth request (an unknown name is an error
//     page; the identifier form cannot switch away from it);
//  2. a login_hint email whose domain an organization has verified;
//  3. a browser with a valid login session continues with the session's
//     organization, unless prompt=login or prompt=select_account;
//  4. otherwise the identifier-first page: the typed email (field
//     username) is routed by its domain; when the domain routes nowhere, a
//     field organization asks for the organization's handle.
//
// Then a suspended organization or an application not shared with it is
// refused with a branded page, a valid SSO session for the same
// organization completes the request without a page (unless prompt=login,
// max_age is exceeded, or the user's sessions were revoked since:
// snapshot.User.SessionRevoked), and otherwise the password page is shown
// in the organization's branding. An organization whose effective
// login.mfa is Required refuses a sign-in without a second factor (there
// is none yet) with a branded page and access_denied for the client.
//
// # Password sign-in
//
// The user is looked up by email or username in the organization and the
// password verified with argon2id. Unknown users, and users without a
// password, are verified against a dummy hash, and every failure shows the
// same message, so that nothing tells which accounts exist. Disabled and
// locked accounts are reported only after the right password. Each attempt
// is reserved through session.FailureCounter, per client address and then
// per account, before the hash is verified, and refused unverified over the
// limit, so parallel guesses cannot get past it (throttle.go); reaching the
// limit locks for Throttle.LockDuration, and LockoutRecorder is told so
// that a controller can show it on the OrgUser. The client address is
// Config.ClientIP: behind reverse proxies, internal/clientip with
// --trusted-proxies.
//
// # Upstream identity providers (step_upstream.go)
//
// With Config.Connectors set, the method step offers the organization's
// providers (snapshot Org.Login.IdentityProviders, inherited ones
// included) as buttons (plain forms to PathUpstream, with the CSRF token)
// beside the password form, or alone when password login is off. An
// email from login_hint or the identifier form whose domain a provider
// lists (Org.IdentityProviderForDomain) goes straight to it, and so does
// login.autoRedirect with one provider and no password
// (Login.RedirectTarget). Going to a provider calls connector Begin, keeps
// the PendingState in AuthRequest.Upstream, sets UpstreamCookie (the auth
// request's ID: the callback URL is fixed and cannot carry it) and
// redirects. The redirect URI is <issuer>/login/callback/oidc
// (PathUpstreamCallback) for every provider; it is what administrators
// register at the provider.
//
// The callback loads the auth request (browser binding checked), takes the
// pending state out of it in one atomic update (a replayed or concurrent
// callback finds none), resolves the provider from the auth request's
// organization (snapshot.IdentityProvider, UID checked), never from the
// callback, and calls Finish. Errors end the auth request on the
// organization's page with connector.UserMessage and give the client
// connector.OAuthCode. The identity is then decided within that
// organization only (decideUpstreamUser): the user linked to it; else the
// user with its email when the provider says it is verified and the
// domain is verified for the organization (rules.EmailVerified) and the
// user has no account at that provider yet; else, with JustInTime, a new
// user written through UserProvisioner (internal/apiwrite), which the
// sign-in waits for in the snapshot up to ProvisionWait ("your account is
// being prepared" after that); with ExistingUsersOnly, a refusal. amr is
// "fed".
//
// # Browser security
//
// Every POST carries a CSRF token, an HMAC of a random HttpOnly, SameSite=Lax
// cookie and the auth request ID, and passes http.CrossOriginProtection.
// Cookies are Secure with the __Host- prefix when the issuer is https. Pages
// contain no script; the only style is one element allowed by a per-response
// CSP nonce, and branding colours enter it only as validated #RRGGBB values.
// Every response has frame-ancestors 'none', X-Frame-Options DENY,
// Referrer-Policy no-referrer and Cache-Control no-store.
//
// Only directory.go knows the snapshot's types, and step_upstream.go, which
// hands snapshot.IdentityProvider to the connector.
package login
