package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/credentials"
	"github.com/orgkeeper/orgkeeper/internal/mail"
)

// DefaultInvitationTTL is how long an invitation link works unless
// --invitation-ttl says otherwise.
const DefaultInvitationTTL = 72 * time.Hour

// Invitations configure the invitations the OrgUser reconciler sends.
type Invitations struct {
	// IssuerURL is where the links point (<issuer>/login/invitation).
	// Empty means invitations are not sent (no OIDC server).
	IssuerURL string
	// MailEnabled is true when outgoing mail is configured; without it no
	// invitation is queued, and the user's status says so.
	MailEnabled bool
	// TTL is how long a link works; zero means DefaultInvitationTTL.
	TTL time.Duration
}

func (i Invitations) ttl() time.Duration {
	if i.TTL <= 0 {
		return DefaultInvitationTTL
	}
	return i.TTL
}

// maxResendRound bounds the resend annotation's value, which is stored in
// the credential Secret and hashed into the message ID.
const maxResendRound = 63

// invitationMessageID is the idempotency key of the invitation of round
// (the resend annotation's value) for the user with uid: every pass that
// tries to send it names the same outbox Secret.
func invitationMessageID(uid types.UID, round string) string {
	return mail.MessageID(string(mail.KindInvitation), string(uid), round)
}

// ensureInvitation sends the user an invitation when spec.invitation.send
// asks for one and the user has no way to sign in yet.
//
// An invitation is issued in two writes, in this order: the token's hash,
// expiry and round go into the credential Secret, then the message (with
// the token) goes into the outbox under a name derived from the user and
// the round. A crash between the two leaves a hash whose token nobody has:
// the next pass sees that the round has no outbox message and issues a
// fresh token, so no link is lost and none is mailed twice. Once the
// message exists (or status.invitation records this very issue), the round
// is done; a new round starts only when the resend annotation changes.
func (r *OrgUserReconciler) ensureInvitation(ctx context.Context, user *iamv1.OrgUser, out *userOutcome) error {
	inv := user.Spec.Invitation
	if inv == nil || !inv.Send || user.Status.PasswordSet || len(user.Status.FederatedIdentities) > 0 {
		return nil
	}
	switch {
	case user.Spec.Disabled:
		out.invitation = failed(iamv1.ReasonInvitationBlocked, "the user is disabled (spec.disabled), so no invitation is sent")
		return nil
	case out.identifiers.ran && !out.identifiers.ok:
		out.invitation = failed(iamv1.ReasonInvitationBlocked, "no invitation is sent while the user's email or username is not its own in the organization: %s", out.identifiers.message)
		return nil
	case !r.Invitations.MailEnabled:
		out.invitation = failed(iamv1.ReasonMailNotConfigured,
			"invitations cannot be sent: the operator has no outgoing mail configured (--smtp-host); the invitation is sent once it is")
		return nil
	case r.Invitations.IssuerURL == "":
		out.invitation = failed(iamv1.ReasonMailNotConfigured,
			"invitations cannot be sent: the operator serves no sign-in pages for the link to lead to (--issuer-url); the invitation is sent once it does")
		return nil
	}
	round := user.Annotations[iamv1.AnnotationResendInvitation]
	if len(round) > maxResendRound {
		out.invitation = failed(iamv1.ReasonInvalidSpec, "the annotation %s is longer than %d characters; use a short value such as a timestamp",
			iamv1.AnnotationResendInvitation, maxResendRound)
		return nil
	}

	key := types.NamespacedName{Namespace: r.SystemNamespace, Name: credentials.SecretName(string(user.UID))}
	// The cache answers the common case (a round already issued) without a
	// request. Before a token is issued, the API server confirms that the
	// cache was not behind: a token must not be issued twice for a round.
	for _, reader := range []client.Reader{r.Client, r.APIReader} {
		cred := &corev1.Secret{}
		found, err := getSecret(ctx, reader, key, cred)
		if err != nil {
			return err
		}
		done, err := r.invitationDone(ctx, reader, user, out, cred, found, round)
		if err != nil || done {
			return err
		}
		if reader == r.APIReader {
			return r.issueInvitation(ctx, user, out, cred, found, round)
		}
	}
	return nil
}

// invitationDone reports whether round needs no new token: the user has a
// password or accepted through an identity provider, or round's message
// is queued (or was, as status.invitation records).
func (r *OrgUserReconciler) invitationDone(ctx context.Context, reader client.Reader, user *iamv1.OrgUser, out *userOutcome,
	cred *corev1.Secret, found bool, round string) (bool, error) {
	if !found {
		return false, nil
	}
	if len(cred.Data[credentials.PasswordHashKey]) > 0 {
		// Accepted a moment ago; status has not caught up yet.
		user.Status.PasswordSet = true
		return true, nil
	}
	if string(cred.Data[credentials.InvitationRoundKey]) != round {
		return false, nil
	}
	if len(cred.Data[credentials.InvitationAcceptedKey]) > 0 {
		// Accepted through an identity provider: the acceptance names the
		// identity, which the server links at once; if its status write did
		// not happen, this pass does it.
		var fi iamv1.FederatedIdentity
		if raw := cred.Data[credentials.InvitationIdentityKey]; len(raw) > 0 && json.Unmarshal(raw, &fi) == nil &&
			fi.IdentityProvider != "" && fi.Subject != "" && !slices.Contains(user.Status.FederatedIdentities, fi) {
			user.Status.FederatedIdentities = append(user.Status.FederatedIdentities, fi)
		}
		return true, nil
	}
	issued, _ := time.Parse(time.RFC3339, string(cred.Data[credentials.InvitationIssuedKey]))
	expires, _ := time.Parse(time.RFC3339, string(cred.Data[credentials.InvitationExpiresKey]))
	if len(cred.Data[credentials.InvitationHashKey]) == 0 || issued.IsZero() {
		return false, nil
	}
	done := user.Status.Invitation != nil && user.Status.Invitation.SentAt != nil && user.Status.Invitation.SentAt.Time.Equal(issued)
	if !done {
		name := types.NamespacedName{Namespace: r.SystemNamespace, Name: mail.OutboxName(invitationMessageID(user.UID, round))}
		var err error
		if done, err = getSecret(ctx, reader, name, &corev1.Secret{}); err != nil {
			return false, err
		}
	}
	if done {
		r.recordInvitation(user, out, issued, expires)
	}
	return done, nil
}

