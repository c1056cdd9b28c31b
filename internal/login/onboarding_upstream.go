package login

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"

	"github.com/orgkeeper/orgkeeper/internal/connector"
	"github.com/orgkeeper/orgkeeper/internal/credentials"
	"github.com/orgkeeper/orgkeeper/internal/rules"
	"github.com/orgkeeper/orgkeeper/internal/session"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
)

// Accepting an invitation through one of the organization's identity
// providers. The invitation's page offers a button per provider the
// organization's login page offers (orgProviders: one rule for both). A
// button starts the provider's sign-in as the login page does (state,
// nonce and PKCE from the connector), but there is no auth request: the
// pending state is kept in a record of its own in the session store, with
// the invitation it accepts (organization, user, user ID and the token's
// hash, never the token) and the hash of a fresh secret that only this
// browser holds, in its own cookie. The provider's fixed callback finds
// the record from the upstream cookie (prefixed so that it is not taken
// for an auth request), requires the browser's secret, takes the pending
// state out atomically (single use), verifies the provider's answer, and
// then decides the rules below before one write of the server's write path
// accepts the invitation and links the identity.
//
// The rules (invitationIdentityProblem), in order:
//   - the provider must send an email address, equal to the invited one
//     (case-insensitively), and vouch that it is verified. Only the
//     provider that the address's domain routes to may vouch for it
//     (vouchedIdentity, the rule of every federated sign-in), so another
//     provider of the organization cannot accept a colleague's invitation
//     with the colleague's address. The invitation itself proved that the
//     person reads the invited address; the rule proves that the upstream
//     account is theirs too. The domain need not be one of the
//     organization's verified domains: the administrator chose the address.
//   - the upstream account must not be linked to another user of the
//     organization already: one person, one user.
//
// A refusal changes nothing, and the invitation stays open: the person can
// set a password instead, or try another account.

// Routes and names of the invitation's upstream sign-in.
const (
	// PathInvitationUpstream receives the invitation page's provider
	// buttons (org, token, idp and the form's CSRF token).
	PathInvitationUpstream = "/login/invitation/idp"
	// InvitationRecordClientID is the ClientID of the session store's
	// record of an invitation's upstream sign-in. No application can have
	// it (a client ID is an object name, or an organization and an object
	// name joined by '/'), so the record can never be taken for an
	// authorization request, nor yield a code.
	InvitationRecordClientID = "orgkeeper:invitation"
	// InvitationBindingCookie holds the secret that binds the record to
	// the browser that pressed the button. It is not the auth requests'
	// binding cookie, which a sign-in in another tab needs intact.
	InvitationBindingCookie = "orgkeeper_invitation"
	// invitationRecordPrefix marks the upstream cookie's value as an
	// invitation record's ID.
	invitationRecordPrefix = "invitation."
)

// InvitationBindingCookieName is the invitation binding cookie's name on
// an https (secure) or plain-http issuer.
func InvitationBindingCookieName(secure bool) string {
	return cookieName(InvitationBindingCookie, secure)
}

// InvitationAcceptance accepts an invitation with an upstream identity.
type InvitationAcceptance struct {
	// Org is the invited user's organization (its namespace); UserName the
	// OrgUser's name and UserID its metadata.uid.
	Org, UserName, UserID string
	// TokenHash is credentials.TokenHash of the invitation's token.
	TokenHash string
	// IdentityProvider is the provider's name; IdentityProviderOrg the
	// ancestor organization that owns it when inherited, else "".
	IdentityProvider, IdentityProviderOrg string
	// Subject is the person's subject at the provider.
	Subject string
}

// ErrInvitationLinkPending means the invitation was accepted, but the
// identity is not yet on the user: the operator completes it from the
// acceptance on its own, so the person only has to wait.
var ErrInvitationLinkPending = errors.New("the invitation is accepted; the identity is being linked")

