package login

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/connector"
	"github.com/orgkeeper/orgkeeper/internal/rules"
	"github.com/orgkeeper/orgkeeper/internal/session"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
	"github.com/orgkeeper/orgkeeper/internal/telemetry"
)

// Sign-in through an upstream identity provider, the second method of the
// method step. Selecting a provider (its button, home-realm discovery by
// email domain, or auto-redirect) calls the connector's Begin, keeps the
// PendingState in the auth request and sends the browser to the provider.
// The provider sends it back to PathUpstreamCallback, where the auth
// request is found from a cookie set at Begin, bound to the browser like
// every step, the pending state taken out atomically (single use) and
// handed to Finish. The identity is then looked up, linked or provisioned
// only within the auth request's organization (decideUpstreamUser).

// Routes of the upstream method.
const (
	// PathUpstream receives the provider buttons' form (idp=<name>).
	PathUpstream = "/login/idp"
	// PathUpstreamCallback is the redirect URI to register at every
	// upstream identity provider: <issuer>/login/callback/oidc, exactly.
	PathUpstreamCallback = "/login/callback/oidc"
)

// UpstreamCookie names the cookie that carries the auth request's ID from
// Begin to the provider's callback (the callback's URL is fixed, so it
// cannot). It is not a secret: the binding cookie still proves the browser.
const UpstreamCookie = "orgkeeper_upstream"

// UpstreamCookieName is the upstream cookie's name on an https (secure) or
// plain-http issuer.
func UpstreamCookieName(secure bool) string { return cookieName(UpstreamCookie, secure) }

// amrFederated is the amr value of a sign-in at an upstream provider.
const amrFederated = "fed"

// DefaultProvisionWait bounds how long the callback waits for the
// snapshot to serve a user it has just provisioned.
const DefaultProvisionWait = 5 * time.Second

// ProvisionAction says what a ProvisionRequest asks for.
type ProvisionAction string

// The provisioning actions.
const (
	// ProvisionCreate creates the OrgUser (just-in-time provisioning).
	ProvisionCreate ProvisionAction = "Create"
	// ProvisionLink adds the federated identity to an existing OrgUser
	// (UserName), found by a verified email.
	ProvisionLink ProvisionAction = "Link"
	// ProvisionSync updates the profile of the linked OrgUser (UserName)
	// from the claims (syncProfileOnLogin).
	ProvisionSync ProvisionAction = "Sync"
)

// ProvisionRequest is a write the upstream method asks of the server's
// write path.
type ProvisionRequest struct {
	Action ProvisionAction
	// Namespace is the organization's namespace, where its OrgUsers live.
	Namespace string
	// UserName is the OrgUser to link or sync (empty for Create).
	UserName string
	// IdentityProvider is the provider's name; IdentityProviderOrg the
	// ancestor organization that owns it when inherited, else "".
	IdentityProvider    string
	IdentityProviderOrg string
	// Identity is what the provider asserted (subject, email, profile,
	// groups), as the connector read it.
	connector.Identity
	// DefaultRoles are spec.provisioning.defaultRoles, for Create.
	DefaultRoles []string
}

// UserProvisioner writes users that sign in through an upstream provider
// (internal/apiwrite implements it). It runs in the request: it must be
// bounded, and idempotent (two first logins of one person make one user).
type UserProvisioner interface {
	Provision(ctx context.Context, req ProvisionRequest) (ProvisionResult, error)
}

// ProvisionResult is the OrgUser a provisioning wrote.
type ProvisionResult struct {
	// UserID is its ID (metadata.uid, the sub claim).
	UserID string
	// Generation is its metadata.generation after the write: the sign-in
	// waits until the snapshot serves that version, so the tokens carry
	// the profile just synced. 0 asks no wait beyond the user and link.
	Generation int64
}

// Problems of the upstream method, shown on the organization's page.
const (
	msgUnknownUser = "Your account at %s is not known here, and this organization does not create accounts on first sign-in. Ask your administrator to create your account."
	msgNotLinkable = "An account with your email address already exists here, but %s did not confirm the address as verified for this organization, so it was not connected. Ask your administrator."
	msgNoEmail     = "%s did not send your email address, which an account here needs. Ask your administrator to check what the identity provider shares."
	msgPreparing   = "Your account is being prepared. Please try again in a moment."
	msgNoProvision = "Accounts cannot be created here right now. Please try again later."
)

