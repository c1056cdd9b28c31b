package apiwrite

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
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

// Self-registration: a pending registration is a Secret in the system
// namespace, named after the hash of its confirmation token, holding what
// the person typed (email, name, the argon2id hash of the password) until
// the mailed link is followed. Nothing exists in the organization's
// namespace before then, so an organization's admins (and its quota)
// never see addresses that were not confirmed. The API server keeps it,
// so every replica can confirm a link another one mailed, and a restart
// loses nothing; SweepRegistrations deletes the expired ones.

var _ login.Registrations = (*Writer)(nil)

// Keys and labels of a pending registration Secret.
const (
	// LabelRegistration marks pending registration Secrets; its value is
	// the organization.
	LabelRegistration = "iam.orgkeeper.io/registration"
	// RegistrationPrefix begins their names; the rest is the token's hash.
	RegistrationPrefix = "orgkeeper-registration-"
	// AnnotationRegistration, on an OrgUser made by self-registration, is
	// the registration it came from (a prefix of a hash of the token's
	// hash, which tells nothing about the token), so that confirming the
	// same link twice makes one user.
	AnnotationRegistration = "iam.orgkeeper.io/registration"

	regEmailKey    = "email"
	regNameKey     = "display-name"
	regPasswordKey = credentials.PasswordHashKey
	regExpiresKey  = "expires"
	regHashKey     = "token-sha256"
)

// registrationKey is where the pending registration of a token hash is.
func (w *Writer) registrationKey(tokenHash string) types.NamespacedName {
	return types.NamespacedName{Namespace: w.opts.SystemNamespace, Name: RegistrationPrefix + tokenHash}
}

// SelfRegisteredUserName is the OrgUser name of a self-registered address:
// derived from the address, so that two confirmations of one address (a
// double click, two replicas, two links) name one object.
func SelfRegisteredUserName(email string) string {
	s := sha256.Sum256([]byte("orgkeeper self-registration\x00" + strings.ToLower(email)))
	return "sr-" + hex.EncodeToString(s[:10])
}

// registrationID is the AnnotationRegistration value of a token hash.
func registrationID(tokenHash string) string {
	s := sha256.Sum256([]byte(tokenHash))
	return hex.EncodeToString(s[:8])
}

// RequestRegistration queues the pending registration and its mail. The
// outbox message is named after the token, so a retry creates it once.
func (w *Writer) RequestRegistration(_ context.Context, r login.RegistrationRequest) error {
	if r.TokenHash == "" || r.PasswordHash == "" {
		return errors.New("apiwrite: a registration needs a token hash and a password hash")
	}
	return w.submit(op{
		kind:   "registration",
		target: r.Org + "/" + SelfRegisteredUserName(r.Email),
		apply: func(ctx context.Context, c client.Client, _ client.Reader) (bool, error) {
			return w.applyRegistration(ctx, c, r)
		},
	})
}

func (w *Writer) applyRegistration(ctx context.Context, c client.Client, r login.RegistrationRequest) (bool, error) {
	key := w.registrationKey(r.TokenHash)
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: key.Name, Namespace: key.Namespace,
			Labels: map[string]string{LabelRegistration: r.Org}},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{
			regEmailKey: []byte(r.Email), regNameKey: []byte(r.DisplayName),
			regPasswordKey: []byte(r.PasswordHash), regHashKey: []byte(r.TokenHash),
			regExpiresKey: []byte(credentials.FormatTime(r.ExpiresAt)),
		},
	}
	changed := true
	if err := c.Create(ctx, s); err != nil {
		if !apierrors.IsAlreadyExists(err) {
			return false, err
		}
		changed = false
	}
	m := &mail.Message{
		ID: mail.MessageID(string(mail.KindRegistration), r.TokenHash), Kind: mail.KindRegistration,
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

// pendingRegistration reads and checks the pending registration of a
// token, from the API server (the link may be opened on another replica a
// moment after this one wrote it).
func (w *Writer) pendingRegistration(ctx context.Context, org, token string) (*corev1.Secret, login.PendingRegistration, error) {
	hash := credentials.TokenHash(token)
	s := &corev1.Secret{}
	if err := w.opts.Reader.Get(ctx, w.registrationKey(hash), s); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, login.PendingRegistration{}, login.ErrLinkInvalid
		}
		return nil, login.PendingRegistration{}, err
	}
	// The name is the hash, so finding it nearly proves the token; the
	// stored hash and the organization are compared anyway, so that a
	// Secret made by hand under such a name, or another organization's
	// link, opens nothing.
	if s.Labels[LabelRegistration] != org ||
		subtle.ConstantTimeCompare(s.Data[regHashKey], []byte(hash)) != 1 {
		return nil, login.PendingRegistration{}, login.ErrLinkInvalid
	}
	p := login.PendingRegistration{Org: org, Email: string(s.Data[regEmailKey]), DisplayName: string(s.Data[regNameKey])}
	if !credentials.TokenMatches(hash, string(s.Data[regExpiresKey]), token, w.opts.Now()) {
		return s, p, login.ErrLinkExpired
	}
	return s, p, nil
}

// CheckRegistration reports what a confirmation link would create.
func (w *Writer) CheckRegistration(ctx context.Context, org, token string) (login.PendingRegistration, error) {
	ctx, cancel := context.WithTimeout(ctx, w.opts.WriteTimeout)
	defer cancel()
	_, p, err := w.pendingRegistration(ctx, org, token)
	return p, err
}