// InvitationAcceptor accepts invitations through identity providers
// (internal/apiwrite implements it).
type InvitationAcceptor interface {
	// AcceptInvitation checks the token's hash against the open invitation
	// of the user and, in one write, marks the invitation accepted with
	// the identity, so that it works once; the identity is then linked to
	// the user. It returns ErrLinkInvalid (used, replaced, the user has a
	// password or an identity already), ErrLinkExpired,
	// ErrInvitationLinkPending, or another error when it cannot tell.
	AcceptInvitation(ctx context.Context, a InvitationAcceptance) error
}

// Problems of the invitation's upstream sign-in.
const (
	problemInvitationSignInGone problem = 300 + iota
)

func init() {
	problems[problemInvitationSignInGone] = problemText{http.StatusBadRequest, "This sign-in has ended",
		"This answer from the identity provider does not belong to a sign-in in progress in this browser: it was already used, or it took too long. Nothing was changed.",
		"Open the link in your invitation again, and choose your identity provider there."}
}

// Messages of refusals after the provider's sign-in.
const (
	msgInvitationNoEmail    = "%s did not send your email address, so your account there cannot be matched with this invitation. Nothing was changed: you can set a password instead."
	msgInvitationOtherEmail = "You signed in at %s as %s, but this invitation is for %s. Nothing was changed: sign in there with the invited address, or set a password instead."
	msgInvitationUnverified = "%s did not confirm that %s is a verified address of yours, so it cannot accept this invitation. Nothing was changed: you can set a password instead, or ask your administrator."
	msgInvitationLinked     = "Your account at %s is already connected to another user of this organization. Nothing was changed: sign in with that user, or ask your administrator."
	msgInvitationPending    = "Your invitation is accepted. Your account is being prepared; you can sign in in a minute."
)

// invitationProviders are the provider buttons of an invitation's page:
// those the organization's login page offers, when acceptance through a
// provider is on.
func (h *Handler) invitationProviders(lf *linkFlow) []providerButton {
	if lf.purpose != LinkInvitation || h.cfg.Onboarding.Acceptor == nil {
		return nil
	}
	return buttonsFor(h.orgProviders(lf.dir.s, lf.org.Name))
}

// idpName is the provider's name for people.
func idpName(idp *snapshot.IdentityProvider) string {
	if idp == nil {
		return "the identity provider"
	}
	if idp.DisplayName != "" {
		return idp.DisplayName
	}
	return idp.Name
}

// postInvitationUpstream is POST /login/invitation/idp: a provider's button
// on the invitation's page.
func (h *Handler) postInvitationUpstream(w http.ResponseWriter, r *http.Request) {
	lf, ok := h.postedLink(w, r, LinkInvitation)
	if !ok {
		return
	}
	b := brandFor(lf.org)
	if h.cfg.Onboarding.Acceptor == nil {
		h.renderProblem(w, problemOnboardingOff, b, "", "")
		return
	}
	var idp *snapshot.IdentityProvider
	name := r.PostFormValue("idp")
	for _, p := range h.orgProviders(lf.dir.s, lf.org.Name) {
		if p.Name == name {
			idp = p
		}
	}
	if idp == nil {
		// Not a provider this organization offers: a crafted form.
		h.renderProblem(w, problemNoMethod, b, "", "")
		return
	}
	target, pending, err := h.beginAt(r.Context(), idp, lf.acct.Email)
	if err != nil {
		h.cfg.Log.Error(err, "starting an invitation's sign-in at an upstream identity provider", "org", lf.org.Name, "idp", idp.Namespace+"/"+idp.Name)
		h.renderInvitationProblem(w, lf.org, connector.UserMessage(err, idpName(idp)))
		return
	}
	secret, err := session.NewSecret(rand.Reader)
	if err != nil {
		h.storeError(w, err, "making an invitation's browser secret")
		return
	}
	rec, err := h.cfg.Sessions.CreateAuthRequest(r.Context(), session.AuthRequest{
		ClientID:       InvitationRecordClientID,
		BrowserBinding: session.HashSecret(secret),
		Upstream:       toUpstreamPending(pending),
		Invitation: session.InvitationPending{Org: lf.org.Name, UserName: lf.acct.Name, UserID: lf.acct.ID,
			TokenHash: credentials.TokenHash(lf.token)},
	})
	if err != nil {
		h.storeError(w, err, "keeping an invitation's upstream sign-in")
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: InvitationBindingCookieName(h.secure), Value: secret, Path: "/",
		HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode,
	})
	h.redirectToProvider(w, r, invitationRecordPrefix+rec.ID, target)
}

