package apiwrite

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/credentials"
	"github.com/orgkeeper/orgkeeper/internal/login"
)

var _ login.InvitationAcceptor = (*Writer)(nil)

// AcceptInvitation accepts an invitation through an identity provider.
// The decision is one write: the credential Secret, read from the API
// server, must hold the open invitation whose token hashes to a.TokenHash,
// and gets the acceptance and the identity with optimistic concurrency. Of
// two concurrent acceptances (two tabs, a password and a provider, two
// replicas) one writes and the other finds the invitation accepted. The
// identity is then added to the OrgUser's status; if that second write
// fails, the operator adds it from the Secret (ErrInvitationLinkPending);
// if it succeeds, the Secret's copy of the identity is removed.
func (w *Writer) AcceptInvitation(ctx context.Context, a login.InvitationAcceptance) error {
	ctx, cancel := context.WithTimeout(ctx, w.opts.WriteTimeout)
	defer cancel()
	if a.TokenHash == "" || a.IdentityProvider == "" || a.Subject == "" || a.UserID == "" {
		return errors.New("apiwrite: accepting an invitation needs the token's hash, the user and the identity")
	}
	fi := iamv1.FederatedIdentity{IdentityProvider: a.IdentityProvider, Organization: a.IdentityProviderOrg, Subject: a.Subject}
	raw, err := json.Marshal(fi)
	if err != nil {
		return err
	}
	user := types.NamespacedName{Namespace: a.Org, Name: a.UserName}
	now := w.opts.Now()
	err = retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		// The user must still be the invited one, with no way to sign in:
		// an identity linked meanwhile (say by an administrator) ends the
		// invitation as a password does.
		u := &iamv1.OrgUser{}
		if err := w.opts.Reader.Get(ctx, user, u); err != nil {
			if apierrors.IsNotFound(err) {
				return login.ErrLinkInvalid
			}
			return err
		}
		if string(u.UID) != a.UserID || u.Status.PasswordSet || len(u.Status.FederatedIdentities) > 0 {
			return login.ErrLinkInvalid
		}
		s := &corev1.Secret{}
		if err := w.opts.Reader.Get(ctx, w.credentialKey(a.UserID), s); err != nil {
			if apierrors.IsNotFound(err) {
				return login.ErrLinkInvalid
			}
			return err
		}
		if err := w.invitationHashState(s, a.Org, a.UserID, a.TokenHash, now); err != nil {
			return err
		}
		before := s.DeepCopy()
		s.Data[credentials.InvitationAcceptedKey] = []byte(credentials.FormatTime(now))
		s.Data[credentials.InvitationIdentityKey] = raw
		return w.opts.Client.Patch(ctx, s, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
	})
	if err != nil {
		w.count("invitation_upstream", err)
		return err
	}
	err = retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		u := &iamv1.OrgUser{}
		if err := w.opts.Reader.Get(ctx, user, u); err != nil {
			return err
		}
		if string(u.UID) != a.UserID {
			return fmt.Errorf("%w: %s in %s was recreated", errNoMatch, a.UserName, a.Org)
		}
		return w.addIdentity(ctx, u, fi)
	})
	if err != nil {
		w.results.WithLabelValues("invitation_upstream", ResultFailed).Inc()
		return fmt.Errorf("%w: %s/%s: %v", login.ErrInvitationLinkPending, a.Org, a.UserName, err)
	}
	w.results.WithLabelValues("invitation_upstream", ResultWritten).Inc()
	// The identity is on the user: the Secret's copy has done its job.
	// Left there (this write failing is harmless), the operator would put
	// the identity back if someone removed it from the status later.
	if err := w.forgetAcceptedIdentity(ctx, a.UserID); err != nil {
		w.opts.Log.Error(err, "removing the linked identity from an accepted invitation's credential Secret", "org", a.Org, "user", a.UserName)
	}
	return nil
}

// forgetAcceptedIdentity removes InvitationIdentityKey from the user's
// credential Secret; the acceptance itself stays.
func (w *Writer) forgetAcceptedIdentity(ctx context.Context, userID string) error {
	return retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		s := &corev1.Secret{}
		if err := w.opts.Reader.Get(ctx, w.credentialKey(userID), s); err != nil {
			return client.IgnoreNotFound(err)
		}
		if _, ok := s.Data[credentials.InvitationIdentityKey]; !ok {
			return nil
		}
		before := s.DeepCopy()
		delete(s.Data, credentials.InvitationIdentityKey)
		return w.opts.Client.Patch(ctx, s, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
	})
}

// invitationHashState decides an invitation's token, given as its hash,
// against the user's credential Secret, as tokenState does for a token.
func (w *Writer) invitationHashState(s *corev1.Secret, org, userID, hash string, now time.Time) error {
	if s.Labels[credentials.LabelCredentialUser] != userID || s.Labels[credentials.LabelOrganization] != org {
		return login.ErrLinkInvalid
	}
	stored := s.Data[credentials.InvitationHashKey]
	if len(stored) == 0 || subtle.ConstantTimeCompare([]byte(hash), stored) != 1 {
		return login.ErrLinkInvalid
	}
	if len(s.Data[credentials.PasswordHashKey]) > 0 || len(s.Data[credentials.InvitationAcceptedKey]) > 0 {
		return login.ErrLinkInvalid
	}
	exp, err := time.Parse(time.RFC3339, string(s.Data[credentials.InvitationExpiresKey]))
	if err != nil || !now.Before(exp) {
		return login.ErrLinkExpired
	}
	return nil
}