// upstreamEnabled reports whether the handler can sign in at upstream
// providers (it has a connector registry).
func (h *Handler) upstreamEnabled() bool { return h.cfg.Connectors != nil }

// providersOf returns the providers the organization's login page offers.
func (h *Handler) providersOf(f *flow, org orgView) []*snapshot.IdentityProvider {
	return h.orgProviders(f.dir.s, org.Name)
}

// orgProviders returns the providers organization org offers in s (its
// effective login.identityProviders), or none without a connector registry.
// The login page and the invitation page both offer these.
func (h *Handler) orgProviders(s *snapshot.Snapshot, org string) []*snapshot.IdentityProvider {
	if !h.upstreamEnabled() || s == nil {
		return nil
	}
	o := s.Org(org)
	if o == nil {
		return nil
	}
	return o.Login.IdentityProviders
}

// upstreamMethod offers the organization's providers when password login
// is off: the page lists only their buttons.
type upstreamMethod struct{}

func (upstreamMethod) offered(h *Handler, f *flow, org orgView) bool {
	return len(h.providersOf(f, org)) > 0
}

func (upstreamMethod) start(h *Handler, w http.ResponseWriter, r *http.Request, f *flow, org orgView) {
	h.renderPassword(w, r, f, brandFor(org), f.username, "")
}

// providerButton is one provider's button on the login page.
type providerButton struct {
	Name, DisplayName string
}

// providerButtons are the buttons of the organization's providers.
func (h *Handler) providerButtons(f *flow) []providerButton {
	org, ok := f.org()
	if !ok {
		return nil
	}
	return buttonsFor(h.providersOf(f, org))
}

// buttonsFor are the buttons of providers.
func buttonsFor(providers []*snapshot.IdentityProvider) []providerButton {
	var out []providerButton
	for _, idp := range providers {
		out = append(out, providerButton{Name: idp.Name, DisplayName: idpName(idp)})
	}
	return out
}

// routeUpstream sends the browser straight to a provider when the
// organization says so (login.RedirectTarget) or when the email being
// signed in with (login_hint or the identifier form) has a domain that a
// provider lists (home-realm discovery). It reports whether it answered.
func (h *Handler) routeUpstream(w http.ResponseWriter, r *http.Request, f *flow, org orgView) bool {
	if !h.upstreamEnabled() {
		return false
	}
	o := f.dir.s.Org(org.Name)
	if o == nil {
		return false
	}
	if idp := o.Login.RedirectTarget(); idp != nil {
		h.beginUpstream(w, r, f, org, idp)
		return true
	}
	if d := rules.EmailDomain(f.username); d != "" {
		if idp := o.IdentityProviderForDomain(d); idp != nil {
			h.beginUpstream(w, r, f, org, idp)
			return true
		}
	}
	return false
}

// postUpstream is POST /login/idp: a provider's button.
func (h *Handler) postUpstream(w http.ResponseWriter, r *http.Request) {
	f, ok := h.loadPost(w, r, stepMethod)
	if !ok {
		return
	}
	org, _ := f.org()
	if !h.orgAllows(w, r, f, org) {
		return
	}
	name := r.PostFormValue("idp")
	for _, idp := range h.providersOf(f, org) {
		if idp.Name == name {
			h.beginUpstream(w, r, f, org, idp)
			return
		}
	}
	// Not a provider this organization offers: a crafted form.
	h.renderProblem(w, problemNoMethod, brandFor(org), f.appName, "")
}

// redirectURI is the callback URL sent to every provider.
func (h *Handler) redirectURI() string {
	return strings.TrimSuffix(h.cfg.Issuer, "/") + PathUpstreamCallback
}

// beginUpstream starts the sign-in at idp: Begin, keep the pending state in
// the auth request, set the cookie that finds it again, redirect.
func (h *Handler) beginUpstream(w http.ResponseWriter, r *http.Request, f *flow, org orgView, idp *snapshot.IdentityProvider) {
	target, pending, err := h.beginAt(r.Context(), idp, f.username)
	if err != nil {
		h.cfg.Log.Error(err, "starting a sign-in at an upstream identity provider", "org", org.Name, "idp", idp.Namespace+"/"+idp.Name)
		h.refuseUpstream(w, r, f, org, idp, err)
		return
	}
	if !h.update(w, r, f, "keeping the upstream sign-in", func(a *session.AuthRequest) {
		a.Upstream = toUpstreamPending(pending)
	}) {
		return
	}
	h.redirectToProvider(w, r, f.ar.ID, target)
}