// invitationCallback is the provider's callback of a sign-in begun on an
// invitation's page; id is the record's ID from the upstream cookie.
func (h *Handler) invitationCallback(w http.ResponseWriter, r *http.Request, id string) {
	ctx := r.Context()
	rec, err := h.cfg.Sessions.GetAuthRequest(ctx, id)
	if err != nil || rec.ClientID != InvitationRecordClientID || rec.Invitation.UserID == "" {
		if err != nil && !errors.Is(err, session.ErrNotFound) {
			h.storeError(w, err, "reading an invitation's upstream sign-in")
			return
		}
		h.renderProblem(w, problemInvitationSignInGone, neutralBrand(), "", "")
		return
	}
	// Only the browser that pressed the button may finish: the record's
	// ID travels in a cookie, but the callback URL (with the code) may be
	// sent to anyone. The record is left for that browser.
	if c, err := r.Cookie(InvitationBindingCookieName(h.secure)); err != nil || !session.MatchSecret(c.Value, rec.BrowserBinding) {
		h.WrongBrowser(w, r)
		return
	}
	// Single use: the pending state leaves the record before it is
	// believed; a replayed or concurrent callback finds none.
	var pending session.UpstreamPending
	_, err = h.cfg.Sessions.UpdateAuthRequest(ctx, id, func(a *session.AuthRequest) error {
		pending = a.Upstream
		a.Upstream = session.UpstreamPending{}
		return nil
	})
	if err != nil {
		if errors.Is(err, session.ErrNotFound) {
			h.renderProblem(w, problemInvitationSignInGone, neutralBrand(), "", "")
			return
		}
		h.storeError(w, err, "taking an invitation's upstream sign-in")
		return
	}
	if pending.State == "" {
		h.renderProblem(w, problemInvitationSignInGone, neutralBrand(), "", "")
		return
	}
	if err := h.cfg.Sessions.DeleteAuthRequest(ctx, id); err != nil {
		h.cfg.Log.Error(err, "deleting an invitation's upstream sign-in")
	}
	// The browser's secret has served its one purpose.
	http.SetCookie(w, &http.Cookie{Name: InvitationBindingCookieName(h.secure), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode})
	h.acceptWithProvider(w, r, rec.Invitation, pending)
}

