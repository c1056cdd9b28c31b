package apiwrite

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"golang.org/x/time/rate"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/credentials"
	"github.com/orgkeeper/orgkeeper/internal/login"
	"github.com/orgkeeper/orgkeeper/internal/mail"
	"github.com/orgkeeper/orgkeeper/internal/rules"
	"github.com/orgkeeper/orgkeeper/internal/validation"
)

// Self-service signup of organizations. A pending signup is a Secret in
// the system namespace, named after the hash of its link's token, holding
// the form (and the admin's password hash, never the password): nothing
// is in any organization's namespace until the link is followed. Its
// completion creates, in order and each idempotently (recognised by the
// signup annotation carrying the pending Secret's UID):
//  1. the Organization under the root (suspended and annotated pending
//     when approval is Manual),
//  2. once the operator made its namespace, the admin's OrgUser (role
//     admin) and credential Secret (the password hash),
//  3. and deletes the pending Secret.
// A failure at any step leaves the link working; following it again
// carries on. A handle taken by someone else before step 1 ends the
// signup with nothing created.

// A completed signup creates the Organization and its admin's OrgUser.
// +kubebuilder:rbac:groups=iam.orgkeeper.io,resources=organizations;orgusers,verbs=create

// Names of the signup objects.
const (
	// SignupSecretPrefix starts a pending signup's Secret name.
	SignupSecretPrefix = "orgkeeper-signup-"
	// LabelSignup marks pending signup Secrets (value "pending").
	LabelSignup = "iam.orgkeeper.io/signup"
	// AnnotationSignup is on the Organization and OrgUser a signup
	// created: the pending Secret's UID, which makes a retry recognise
	// its own objects.
	AnnotationSignup = "iam.orgkeeper.io/signup"
	// LabelSignupPending is "true" on an Organization created by a signup
	// that waits for a root admin's approval (a label, so that
	// kubectl get -l lists them); approving removes it and sets
	// spec.suspended to false.
	LabelSignupPending = "iam.orgkeeper.io/signup-pending"
)

// Data keys of a pending signup Secret.
const (
	signupKeyToken       = "token-hash"
	signupKeyExpires     = "expires"
	signupKeyDisplayName = "display-name"
	signupKeyHandle      = "handle"
	signupKeyAdminName   = "admin-name"
	signupKeyEmail       = "email"
	signupKeyPassword    = credentials.PasswordHashKey
)

// Defaults of SignupOptions.
const (
	DefaultSignupRate          = rate.Limit(1.0 / 60) // one organization a minute
	DefaultSignupBurst         = 5
	DefaultSignupNamespaceWait = 10 * time.Second
)

// SignupOptions configure the signup write path (Writer.EnableSignup).
type SignupOptions struct {
	// Rate and Burst bound how fast signups create organizations,
	// installation-wide per replica (a token bucket): a flood of confirmed
	// signups waits for tokens; its links keep working.
	Rate  rate.Limit
	Burst int
	// PublicMailDomains are not claimed for the new organization; nil
	// means rules.PublicMailDomains.
	PublicMailDomains []string
	// NamespaceWait bounds how long a confirmation waits for the operator
	// to make the new organization's namespace before it tells the
	// person to open the link again; default DefaultSignupNamespaceWait.
	NamespaceWait time.Duration
}

type signups struct {
	opts    SignupOptions
	limiter *rate.Limiter
}

var _ login.Signups = (*Writer)(nil)

// EnableSignup configures the signup write path; call before Start.
func (w *Writer) EnableSignup(o SignupOptions) {
	if o.Rate <= 0 {
		o.Rate = DefaultSignupRate
	}
	if o.Burst <= 0 {
		o.Burst = DefaultSignupBurst
	}
	if o.NamespaceWait <= 0 {
		o.NamespaceWait = DefaultSignupNamespaceWait
	}
	if o.PublicMailDomains == nil {
		o.PublicMailDomains = rules.PublicMailDomains
	}
	w.signup = &signups{opts: o, limiter: rate.NewLimiter(o.Rate, o.Burst)}
}

func (w *Writer) signupOpts() *signups {
	if w.signup == nil {
		w.EnableSignup(SignupOptions{})
	}
	return w.signup
}

// root is the root Organization (the one in the system namespace).
func (w *Writer) root(ctx context.Context) (*iamv1.Organization, error) {
	l := &iamv1.OrganizationList{}
	if err := w.opts.Client.List(ctx, l, client.InNamespace(w.opts.SystemNamespace)); err != nil {
		return nil, err
	}
	if len(l.Items) == 0 {
		return nil, nil
	}
	oldest := &l.Items[0]
	for i := range l.Items {
		if l.Items[i].CreationTimestamp.Before(&oldest.CreationTimestamp) {
			oldest = &l.Items[i]
		}
	}
	return oldest, nil
}

