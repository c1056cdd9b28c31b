package apiwrite

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/credentials"
	"github.com/orgkeeper/orgkeeper/internal/login"
	"github.com/orgkeeper/orgkeeper/internal/mail"
	"github.com/orgkeeper/orgkeeper/internal/rules"
)

var (
	_ login.LinkTokens     = (*Writer)(nil)
	_ login.ResetRequester = (*Writer)(nil)
)

// tokenKeys are the credential Secret's keys of a link purpose.
func tokenKeys(p login.LinkPurpose) (hashKey, expiresKey string, err error) {
	switch p {
	case login.LinkInvitation:
		return credentials.InvitationHashKey, credentials.InvitationExpiresKey, nil
	case login.LinkReset:
		return credentials.ResetHashKey, credentials.ResetExpiresKey, nil
	}
	return "", "", fmt.Errorf("apiwrite: unknown link purpose %q", p)
}

// credentialKey is where the user's credential Secret is.
func (w *Writer) credentialKey(userID string) types.NamespacedName {
	return types.NamespacedName{Namespace: w.opts.SystemNamespace, Name: credentials.SecretName(userID)}
}

// tokenState decides a presented token against a credential Secret:
// nil, login.ErrLinkExpired (only for the right token) or
// login.ErrLinkInvalid. The Secret must be the user's (its labels name the
// user and the organization), so no token opens another user's account.
func (w *Writer) tokenState(s *corev1.Secret, t login.LinkToken) error {
	hashKey, expKey, err := tokenKeys(t.Purpose)
	if err != nil {
		return err
	}
	if s.Labels[credentials.LabelCredentialUser] != t.UserID || s.Labels[credentials.LabelOrganization] != t.Org {
		return login.ErrLinkInvalid
	}
	stored := s.Data[hashKey]
	if len(stored) == 0 || subtle.ConstantTimeCompare([]byte(credentials.TokenHash(t.Token)), stored) != 1 {
		return login.ErrLinkInvalid
	}
	if t.Purpose == login.LinkInvitation && (len(s.Data[credentials.PasswordHashKey]) > 0 || len(s.Data[credentials.InvitationAcceptedKey]) > 0) {
		return login.ErrLinkInvalid
	}
	if !credentials.TokenMatches(string(stored), string(s.Data[expKey]), t.Token, w.opts.Now()) {
		return login.ErrLinkExpired
	}
	return nil
}

// CheckLinkToken checks a token against the credential Secret in the
// cache, and, when the cache says no, against the API server: a link
// mailed a moment ago may be opened before this replica's cache has its
// hash. The link pages limit how often a client may ask.
func (w *Writer) CheckLinkToken(ctx context.Context, t login.LinkToken) error {
	ctx, cancel := context.WithTimeout(ctx, w.opts.WriteTimeout)
	defer cancel()
	s := &corev1.Secret{}
	err := w.opts.Client.Get(ctx, w.credentialKey(t.UserID), s)
	if err == nil {
		if state := w.tokenState(s, t); !errors.Is(state, login.ErrLinkInvalid) {
			return state
		}
	} else if !apierrors.IsNotFound(err) {
		return err
	}
	if err := w.opts.Reader.Get(ctx, w.credentialKey(t.UserID), s); err != nil {
		if apierrors.IsNotFound(err) {
			return login.ErrLinkInvalid
		}
		return err
	}
	return w.tokenState(s, t)
}

// RedeemLinkToken sets the password and deletes the token in one write
// with optimistic concurrency, read from the API server: of two
// concurrent redemptions (two tabs, two replicas) one writes and the
// other finds the token gone. A reset then ends the user's sessions.
func (w *Writer) RedeemLinkToken(ctx context.Context, t login.LinkToken, passwordHash string) error {
	ctx, cancel := context.WithTimeout(ctx, w.opts.WriteTimeout)
	defer cancel()
	hashKey, expKey, err := tokenKeys(t.Purpose)
	if err != nil {
		return err
	}
	if passwordHash == "" {
		return errors.New("apiwrite: redeeming a link needs the new password's hash")
	}
	now := w.opts.Now()
	err = retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		s := &corev1.Secret{}
		if err := w.opts.Reader.Get(ctx, w.credentialKey(t.UserID), s); err != nil {
			if apierrors.IsNotFound(err) {
				return login.ErrLinkInvalid
			}
			return err
		}
		if err := w.tokenState(s, t); err != nil {
			return err
		}
		before := s.DeepCopy()
		s.Data[credentials.PasswordHashKey] = []byte(passwordHash)
		delete(s.Data, hashKey)
		delete(s.Data, expKey)
		if t.Purpose == login.LinkInvitation {
			s.Data[credentials.InvitationAcceptedKey] = []byte(credentials.FormatTime(now))
		}
		return w.opts.Client.Patch(ctx, s, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
	})
	if err != nil {
		w.count("link_"+string(t.Purpose), err)
		return err
	}
	if t.Purpose == login.LinkReset {
		if err := w.revokeSessions(ctx, t, now); err != nil {
			w.count("link_"+string(t.Purpose), err)
			return fmt.Errorf("apiwrite: the password was reset but ending the sessions of %s/%s failed: %w", t.Org, t.UserName, err)
		}
	}
	w.results.WithLabelValues("link_"+string(t.Purpose), ResultWritten).Inc()
	return nil
}