// acceptWithProvider finishes the provider's sign-in and accepts the
// invitation with the identity, within the invitation's organization only.
func (h *Handler) acceptWithProvider(w http.ResponseWriter, r *http.Request, inv session.InvitationPending, pending session.UpstreamPending) {
	ctx := r.Context()
	dir := directory{h.cfg.Snapshots.Load()}
	if !dir.ready() {
		h.renderProblem(w, problemUnavailable, neutralBrand(), "", "")
		return
	}
	org, ok := dir.org(inv.Org)
	if !ok {
		h.renderProblem(w, problemLinkInvalid, neutralBrand(), "", "")
		return
	}
	b := brandFor(org)
	if org.Suspended {
		h.renderProblem(w, problemSuspended, b, "", "")
		return
	}
	// The user as the snapshot serves it now: still the invited one, and
	// still without a way to sign in.
	acct, ok := dir.account(org.Name, inv.UserID)
	if !ok || acct.Name != inv.UserName || acct.HasPassword || acct.Federated {
		h.renderProblem(w, problemLinkInvalid, b, "", "")
		return
	}
	if acct.Disabled {
		h.renderProblem(w, problemDisabled, b, "", "")
		return
	}
	// The provider must still be one this organization offers, resolved
	// from the invitation's organization, never from the callback.
	var idp *snapshot.IdentityProvider
	for _, p := range h.orgProviders(dir.s, org.Name) {
		if p.Name == pending.IdPName && p.Namespace == pending.IdPNamespace && string(p.UID) == pending.IdPUID {
			idp = p
		}
	}
	if idp == nil {
		h.renderInvitationProblem(w, org, connector.UserMessage(connector.ErrWrongProvider, "the identity provider"))
		return
	}
	conn, err := h.cfg.Connectors.Connector(idp)
	var id connector.Identity
	if err == nil {
		id, err = conn.Finish(ctx, fromUpstreamPending(pending), r)
	}
	if err != nil {
		h.cfg.Log.Info("an invitation's sign-in at an upstream identity provider failed", "org", org.Name, "idp", idp.Namespace+"/"+idp.Name, "error", err.Error())
		h.renderInvitationProblem(w, org, connector.UserMessage(err, idpName(idp))+" Your invitation is still open.")
		return
	}
	id = vouchedIdentity(dir.s, org.Name, idp, id)
	linked := dir.s.UserByFederatedIdentity(org.Name, idp, id.Subject)
	if msg := invitationIdentityProblem(acct, id, linked, idpName(idp)); msg != "" {
		h.renderInvitationProblem(w, org, msg)
		return
	}
	a := InvitationAcceptance{Org: org.Name, UserName: acct.Name, UserID: acct.ID, TokenHash: inv.TokenHash,
		IdentityProvider: idp.Name, Subject: id.Subject}
	if idp.Org != nil && idp.Org.Name != org.Name {
		a.IdentityProviderOrg = idp.Org.Name
	}
	err = h.cfg.Onboarding.Acceptor.AcceptInvitation(ctx, a)
	if errors.Is(err, ErrInvitationLinkPending) {
		h.cfg.Log.Error(err, "linking the identity of an accepted invitation", "org", org.Name, "user", acct.Name)
		h.render(w, http.StatusAccepted, "notice", pageData{Brand: b, Title: "Your account is almost ready", Message: msgInvitationPending})
		return
	}
	if !h.linkError(w, b, err) {
		return
	}
	h.renderAccountReady(w, org, acct.Email, idpName(idp))
}

// invitationIdentityProblem is the refusal of an identity that would
// accept the invitation of acct (see the rules above), or "": id is what
// the provider (called name) asserted, its email_verified already taken
// back unless the provider may vouch for the address (vouchedIdentity);
// linked is the organization's user already linked to it, if any.
func invitationIdentityProblem(acct accountView, id connector.Identity, linked *snapshot.User, name string) string {
	switch {
	case linked != nil && linked.ID != acct.ID:
		return fmt.Sprintf(msgInvitationLinked, name)
	case id.Email == "":
		return fmt.Sprintf(msgInvitationNoEmail, name)
	case !rules.SameEmail(id.Email, acct.Email):
		return fmt.Sprintf(msgInvitationOtherEmail, name, id.Email, acct.Email)
	case !id.EmailVerified:
		return fmt.Sprintf(msgInvitationUnverified, name, id.Email)
	}
	return ""
}

// renderInvitationProblem is the organization's page for an invitation
// that a provider's sign-in did not accept.
func (h *Handler) renderInvitationProblem(w http.ResponseWriter, org orgView, msg string) {
	h.render(w, http.StatusForbidden, "error", pageData{
		Title: "Invitation not accepted", Brand: brandFor(org), Message: msg,
		Action: "To try again, open the link in your invitation.",
	})
}

// renderAccountReady is where an accepted invitation lands, whichever way
// it was accepted: the account is ready, and how to sign in. via names the
// identity provider it was accepted with ("" for a password).
func (h *Handler) renderAccountReady(w http.ResponseWriter, org orgView, email, via string) {
	d := pageData{Brand: brandFor(org), Title: "Your account is ready"}
	if via == "" {
		d.Message = "Your password is set. You can now sign in as " + email + " with it."
		d.Action = "Go back to the application you were invited to and sign in with your email address and the new password."
	} else {
		d.Message = "Your account is connected to " + via + ". You can now sign in as " + email + " through " + via + "."
		d.Action = "Go back to the application you were invited to, sign in, and choose " + via + " (or type your email address)."
	}
	h.render(w, http.StatusOK, "notice", d)
}
