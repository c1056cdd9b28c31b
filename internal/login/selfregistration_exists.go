package login

import (
	"context"
	"strings"

	"github.com/orgkeeper/orgkeeper/internal/credentials"
	"github.com/orgkeeper/orgkeeper/internal/mail"
)

// mailAccountExists answers a self-registration with the address of an
// account that exists: instead of a confirmation link (which would make a
// second account, or nothing), the address gets a message saying it has an
// account, with a password-reset link for a person who forgot how they
// sign in. The page is the one a new address sees, and the mail is counted
// by the same limits (the caller counted them), so the form still tells
// nobody which addresses have accounts. The write is queued, as a new
// address's registration is, so the answer takes the same time.
//
// Nothing is sent for a disabled account (no way to sign in to point to),
// nor for an account found by a username that equals the address typed:
// only the account's own address may receive it.
func (h *Handler) mailAccountExists(ctx context.Context, f *flow, org orgView, acct accountView, email string) {
	if acct.Disabled || !strings.EqualFold(acct.Email, email) {
		return
	}
	ttl := h.cfg.Onboarding.ResetTTL
	if ttl <= 0 {
		ttl = DefaultResetTTL
	}
	token, tokenHash := credentials.NewToken(acct.ID)
	req := ResetRequest{
		Org: org.Name, UserName: acct.Name, UserID: acct.ID,
		Email: acct.Email, DisplayName: acct.DisplayName, AppName: f.appName, AccountExists: true,
		Link:      mail.Link(h.cfg.Issuer, PathResetConfirm, org.Name, token),
		TokenHash: tokenHash, ExpiresAt: h.cfg.Now().Add(ttl),
	}
	if err := h.cfg.Onboarding.Resets.RequestPasswordReset(ctx, req); err != nil {
		h.cfg.Log.Error(err, "queueing an account-exists mail", "org", org.Name, "user", acct.ID)
	}
}