// beginAt asks idp's connector for the sign-in's URL and its pending state
// (state, nonce, PKCE verifier), with username as login_hint if an email.
func (h *Handler) beginAt(ctx context.Context, idp *snapshot.IdentityProvider, username string) (string, connector.PendingState, error) {
	conn, err := h.cfg.Connectors.Connector(idp)
	if err != nil {
		return "", connector.PendingState{}, err
	}
	return conn.Begin(ctx, connector.BeginRequest{RedirectURI: h.redirectURI(), LoginHint: loginHintFor(username)})
}

// redirectToProvider sets the cookie by which the callback finds the
// record holding the pending state (recordID), and sends the browser to
// the provider.
func (h *Handler) redirectToProvider(w http.ResponseWriter, r *http.Request, recordID, target string) {
	http.SetCookie(w, &http.Cookie{
		// Path / as the __Host- prefix requires.
		Name: UpstreamCookieName(h.secure), Value: recordID, Path: "/",
		// Lax: the provider's redirect back is a top-level GET navigation.
		HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode,
	})
	setSecurityHeaders(w, "")
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// loginHintFor passes an email on as login_hint; a username means nothing
// to the provider.
func loginHintFor(username string) string {
	if strings.Contains(username, "@") {
		return username
	}
	return ""
}

// upstreamCallback is GET /login/callback/oidc: the provider's answer.
func (h *Handler) upstreamCallback(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(UpstreamCookieName(h.secure))
	if err != nil || c.Value == "" || len(c.Value) > 128 {
		h.renderProblem(w, problemUnknownRequest, neutralBrand(), "", "")
		return
	}
	if id, ok := strings.CutPrefix(c.Value, invitationRecordPrefix); ok {
		// Begun on an invitation's page, not within a sign-in.
		h.invitationCallback(w, r, id)
		return
	}
	f, ok := h.load(w, r, c.Value)
	if !ok {
		return
	}
	if f.step() != stepMethod {
		http.Redirect(w, r, PathStart+"?authRequestID="+url.QueryEscape(f.ar.ID), http.StatusSeeOther)
		return
	}
	org, _ := f.org()
	// Single use: the pending state leaves the auth request before it is
	// believed; a replayed callback (or a concurrent one) finds none.
	// (update may run more than once; the last run is the one stored.)
	var pending session.UpstreamPending
	if !h.update(w, r, f, "taking the upstream sign-in", func(a *session.AuthRequest) {
		pending = a.Upstream
		a.Upstream = session.UpstreamPending{}
	}) {
		return
	}
	if pending.State == "" {
		h.renderUpstreamProblem(w, f, org, connector.UserMessage(connector.ErrStateMismatch, "the identity provider"), "")
		return
	}
	if !h.orgAllows(w, r, f, org) {
		return
	}
	// The provider must still be one this organization may use, resolved
	// from the auth request's organization, never from the callback.
	idp := f.dir.s.IdentityProvider(org.Name, pending.IdPName)
	if idp == nil || idp.Namespace != pending.IdPNamespace || string(idp.UID) != pending.IdPUID {
		h.refuseUpstream(w, r, f, org, nil, connector.ErrWrongProvider)
		return
	}
	conn, err := h.cfg.Connectors.Connector(idp)
	var id connector.Identity
	if err == nil {
		id, err = conn.Finish(r.Context(), fromUpstreamPending(pending), r)
	}
	if err != nil {
		h.cfg.Log.Info("sign-in at an upstream identity provider failed", "org", org.Name, "idp", idp.Namespace+"/"+idp.Name, "error", err.Error())
		h.refuseUpstream(w, r, f, org, idp, err)
		return
	}
	h.upstreamIdentity(w, r, f, org, idp, id)
}

// upstreamIdentity signs in (linking or provisioning) the user the
// provider authenticated.
func (h *Handler) upstreamIdentity(w http.ResponseWriter, r *http.Request, f *flow, org orgView, idp *snapshot.IdentityProvider, id connector.Identity) {
	ctx := r.Context()
	b := brandFor(org)
	id = vouchedIdentity(f.dir.s, org.Name, idp, id)
	d := decideUpstreamUser(f.dir.s, org.Name, idp, id)
	if d.refusal != "" {
		h.refuseMessage(w, r, f, b, d.refusal)
		return
	}
	userID, generation := "", int64(0)
	if d.user != nil {
		userID = d.user.ID
	}
	if d.action != "" {
		if h.cfg.Provisioner == nil {
			h.refuseMessage(w, r, f, b, msgNoProvision)
			return
		}
		req := provisionRequest(d, org, idp, id)
		res, err := h.cfg.Provisioner.Provision(ctx, req)
		switch {
		case err != nil && d.action == ProvisionSync:
			// The user exists; a stale profile does not stop the sign-in.
			h.cfg.Log.Error(err, "syncing a federated user's profile", "org", org.Name, "user", userID)
		case err != nil:
			h.cfg.Log.Error(err, "provisioning a federated user", "org", org.Name, "action", string(d.action))
			h.renderUpstreamProblem(w, f, org, msgPreparing, "")
			return
		case d.user == nil:
			userID = res.UserID // created
			generation = res.Generation
		default:
			generation = res.Generation
		}
		if err == nil {
			h.federated(r, f, idp, d.action, userID)
		}
	}
	u, ok := h.waitForUser(ctx, org.Name, idp, id.Subject, userID, generation)
	if !ok {
		h.renderUpstreamProblem(w, f, org, msgPreparing, "")
		return
	}
	if u.Disabled {
		h.signInEnded(r, f, u.ID, telemetry.MethodUpstream, telemetry.SignInDisabled, reasonDisabled)
		h.renderProblem(w, problemDisabled, b, f.appName, "")
		return
	}
	if h.userLocked(u) {
		h.signInEnded(r, f, u.ID, telemetry.MethodUpstream, telemetry.SignInLocked, reasonLocked)
		h.renderProblem(w, problemTooManyAttempts, b, f.appName, "")
		return
	}
	h.authenticated(w, r, f, u, h.cfg.Now(), []string{amrFederated}, "")
}

// waitForUser returns the user once the snapshot serves it in org, linked
// to subject at idp, at generation or later: at once for a known user,
// within ProvisionWait for one just written, linked or synced (the snapshot
// follows the API server a moment later). Waiting for the link too, not
// only the user, keeps the next sign-in from finding the user by email
// alone; waiting for the generation puts the synced profile and groups in
// this sign-in's tokens. The sign-in goes on right away instead of asking
// the person to come back.
func (h *Handler) waitForUser(ctx context.Context, org string, idp *snapshot.IdentityProvider, subject, userID string, generation int64) (userView, bool) {
	if userID == "" {
		return userView{}, false
	}
	lookup := func() (userView, bool) {
		u := h.cfg.Snapshots.Load().UserByFederatedIdentity(org, idp, subject)
		if u == nil || u.ID != userID || u.Org == nil || u.Org.Name != org || u.Generation < generation {
			return userView{}, false
		}
		return toUserView(u)
	}
	if u, ok := lookup(); ok {
		return u, true
	}
	ctx, cancel := context.WithTimeout(ctx, h.cfg.ProvisionWait)
	defer cancel()
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return userView{}, false
		case <-tick.C:
			if u, ok := lookup(); ok {
				return u, true
			}
		}
	}
}