// SignupSettings reads the root's spec.selfService.
func (w *Writer) SignupSettings(ctx context.Context) (login.SignupSettings, error) {
	r, err := w.root(ctx)
	if err != nil || r == nil || r.Spec.SelfService == nil {
		return login.SignupSettings{Root: rootName(r)}, err
	}
	return login.SignupSettings{Enabled: r.Spec.SelfService.Enabled, Root: r.Name,
		Manual: r.Spec.SelfService.Approval != iamv1.ApprovalAutomatic}, nil
}

func rootName(r *iamv1.Organization) string {
	if r == nil {
		return ""
	}
	return r.Name
}

// HandleAvailable refuses reserved names and names of existing
// Organizations (anywhere in the tree: the name is also a namespace) and
// namespaces.
func (w *Writer) HandleAvailable(ctx context.Context, handle string) error {
	if validation.OrganizationName(handle) != nil || handle == w.opts.SystemNamespace {
		return login.ErrHandleTaken
	}
	ctx, cancel := context.WithTimeout(ctx, w.opts.WriteTimeout)
	defer cancel()
	ns := &corev1.Namespace{}
	switch err := w.opts.Reader.Get(ctx, types.NamespacedName{Name: handle}, ns); {
	case err == nil:
		return login.ErrHandleTaken
	case !apierrors.IsNotFound(err):
		return err
	}
	orgs := &iamv1.OrganizationList{}
	if err := w.opts.Client.List(ctx, orgs); err != nil {
		return err
	}
	for _, o := range orgs.Items {
		if o.Name == handle {
			return login.ErrHandleTaken
		}
	}
	return nil
}

func signupSecretName(tokenHash string) string { return SignupSecretPrefix + tokenHash[:40] }

// StartSignup stores the pending signup and its message in the outbox.
func (w *Writer) StartSignup(ctx context.Context, r login.SignupRequest) error {
	ctx, cancel := context.WithTimeout(ctx, w.opts.WriteTimeout)
	defer cancel()
	if len(r.TokenHash) < 40 || r.PasswordHash == "" {
		return errors.New("apiwrite: a signup needs a token hash and a password hash")
	}
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: signupSecretName(r.TokenHash), Namespace: w.opts.SystemNamespace,
			Labels: map[string]string{credentials.LabelManagedBy: credentials.ManagedByValue, LabelSignup: "pending"}},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{
			signupKeyToken: []byte(r.TokenHash), signupKeyExpires: []byte(credentials.FormatTime(r.ExpiresAt)),
			signupKeyDisplayName: []byte(r.DisplayName), signupKeyHandle: []byte(r.Handle),
			signupKeyAdminName: []byte(r.AdminName), signupKeyEmail: []byte(r.Email), signupKeyPassword: []byte(r.PasswordHash),
		},
	}
	if err := w.opts.Client.Create(ctx, s); err != nil && !apierrors.IsAlreadyExists(err) {
		w.results.WithLabelValues("signup_start", ResultFailed).Inc()
		return err
	}
	m := &mail.Message{
		ID: mail.MessageID(string(mail.KindOrganizationSignup), r.TokenHash), Kind: mail.KindOrganizationSignup,
		Organization: r.Root, To: r.Email, ToName: r.AdminName, Link: r.Link,
		ExpiresAt: r.ExpiresAt, CreatedAt: w.opts.Now().UTC().Truncate(time.Second),
	}
	out, err := mail.OutboxSecret(w.opts.SystemNamespace, m)
	if err == nil {
		err = w.opts.Client.Create(ctx, out)
	}
	if err != nil && !apierrors.IsAlreadyExists(err) {
		// Without its mail the pending signup is useless: take it back.
		_ = w.opts.Client.Delete(ctx, s)
		w.results.WithLabelValues("signup_start", ResultFailed).Inc()
		return err
	}
	w.results.WithLabelValues("signup_start", ResultWritten).Inc()
	return nil
}

// pending reads the token's pending signup from the API server and checks
// it: login.ErrLinkInvalid or login.ErrLinkExpired.
func (w *Writer) pending(ctx context.Context, token string) (*corev1.Secret, error) {
	h := credentials.TokenHash(token)
	s := &corev1.Secret{}
	if err := w.opts.Reader.Get(ctx, types.NamespacedName{Namespace: w.opts.SystemNamespace, Name: signupSecretName(h)}, s); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, login.ErrLinkInvalid
		}
		return nil, err
	}
	if s.Labels[LabelSignup] != "pending" || subtle.ConstantTimeCompare([]byte(h), s.Data[signupKeyToken]) != 1 {
		return nil, login.ErrLinkInvalid
	}
	if !credentials.TokenMatches(string(s.Data[signupKeyToken]), string(s.Data[signupKeyExpires]), token, w.opts.Now()) {
		return nil, login.ErrLinkExpired
	}
	return s, nil
}

