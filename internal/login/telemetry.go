package login

import (
	"context"
	"errors"
	"net/http"
	"slices"

	"github.com/orgkeeper/orgkeeper/internal/audit"
	"github.com/orgkeeper/orgkeeper/internal/connector"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
	"github.com/orgkeeper/orgkeeper/internal/telemetry"
)

// Audit reasons of sign-ins that the login pages end (the audit line's
// reason field; the metric's result is coarser).
const (
	reasonWrongPassword = "invalid_credentials"
	reasonUnknownUser   = "unknown_user"
	reasonLocked        = "locked"
	reasonDisabled      = "disabled"
	reasonNotShared     = "not_shared"
	reasonMFARequired   = "mfa_required"
	reasonNotAllowed    = "not_allowed" // the upstream identity may not sign in (policy, provisioning)
)

// signInEnded records the end of a sign-in of f: the metric and the audit
// line. userID is "" when no account is known: what was typed is never
// recorded.
func (h *Handler) signInEnded(r *http.Request, f *flow, userID, method, result, reason string) {
	h.cfg.Metrics.SignIn(f.ar.Organization, method, result)
	e := audit.Event{Event: audit.EventSignIn, Organization: f.ar.Organization, Client: f.ar.ClientID,
		UserID: userID, Method: method, Result: audit.ResultFailure, Reason: reason}
	if result == telemetry.SignInSuccess {
		e.Result, e.Reason = audit.ResultSuccess, ""
	}
	h.cfg.Audit.Record(r.Context(), e)
}

// signInRefused is signInEnded for a sign-in that the policy refused after
// or before its method (the method is what the auth request recorded).
func (h *Handler) signInRefused(r *http.Request, f *flow, reason string) {
	h.signInEnded(r, f, f.ar.UserID, methodOf(f.ar.AMR, false), telemetry.SignInDenied, reason)
}

// lockedOut records a lock of an account (userID, "" for an unknown
// account, which locks all the same) or of the client's address.
func (h *Handler) lockedOut(ctx context.Context, f *flow, userID, scope string) {
	if scope == telemetry.LockoutAddress {
		userID = "" // the address is locked, not the account whose guess it was
	}
	h.cfg.Metrics.Lockout(f.ar.Organization, scope)
	h.cfg.Audit.Record(ctx, audit.Event{Event: audit.EventLockout, Organization: f.ar.Organization,
		Client: f.ar.ClientID, UserID: userID, Reason: scope})
}

// methodOf names how a sign-in was made, from its amr and whether the
// browser's login session made it.
func methodOf(amr []string, sso bool) string {
	switch {
	case sso:
		return telemetry.MethodSSO
	case slices.Contains(amr, amrFederated):
		return telemetry.MethodUpstream
	case slices.Contains(amr, amrPassword):
		return telemetry.MethodPassword
	}
	return ""
}

// wrongCredentialsReason tells a wrong password from an unknown account,
// for the audit line only (the page says the same for both).
func wrongCredentialsReason(known bool) string {
	if known {
		return reasonWrongPassword
	}
	return reasonUnknownUser
}

// upstreamFailed records a sign-in at idp that failed with err (a
// connector.Error; anything else is counted as its own reason).
func (h *Handler) upstreamFailed(r *http.Request, f *flow, idp *snapshot.IdentityProvider, err error) {
	reason := "Internal"
	var ce *connector.Error
	if errors.As(err, &ce) {
		reason = string(ce.Reason)
	}
	provider := ""
	if idp != nil {
		provider = idp.Namespace + "/" + idp.Name
	}
	h.cfg.Metrics.UpstreamError(provider, reason)
	h.signInEnded(r, f, "", telemetry.MethodUpstream, telemetry.SignInUpstreamError, reason)
}

// federated records that an upstream identity was linked to an account or
// provisioned one (just in time). A profile sync is not a security event.
func (h *Handler) federated(r *http.Request, f *flow, idp *snapshot.IdentityProvider, action ProvisionAction, userID string) {
	event := audit.EventFederationLink
	switch action {
	case ProvisionCreate:
		event = audit.EventFederationCreate
	case ProvisionLink:
	default:
		return
	}
	h.cfg.Audit.Record(r.Context(), audit.Event{Event: event, Organization: f.ar.Organization, Client: f.ar.ClientID,
		UserID: userID, Provider: idp.Namespace + "/" + idp.Name, Result: audit.ResultSuccess})
}