// upstreamDecision is what to do with an identity the provider asserted.
type upstreamDecision struct {
	// user is the user signing in (nil for Create).
	user *snapshot.User
	// action is the write needed first, or "".
	action ProvisionAction
	// refusal is the page's message when the sign-in is refused.
	refusal string
}

// decideUpstreamUser decides, within organization org only, who the
// identity is: the user linked to it; else the user with its email, when
// the provider says the email is verified and its domain is verified for
// org (rules.EmailVerified, the rule of the email_verified claim); else a
// new user (JustInTime) or a refusal (ExistingUsersOnly). An unverified
// email that matches an existing user is refused rather than provisioned
// beside it: the address belongs to that user.
func decideUpstreamUser(s *snapshot.Snapshot, org string, idp *snapshot.IdentityProvider, id connector.Identity) upstreamDecision {
	name := idp.DisplayName
	if name == "" {
		name = idp.Name
	}
	if u := s.UserByFederatedIdentity(org, idp, id.Subject); u != nil {
		if idp.SyncProfileOnLogin && profileDiffers(u, id) {
			return upstreamDecision{user: u, action: ProvisionSync}
		}
		return upstreamDecision{user: u}
	}
	if id.Email != "" {
		if u := s.UserByEmail(org, id.Email); u != nil {
			// One upstream account per provider and user: an account that
			// is linked already is not taken over by another one with the
			// same address.
			if emailLinkable(s, org, id) && !linkedAt(u, idp) {
				return upstreamDecision{user: u, action: ProvisionLink}
			}
			return upstreamDecision{refusal: fmt.Sprintf(msgNotLinkable, name)}
		}
	}
	if idp.ProvisioningMode == iamv1.ProvisioningModeExistingUsersOnly {
		return upstreamDecision{refusal: fmt.Sprintf(msgUnknownUser, name)}
	}
	if id.Email == "" {
		// spec.email is required: without it there is no account to make.
		return upstreamDecision{refusal: fmt.Sprintf(msgNoEmail, name)}
	}
	return upstreamDecision{action: ProvisionCreate}
}