// ConfirmRegistration creates the OrgUser of a pending registration, then
// its password, then deletes the registration. Each step is idempotent, so
// a confirmation repeated after a failure, a double click or two replicas
// at once make one user: the user's name comes from the address, and an
// existing user is taken as this registration's only when it carries its
// AnnotationRegistration. Any other user with that name means the address
// already has an account (login.ErrAccountExists).
func (w *Writer) ConfirmRegistration(ctx context.Context, org, token string) (login.PendingRegistration, error) {
	ctx, cancel := context.WithTimeout(ctx, w.opts.WriteTimeout)
	defer cancel()
	s, p, err := w.pendingRegistration(ctx, org, token)
	if errors.Is(err, login.ErrLinkExpired) {
		// Nothing is left of an expired registration.
		_ = w.opts.Client.Delete(ctx, s, client.Preconditions{UID: &s.UID})
	}
	if err != nil {
		w.count("registration_confirm", err)
		return p, err
	}
	regID := registrationID(string(s.Data[regHashKey]))
	u := &iamv1.OrgUser{
		ObjectMeta: metav1.ObjectMeta{Namespace: org, Name: SelfRegisteredUserName(p.Email),
			Labels:      map[string]string{iamv1.LabelSelfRegistered: "true"},
			Annotations: map[string]string{AnnotationRegistration: regID}},
		Spec: iamv1.OrgUserSpec{Email: p.Email, DisplayName: p.DisplayName, EmailVerified: true},
	}
	if err := w.opts.Client.Create(ctx, u); err != nil {
		if !apierrors.IsAlreadyExists(err) {
			w.count("registration_confirm", err)
			return p, err
		}
		if err := w.opts.Reader.Get(ctx, client.ObjectKeyFromObject(u), u); err != nil {
			w.count("registration_confirm", err)
			return p, err
		}
		if u.Annotations[AnnotationRegistration] != regID || !rules.SameEmail(u.Spec.Email, p.Email) {
			_ = w.opts.Client.Delete(ctx, s, client.Preconditions{UID: &s.UID})
			w.count("registration_confirm", login.ErrAccountExists)
			return p, login.ErrAccountExists
		}
	}
	if err := w.setRegisteredPassword(ctx, u, s.Data[regPasswordKey]); err != nil {
		w.count("registration_confirm", err)
		return p, err
	}
	if err := w.opts.Client.Delete(ctx, s, client.Preconditions{UID: &s.UID}); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		// The user exists with its password; the sweep removes the rest.
		w.opts.Log.Error(err, "deleting a confirmed registration", "org", org, "user", u.Name)
	}
	w.results.WithLabelValues("registration_confirm", ResultWritten).Inc()
	return p, nil
}

// setRegisteredPassword writes the password hash into the user's
// credential Secret, unless it already has one.
func (w *Writer) setRegisteredPassword(ctx context.Context, u *iamv1.OrgUser, hash []byte) error {
	if len(hash) == 0 {
		return fmt.Errorf("%w: the registration has no password", errNoMatch)
	}
	key := w.credentialKey(string(u.UID))
	return retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		s := &corev1.Secret{}
		err := w.opts.Reader.Get(ctx, key, s)
		switch {
		case apierrors.IsNotFound(err):
			s = &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Name: key.Name, Namespace: key.Namespace,
					Labels: credentials.SecretLabels(u.Namespace, u.Name, string(u.UID))},
				Type: corev1.SecretTypeOpaque,
				Data: map[string][]byte{credentials.PasswordHashKey: hash},
			}
			if err := w.opts.Client.Create(ctx, s); err != nil && !apierrors.IsAlreadyExists(err) {
				return err
			} else if apierrors.IsAlreadyExists(err) {
				return apierrors.NewConflict(corev1.Resource("secrets"), key.Name, err)
			}
			return nil
		case err != nil:
			return err
		case len(s.Data[credentials.PasswordHashKey]) > 0:
			return nil
		}
		before := s.DeepCopy()
		if s.Data == nil {
			s.Data = map[string][]byte{}
		}
		s.Data[credentials.PasswordHashKey] = hash
		return w.opts.Client.Patch(ctx, s, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
	})
}

// SweepRegistrations deletes the pending registrations that expired
// unconfirmed; it returns how many.
func (w *Writer) SweepRegistrations(ctx context.Context) (int, error) {
	list := &corev1.SecretList{}
	if err := w.opts.Reader.List(ctx, list, client.InNamespace(w.opts.SystemNamespace), client.HasLabels{LabelRegistration}); err != nil {
		return 0, err
	}
	now := w.opts.Now()
	n := 0
	for i := range list.Items {
		s := &list.Items[i]
		exp, err := time.Parse(time.RFC3339, string(s.Data[regExpiresKey]))
		if err == nil && now.Before(exp) {
			continue
		}
		if err := w.opts.Client.Delete(ctx, s, client.Preconditions{UID: &s.UID}); err != nil && !apierrors.IsNotFound(err) {
			return n, err
		}
		n++
	}
	return n, nil
}

// RegistrationSweeper runs SweepRegistrations every Period on the leader.
type RegistrationSweeper struct {
	Writer *Writer
	// Period between sweeps; default 10 minutes.
	Period time.Duration
}

// NeedLeaderElection: one replica sweeps.
func (s RegistrationSweeper) NeedLeaderElection() bool { return true }

// Start sweeps until ctx ends.
func (s RegistrationSweeper) Start(ctx context.Context) error {
	period := s.Period
	if period <= 0 {
		period = 10 * time.Minute
	}
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		if n, err := s.Writer.SweepRegistrations(ctx); err != nil && ctx.Err() == nil {
			s.Writer.opts.Log.Error(err, "deleting expired self-registrations")
		} else if n > 0 {
			s.Writer.opts.Log.Info("deleted expired self-registrations", "count", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