// issueInvitation makes a new token for round, stores its hash and queues
// the message.
func (r *OrgUserReconciler) issueInvitation(ctx context.Context, user *iamv1.OrgUser, out *userOutcome, cred *corev1.Secret, found bool, round string) error {
	now := r.now().UTC().Truncate(time.Second)
	expires := now.Add(r.Invitations.ttl())
	token, hash := credentials.NewToken(string(user.UID))
	data := map[string][]byte{
		credentials.InvitationHashKey:    []byte(hash),
		credentials.InvitationExpiresKey: []byte(credentials.FormatTime(expires)),
		credentials.InvitationIssuedKey:  []byte(credentials.FormatTime(now)),
		credentials.InvitationRoundKey:   []byte(round),
	}
	var err error
	if found {
		// Fails on a concurrent change (an acceptance, say): the next pass
		// decides again from the newer Secret.
		patch := client.MergeFromWithOptions(cred.DeepCopy(), client.MergeFromWithOptimisticLock{})
		if cred.Data == nil {
			cred.Data = map[string][]byte{}
		}
		delete(cred.Data, credentials.InvitationAcceptedKey)
		for k, v := range data {
			cred.Data[k] = v
		}
		err = r.Patch(ctx, cred, patch)
	} else {
		cred = &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: credentials.SecretName(string(user.UID)), Namespace: r.SystemNamespace,
				Labels: credentials.SecretLabels(user.Namespace, user.Name, string(user.UID))},
			Type: corev1.SecretTypeOpaque,
			Data: data,
		}
		err = r.Create(ctx, cred)
	}
	if err != nil {
		return fmt.Errorf("storing the invitation in credential secret %s: %w", cred.Name, err)
	}

	msg := &mail.Message{
		ID: invitationMessageID(user.UID, round), Kind: mail.KindInvitation, Organization: user.Namespace,
		To: user.Spec.Email, ToName: personName(user),
		Link:      mail.Link(r.Invitations.IssuerURL, mail.PathInvitation, user.Namespace, token),
		ExpiresAt: expires, CreatedAt: now,
	}
	s, err := mail.OutboxSecret(r.SystemNamespace, msg)
	if err != nil {
		out.invitation = failed(iamv1.ReasonInvitationBlocked, "the invitation cannot be sent to spec.email: %v", err)
		return nil
	}
	if err := r.Create(ctx, s); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("queueing the invitation: %w", err)
	}
	r.recordInvitation(user, out, now, expires)
	r.event(user, corev1.EventTypeNormal, "InvitationQueued", "SendInvitation", "queued an invitation to %s; its link works until %s",
		user.Spec.Email, expires.Format(time.RFC3339))
	logf.FromContext(ctx).Info("invitation queued", "outbox", s.Name, "expiresAt", expires)
	return nil
}

// recordInvitation shows an issued invitation in status and in the
// InvitationSent condition.
func (r *OrgUserReconciler) recordInvitation(user *iamv1.OrgUser, out *userOutcome, issued, expires time.Time) {
	sent, exp := metav1.NewTime(issued), metav1.NewTime(expires)
	user.Status.Invitation = &iamv1.OrgUserInvitationStatus{SentAt: &sent, ExpiresAt: &exp}
	if !r.now().Before(expires) {
		out.invitation = failed(iamv1.ReasonInvitationExpired,
			"the invitation link expired at %s without being used; to send a new one, give the annotation %s a new value "+
				"(kubectl annotate orguser %s %s=\"$(date +%%s)\" --overwrite)",
			expires.Format(time.RFC3339), iamv1.AnnotationResendInvitation, user.Name, iamv1.AnnotationResendInvitation)
		return
	}
	out.invitation = passed(iamv1.ReasonInvitationQueued, "an invitation was queued for %s at %s; its link works once, until %s",
		user.Spec.Email, issued.Format(time.RFC3339), expires.Format(time.RFC3339))
}

// invitationExpiry comes back when an open invitation expires, so that the
// condition says so on time.
func (r *OrgUserReconciler) invitationExpiry(user *iamv1.OrgUser, res time.Duration) time.Duration {
	inv := user.Status.Invitation
	if inv == nil || inv.ExpiresAt == nil || user.Status.PasswordSet {
		return res
	}
	d := inv.ExpiresAt.Sub(r.now()) + time.Second
	if d <= time.Second {
		return res
	}
	if res == 0 || d < res {
		return d
	}
	return res
}

// personName is how a message greets the user.
func personName(u *iamv1.OrgUser) string {
	n := u.Spec.DisplayName
	if n == "" {
		n = u.Spec.GivenName + " " + u.Spec.FamilyName
	}
	// One line, bounded: it goes into the To header.
	n = strings.Join(strings.Fields(n), " ")
	if r := []rune(n); len(r) > mail.MaxName {
		n = string(r[:mail.MaxName])
	}
	return n
}