// vouchedIdentity is id with email_verified taken back when another
// provider is the authority for the email's domain: the one the
// organization signing in, or the organization holding the domain, routes
// the domain to (spec.domains, home-realm discovery). That provider signs
// in everyone with an address there, so only its word that the address is
// verified counts. Without this, any other provider of the organization
// (a partners' or social login) could claim a colleague's address,
// verified, and be linked to the colleague's account, or put it verified
// into a new user's tokens.
func vouchedIdentity(s *snapshot.Snapshot, org string, idp *snapshot.IdentityProvider, id connector.Identity) connector.Identity {
	if id.EmailVerified && domainRoutedElsewhere(s, org, idp, id.Email) {
		id.EmailVerified = false
	}
	return id
}

// domainRoutedElsewhere reports whether email's domain routes to a provider
// other than idp, in org or in the organization holding the domain.
func domainRoutedElsewhere(s *snapshot.Snapshot, org string, idp *snapshot.IdentityProvider, email string) bool {
	d := rules.EmailDomain(email)
	if d == "" {
		return false
	}
	for _, o := range []*snapshot.Org{s.Org(org), s.OrgByDomain(d)} {
		if o == nil {
			continue
		}
		if r := o.IdentityProviderForDomain(d); r != nil && (r.Namespace != idp.Namespace || r.Name != idp.Name || r.UID != idp.UID) {
			return true
		}
	}
	return false
}

// linkedAt reports whether u is linked to an account at idp already.
func linkedAt(u *snapshot.User, idp *snapshot.IdentityProvider) bool {
	owner := ""
	if idp.Org != nil && u.Org != nil && idp.Org.Name != u.Org.Name {
		owner = idp.Org.Name
	}
	for _, fi := range u.FederatedIdentities {
		if fi.IdentityProvider == idp.Name && fi.Organization == owner {
			return true
		}
	}
	return false
}

// emailLinkable: the provider says the email is verified, and its domain
// is held verified by org or one of its descendants.
func emailLinkable(s *snapshot.Snapshot, org string, id connector.Identity) bool {
	o := s.Org(org)
	if o == nil {
		return false
	}
	ok, _ := rules.EmailVerified(id.EmailVerified, id.Email, o.Path, func(domain string) []string {
		if h := s.OrgByDomain(domain); h != nil {
			return h.Path
		}
		return nil
	})
	return ok
}

func profileDiffers(u *snapshot.User, id connector.Identity) bool {
	return (id.Email != "" && !strings.EqualFold(id.Email, u.Email)) ||
		(id.Name != "" && id.Name != u.DisplayName) ||
		(id.GivenName != "" && id.GivenName != u.GivenName) ||
		(id.FamilyName != "" && id.FamilyName != u.FamilyName) ||
		groupsDiffer(u, id.Groups)
}