// CheckSignup reports whether the token is an open signup's.
func (w *Writer) CheckSignup(ctx context.Context, token string) error {
	ctx, cancel := context.WithTimeout(ctx, w.opts.WriteTimeout)
	defer cancel()
	_, err := w.pending(ctx, token)
	return err
}

var notLabel = regexp.MustCompile(`[^a-z0-9-]+`)

// adminUserName is the OrgUser name of the admin: the email's local part
// as a DNS label, or "admin".
func adminUserName(email string) string {
	local, _, _ := strings.Cut(strings.ToLower(email), "@")
	n := strings.Trim(notLabel.ReplaceAllString(local, "-"), "-")
	if len(n) > 63 {
		n = strings.Trim(n[:63], "-")
	}
	if validation.DNSLabel(n) != nil {
		return "admin"
	}
	return n
}

// CompleteSignup creates the organization and its admin (see the top of
// this file for the order and why a retry is safe).
func (w *Writer) CompleteSignup(ctx context.Context, token string) (login.SignupResult, error) {
	res, err := w.completeSignup(ctx, token)
	switch {
	case err == nil:
		w.results.WithLabelValues("signup_complete", ResultWritten).Inc()
	case errors.Is(err, login.ErrLinkInvalid), errors.Is(err, login.ErrLinkExpired):
		w.results.WithLabelValues("signup_complete", ResultUnchanged).Inc()
	default:
		w.results.WithLabelValues("signup_complete", ResultFailed).Inc()
	}
	return res, err
}

func (w *Writer) completeSignup(ctx context.Context, token string) (login.SignupResult, error) {
	ctx, cancel := context.WithTimeout(ctx, w.opts.WriteTimeout+w.signupOpts().opts.NamespaceWait)
	defer cancel()
	s, err := w.pending(ctx, token)
	if err != nil {
		return login.SignupResult{}, err
	}
	sid := string(s.UID)
	d := func(k string) string { return string(s.Data[k]) }
	handle, email := d(signupKeyHandle), d(signupKeyEmail)
	set, err := w.SignupSettings(ctx)
	if err != nil {
		return login.SignupResult{}, err
	}
	if !set.Enabled {
		return login.SignupResult{}, login.ErrLinkInvalid
	}
	res := login.SignupResult{Handle: handle, DisplayName: d(signupKeyDisplayName), Email: email, Pending: set.Manual}

	// 1. The Organization.
	org := &iamv1.Organization{}
	err = w.opts.Reader.Get(ctx, types.NamespacedName{Namespace: set.Root, Name: handle}, org)
	switch {
	case err == nil && org.Annotations[AnnotationSignup] == sid:
		res.Pending = org.Labels[LabelSignupPending] == "true"
	case err == nil:
		return res, w.dropPending(ctx, s, login.ErrHandleTaken)
	case !apierrors.IsNotFound(err):
		return res, err
	default:
		if err := w.HandleAvailable(ctx, handle); err != nil {
			if errors.Is(err, login.ErrHandleTaken) {
				return res, w.dropPending(ctx, s, err)
			}
			return res, err
		}
		if !w.signupOpts().limiter.Allow() {
			return res, login.ErrSignupBusy
		}
		org = &iamv1.Organization{
			ObjectMeta: metav1.ObjectMeta{Name: handle, Namespace: set.Root,
				Annotations: map[string]string{AnnotationSignup: sid}},
			Spec: iamv1.OrganizationSpec{DisplayName: res.DisplayName, Suspended: set.Manual},
		}
		if set.Manual {
			org.Labels = map[string]string{LabelSignupPending: "true"}
		}
		if dom := rules.SignupDomainClaim(email, w.signupOpts().opts.PublicMailDomains); dom != "" && validation.Domain(dom) == nil {
			org.Spec.Domains = []iamv1.Domain{iamv1.Domain(dom)}
		}
		if err := w.opts.Client.Create(ctx, org); err != nil {
			if apierrors.IsAlreadyExists(err) {
				return res, login.ErrSignupInProgress // the next attempt tells ours from another's
			}
			return res, err
		}
	}

	// 2. The admin, once the operator made the namespace. Only a namespace
	// the operator made for this very Organization will do: one that
	// somebody else created under the handle meanwhile is not the new
	// organization's, and no admin is written into it.
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, w.signupOpts().opts.NamespaceWait, true, func(ctx context.Context) (bool, error) {
		ns := &corev1.Namespace{}
		if err := w.opts.Reader.Get(ctx, types.NamespacedName{Name: handle}, ns); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		return ns.DeletionTimestamp == nil && ns.Annotations[iamv1.AnnotationOrganizationUID] == string(org.UID) &&
			ns.Labels[iamv1.LabelOrganization] == handle, nil
	})
	if err != nil {
		if ctx.Err() != nil || wait.Interrupted(err) {
			return res, login.ErrSignupInProgress
		}
		return res, err
	}
	u := &iamv1.OrgUser{}
	name := adminUserName(email)
	err = w.opts.Reader.Get(ctx, types.NamespacedName{Namespace: handle, Name: name}, u)
	switch {
	case apierrors.IsNotFound(err):
		u = &iamv1.OrgUser{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: handle, Annotations: map[string]string{AnnotationSignup: sid}},
			Spec: iamv1.OrgUserSpec{Email: email, EmailVerified: true, DisplayName: d(signupKeyAdminName),
				Roles: []string{"admin"}},
		}
		if err := w.opts.Client.Create(ctx, u); err != nil {
			if apierrors.IsAlreadyExists(err) {
				return res, login.ErrSignupInProgress
			}
			return res, err
		}
	case err != nil:
		return res, err
	case u.Annotations[AnnotationSignup] != sid:
		return res, fmt.Errorf("apiwrite: signup of %s: an OrgUser %s exists that this signup did not create", handle, name)
	}
	if err := w.setSignupPassword(ctx, u, d(signupKeyPassword)); err != nil {
		return res, err
	}

	// 3. Done: the link stops working.
	if err := w.opts.Client.Delete(ctx, s, client.Preconditions{UID: &s.UID}); err != nil && !apierrors.IsNotFound(err) {
		return res, err
	}
	return res, nil
}