// count records a failed synchronous write in the metric; the errors the
// pages expect are not failures of the write path.
func (w *Writer) count(kind string, err error) {
	if errors.Is(err, login.ErrLinkInvalid) || errors.Is(err, login.ErrLinkExpired) {
		w.results.WithLabelValues(kind, ResultUnchanged).Inc()
		return
	}
	w.results.WithLabelValues(kind, ResultFailed).Inc()
}

// revokeSessions moves the user's status.sessionsRevokedAt to now (never
// back): every sign-in session and refresh token that authenticated before
// the reset is refused from then on.
func (w *Writer) revokeSessions(ctx context.Context, t login.LinkToken, now time.Time) error {
	at := metav1.NewTime(rules.SessionsRevokedAt(now))
	return retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		u := &iamv1.OrgUser{}
		if err := w.opts.Reader.Get(ctx, types.NamespacedName{Namespace: t.Org, Name: t.UserName}, u); err != nil {
			return err
		}
		if string(u.UID) != t.UserID {
			return fmt.Errorf("%w: %s in %s was recreated", errNoMatch, t.UserName, t.Org)
		}
		if u.Status.SessionsRevokedAt != nil && !u.Status.SessionsRevokedAt.Before(&at) {
			return nil
		}
		before := u.DeepCopy()
		u.Status.SessionsRevokedAt = &at
		return w.opts.Client.Status().Patch(ctx, u, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
	})
}

// RequestPasswordReset queues the reset: the token's hash into the
// credential Secret, then the message into the outbox, named after the
// token so that a retry of this write creates it once. A newer reset
// replaces the hash of an older one, whose link then stops working.
func (w *Writer) RequestPasswordReset(_ context.Context, r login.ResetRequest) error {
	return w.submit(op{
		kind:   "password_reset",
		target: r.Org + "/" + r.UserName,
		apply: func(ctx context.Context, c client.Client, rd client.Reader) (bool, error) {
			return w.applyReset(ctx, c, rd, r)
		},
	})
}

func (w *Writer) applyReset(ctx context.Context, c client.Client, rd client.Reader, r login.ResetRequest) (bool, error) {
	u := &iamv1.OrgUser{}
	if err := rd.Get(ctx, types.NamespacedName{Namespace: r.Org, Name: r.UserName}, u); err != nil {
		return false, err
	}
	if string(u.UID) != r.UserID {
		return false, fmt.Errorf("%w: %s in %s was recreated", errNoMatch, r.UserName, r.Org)
	}
	changed := false
	key := w.credentialKey(r.UserID)
	s := &corev1.Secret{}
	err := rd.Get(ctx, key, s)
	switch {
	case apierrors.IsNotFound(err):
		s = &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: key.Name, Namespace: key.Namespace,
				Labels: credentials.SecretLabels(u.Namespace, u.Name, string(u.UID))},
			Type: corev1.SecretTypeOpaque,
			Data: map[string][]byte{credentials.ResetHashKey: []byte(r.TokenHash),
				credentials.ResetExpiresKey: []byte(credentials.FormatTime(r.ExpiresAt))},
		}
		if err := c.Create(ctx, s); err != nil {
			return false, err
		}
		changed = true
	case err != nil:
		return false, err
	case string(s.Data[credentials.ResetHashKey]) != r.TokenHash:
		before := s.DeepCopy()
		if s.Data == nil {
			s.Data = map[string][]byte{}
		}
		s.Data[credentials.ResetHashKey] = []byte(r.TokenHash)
		s.Data[credentials.ResetExpiresKey] = []byte(credentials.FormatTime(r.ExpiresAt))
		if err := c.Patch(ctx, s, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
			return false, err
		}
		changed = true
	}
	kind := mail.KindPasswordReset
	if r.AccountExists {
		kind = mail.KindAccountExists
	}
	m := &mail.Message{
		ID: mail.MessageID(string(kind), r.UserID, r.TokenHash), Kind: kind,
		Organization: r.Org, To: r.Email, ToName: r.DisplayName, Link: r.Link, AppName: r.AppName,
		ExpiresAt: r.ExpiresAt, CreatedAt: w.opts.Now().UTC().Truncate(time.Second),
	}
	out, err := mail.OutboxSecret(w.opts.SystemNamespace, m)
	if err != nil {
		return changed, fmt.Errorf("%w: %v", errNoMatch, err) // permanent: the message itself is unusable
	}
	if err := c.Create(ctx, out); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return changed, nil
		}
		return changed, err
	}
	return true, nil
}