// groupsDiffer reports whether the provider's groups may differ from the
// user's. u.Groups is the groups claim, which rules.TokenGroups has
// filtered, so a group the rule drops looks like a difference on every
// sign-in: the write path then finds nothing to change and writes nothing.
// No groups sent means nothing to compare (the claim may be absent).
func groupsDiffer(u *snapshot.User, upstream []string) bool {
	if len(upstream) == 0 {
		return false
	}
	admin := ""
	if u.Org != nil && u.Admin {
		admin = rules.AdminGroup(u.Org.Name)
	}
	for _, g := range upstream {
		if !rules.ReservedGroup(g) && !slices.Contains(u.Groups, g) {
			return true
		}
	}
	for _, g := range u.Groups {
		if g != admin && !slices.Contains(upstream, g) {
			return true
		}
	}
	return false
}

func provisionRequest(d upstreamDecision, org orgView, idp *snapshot.IdentityProvider, id connector.Identity) ProvisionRequest {
	req := ProvisionRequest{
		Action: d.action, Namespace: org.Name,
		IdentityProvider: idp.Name, Identity: id,
		DefaultRoles: idp.DefaultRoles,
	}
	if idp.Org != nil && idp.Org.Name != org.Name {
		req.IdentityProviderOrg = idp.Org.Name
	}
	if d.user != nil {
		req.Namespace, req.UserName = d.user.Namespace, d.user.Name
	}
	return req
}

// refuseUpstream ends the auth request on the organization's page with the
// connector's sentence, offering the way back to the client with the
// connector's OAuth error.
func (h *Handler) refuseUpstream(w http.ResponseWriter, r *http.Request, f *flow, org orgView, idp *snapshot.IdentityProvider, err error) {
	name := "the identity provider"
	if idp != nil {
		name = idp.Name
		if idp.DisplayName != "" {
			name = idp.DisplayName
		}
	}
	h.upstreamFailed(r, f, idp, err)
	msg := connector.UserMessage(err, name)
	back := h.cfg.ErrorRedirect(r.Context(), f.ar, connector.OAuthCode(err), msg)
	if derr := session.FinishAuthRequest(r.Context(), h.cfg.Sessions, f.ar.ID); derr != nil {
		h.cfg.Log.Error(derr, "deleting refused auth request")
	}
	h.renderUpstreamProblem(w, f, org, msg, back)
}

// refuseMessage ends the auth request with access_denied and msg.
func (h *Handler) refuseMessage(w http.ResponseWriter, r *http.Request, f *flow, _ brand, msg string) {
	h.signInEnded(r, f, f.ar.UserID, telemetry.MethodUpstream, telemetry.SignInDenied, reasonNotAllowed)
	org, _ := f.org()
	back := h.cfg.ErrorRedirect(r.Context(), f.ar, "access_denied", msg)
	if err := session.FinishAuthRequest(r.Context(), h.cfg.Sessions, f.ar.ID); err != nil {
		h.cfg.Log.Error(err, "deleting refused auth request")
	}
	h.renderUpstreamProblem(w, f, org, msg, back)
}

// renderUpstreamProblem is the organization's error page with msg.
func (h *Handler) renderUpstreamProblem(w http.ResponseWriter, f *flow, org orgView, msg, back string) {
	h.render(w, http.StatusForbidden, "error", pageData{
		Title: "Sign-in not completed", Brand: brandFor(org), AppName: f.appName,
		Message: msg, ContinueURL: template.URL(safeRedirect(back)),
	})
}

func toUpstreamPending(p connector.PendingState) session.UpstreamPending {
	return session.UpstreamPending{
		State: p.State, Nonce: p.Nonce, CodeVerifier: p.CodeVerifier, RedirectURI: p.RedirectURI,
		IdPNamespace: p.IdP.Namespace, IdPName: p.IdP.Name, IdPUID: p.IdP.UID, Issuer: p.Issuer,
	}
}

func fromUpstreamPending(p session.UpstreamPending) connector.PendingState {
	return connector.PendingState{
		State: p.State, Nonce: p.Nonce, CodeVerifier: p.CodeVerifier, RedirectURI: p.RedirectURI,
		IdP:    connector.IdPKey{Namespace: p.IdPNamespace, Name: p.IdPName, UID: p.IdPUID},
		Issuer: p.Issuer,
	}
}

// passwordOffered reports whether the flow's organization allows password
// login.
func (h *Handler) passwordOffered(f *flow) bool {
	org, ok := f.org()
	return !ok || org.Password
}