// setSignupPassword puts the hash into the admin's credential Secret,
// unless a password is already there.
func (w *Writer) setSignupPassword(ctx context.Context, u *iamv1.OrgUser, hash string) error {
	key := w.credentialKey(string(u.UID))
	s := &corev1.Secret{}
	err := w.opts.Reader.Get(ctx, key, s)
	switch {
	case apierrors.IsNotFound(err):
		s = &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: key.Name, Namespace: key.Namespace,
				Labels: credentials.SecretLabels(u.Namespace, u.Name, string(u.UID))},
			Type: corev1.SecretTypeOpaque,
			Data: map[string][]byte{credentials.PasswordHashKey: []byte(hash)},
		}
		err = w.opts.Client.Create(ctx, s)
		if apierrors.IsAlreadyExists(err) {
			return login.ErrSignupInProgress
		}
		return err
	case err != nil:
		return err
	case len(s.Data[credentials.PasswordHashKey]) > 0:
		return nil
	}
	before := s.DeepCopy()
	if s.Data == nil {
		s.Data = map[string][]byte{}
	}
	s.Data[credentials.PasswordHashKey] = []byte(hash)
	return w.opts.Client.Patch(ctx, s, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
}

// dropPending deletes a pending signup that cannot complete and returns
// why.
func (w *Writer) dropPending(ctx context.Context, s *corev1.Secret, why error) error {
	if err := w.opts.Client.Delete(ctx, s); err != nil && !apierrors.IsNotFound(err) {
		w.opts.Log.Error(err, "deleting a signup that cannot complete", "secret", s.Name)
	}
	return why
}

// SignupJanitor deletes expired pending signups: an unconfirmed signup
// leaves nothing behind. It runs on the leader.
type SignupJanitor struct {
	Writer *Writer
	// Period between sweeps; default ten minutes.
	Period time.Duration
}

// NeedLeaderElection: one replica sweeps.
func (j *SignupJanitor) NeedLeaderElection() bool { return true }

// Start sweeps every Period until ctx ends.
func (j *SignupJanitor) Start(ctx context.Context) error {
	p := j.Period
	if p <= 0 {
		p = 10 * time.Minute
	}
	wait.UntilWithContext(ctx, func(ctx context.Context) {
		if _, err := j.Sweep(ctx); err != nil {
			j.Writer.opts.Log.Error(err, "deleting expired signups")
		}
	}, p)
	return nil
}

// Sweep deletes the expired pending signups once and says how many.
func (j *SignupJanitor) Sweep(ctx context.Context) (int, error) {
	w := j.Writer
	l := &corev1.SecretList{}
	if err := w.opts.Reader.List(ctx, l, client.InNamespace(w.opts.SystemNamespace), client.MatchingLabels{LabelSignup: "pending"}); err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for i := range l.Items {
		s := &l.Items[i]
		exp, err := time.Parse(time.RFC3339, string(s.Data[signupKeyExpires]))
		if err == nil && w.opts.Now().Before(exp) {
			continue
		}
		if err := w.opts.Client.Delete(ctx, s, client.Preconditions{UID: &s.UID}); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}
