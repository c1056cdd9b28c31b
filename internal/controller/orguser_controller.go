package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/credentials"
	"github.com/orgkeeper/orgkeeper/internal/rules"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
)

// OrgUserReconciler gives each OrgUser its stable ID and state, keeps emails
// and usernames unique within an organization, and moves the initial
// password into the credential store: hashed, in a Secret in the system
// namespace that the user's organization cannot read.
//
// The initial password Secret is read only while the user has no password.
// Once the credential Secret holds a hash, the Secret is deleted from the
// organization's namespace and never read again (a re-created one is
// deleted too); changing a password later is the job of the password-reset
// and invitation flows, not of this field.
type OrgUserReconciler struct {
	client.Client
	// APIReader confirms, before hashing, that a credential Secret the
	// cache does not show really does not exist.
	APIReader client.Reader
	// SystemNamespace holds the credential Secrets.
	SystemNamespace string
	// Recorder emits events; nil emits none.
	Recorder events.EventRecorder
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Server, when set, makes Ready wait until the OIDC server serves the
	// user's current generation.
	Server Server
	// Invitations configure spec.invitation (orguser_invitation.go).
	Invitations Invitations
}

// +kubebuilder:rbac:groups=iam.orgkeeper.io,resources=orgusers,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=iam.orgkeeper.io,resources=orgusers/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=iam.orgkeeper.io,resources=orgusers/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile brings one OrgUser in line with its spec.
func (r *OrgUserReconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, retErr error) {
	user := &iamv1.OrgUser{}
	if err := r.Get(ctx, req.NamespacedName, user); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if user.DeletionTimestamp.IsZero() && !controllerutil.ContainsFinalizer(user, credentials.Finalizer) {
		patch := client.MergeFrom(user.DeepCopy())
		controllerutil.AddFinalizer(user, credentials.Finalizer)
		return ctrl.Result{}, r.Patch(ctx, user, patch)
	}

	before := user.DeepCopy()
	out := &userOutcome{}
	gone := false
	defer func() {
		if gone {
			return
		}
		out.err = retErr
		setUserStatus(user, out, r.now())
		if retErr == nil && firstFailure(out.readyChecks()...) == (check{}) {
			user.Status.ObservedGeneration = user.Generation
		}
		changed := !equality.Semantic.DeepEqual(before.Status, user.Status)
		// Locked: the status carries facts decided once (the revocation
		// instant of a disable, a consumed initial password), which a pass
		// from a stale cache must not decide again over the first.
		conflicted, err := patchStatusLocked(ctx, r.Client, before, user, changed)
		retErr = errors.Join(retErr, err)
		if conflicted && retErr == nil {
			res = ctrl.Result{Requeue: true}
		}
	}()

	if !user.DeletionTimestamp.IsZero() {
		done, err := r.reconcileDelete(ctx, user)
		gone = done
		return ctrl.Result{}, err
	}
	if err := r.reconcileNormal(ctx, user, out); err != nil {
		return ctrl.Result{}, err
	}
	if firstFailure(out.readyChecks()...) == (check{}) {
		out.served = servedCheck(r.Server, snapshot.KindOrgUser, user)
		if out.served.reason == iamv1.ReasonWaitingForServer {
			return ctrl.Result{RequeueAfter: servedRetry}, nil
		}
	}
	next := r.lockExpiry(user)
	next.RequeueAfter = r.invitationExpiry(user, next.RequeueAfter)
	return next, nil
}

// reconcileNormal: end the sessions of a newly disabled user, find the
// organization, check the identifiers and what tokens may carry, store the
// initial password.
func (r *OrgUserReconciler) reconcileNormal(ctx context.Context, user *iamv1.OrgUser, out *userOutcome) error {
	user.Status.ID = string(user.UID)
	revokeOnDisable(user, r.now())
	org, err := namespaceOrg(ctx, r.Client, user.Namespace)
	if err != nil {
		return err
	}
	if org == nil {
		// Nothing is read or written for a user outside an organization:
		// the operator never acts on Secrets of arbitrary namespaces.
		out.organization = failed(iamv1.ReasonOrganizationNotFound,
			"namespace %q belongs to no organization; an OrgUser lives in its organization's namespace", user.Namespace)
		return nil
	}
	out.organization = passed(iamv1.ReasonReconciled, "user of organization %q", org.Name)

	if err := r.checkIdentifiers(ctx, user, out); err != nil {
		return err
	}
	if err := r.checkClaims(ctx, user, org, out); err != nil {
		return err
	}
	if err := r.ensurePassword(ctx, user, out); err != nil {
		return err
	}
	return r.ensureInvitation(ctx, user, out)
}

// checkClaims finds what the token-claim rules leave out of the user's
// tokens, with the same functions snapshot.Build serves the claims by:
// groups bound as admins outside the organization's subtree, and an email
// asserted verified at a domain the subtree does not hold.
func (r *OrgUserReconciler) checkClaims(ctx context.Context, user *iamv1.OrgUser, org *iamv1.Organization, out *userOutcome) error {
	var binders []iamv1.Organization
	seen := map[types.UID]bool{}
	for _, g := range user.Spec.Groups {
		list := &iamv1.OrganizationList{}
		if err := r.List(ctx, list, client.MatchingFields{indexOrgAdminGroup: strings.ToLower(g)}); err != nil {
			return err
		}
		for _, o := range list.Items {
			if !seen[o.UID] {
				seen[o.UID] = true
				binders = append(binders, o)
			}
		}
	}
	_, dropped := rules.TokenGroups(user.Spec.Groups, org.Status.Path, slices.Contains(user.Spec.Roles, snapshot.AdminRole),
		rules.BindAdminGroups(binders))

	var holderErr error
	_, unverified := rules.EmailVerified(user.Spec.EmailVerified, user.Spec.Email, org.Status.Path, func(domain string) []string {
		h, err := r.domainHolder(ctx, domain)
		holderErr = err
		if h == nil {
			return nil
		}
		return h.Status.Path
	})
	if holderErr != nil {
		return holderErr
	}
	out.claims = claimsOutcome{ran: true, dropped: dropped, unverifiedDomain: unverified}
	return nil
}

// domainHolder returns the placed organization that holds domain verified
// (claimed in spec, verified in status), the older one should statuses
// disagree, as the snapshot routes domains; nil when none does.
func (r *OrgUserReconciler) domainHolder(ctx context.Context, domain string) (*iamv1.Organization, error) {
	list := &iamv1.OrganizationList{}
	if err := r.List(ctx, list, client.MatchingFields{indexOrgDomain: domain}); err != nil {
		return nil, err
	}
	var holder *iamv1.Organization
	for i := range list.Items {
		o := &list.Items[i]
		if p := o.Status.Path; len(p) == 0 || p[len(p)-1] != o.Name {
			continue
		}
		if !slices.ContainsFunc(o.Status.Domains, func(d iamv1.DomainStatus) bool { return string(d.Name) == domain && d.Verified }) {
			continue
		}
		if holder == nil || o.CreationTimestamp.Before(&holder.CreationTimestamp) ||
			(o.CreationTimestamp.Equal(&holder.CreationTimestamp) && o.Name < holder.Name) {
			holder = o
		}
	}
	return holder, nil
}

// checkIdentifiers decides whether the user's email and username are its
// own in the organization.
func (r *OrgUserReconciler) checkIdentifiers(ctx context.Context, user *iamv1.OrgUser, out *userOutcome) error {
	c, err := r.identifiers(ctx, user, map[types.UID]check{})
	out.identifiers = c
	return err
}

// identifiers decides u's identifiers check. An older user that shares an
// identifier counts only if it holds its own, which is the same question one
// step further back; every step goes to strictly older users, so the walk
// ends, and memo makes each user cost one lookup per identifier. In practice
// the walk is one step: duplicates are rare.
func (r *OrgUserReconciler) identifiers(ctx context.Context, u *iamv1.OrgUser, memo map[types.UID]check) (check, error) {
	if c, ok := memo[u.UID]; ok {
		return c, nil
	}
	var holders []iamv1.OrgUser
	seen := map[types.UID]bool{u.UID: true}
	for _, id := range userIdentifiers(u) {
		list := &iamv1.OrgUserList{}
		if err := r.List(ctx, list, client.InNamespace(u.Namespace), client.MatchingFields{indexUserIdentifier: id}); err != nil {
			return check{}, err
		}
		for i := range list.Items {
			o := &list.Items[i]
			if seen[o.UID] || rules.Older(&o.ObjectMeta, &u.ObjectMeta) >= 0 {
				continue
			}
			seen[o.UID] = true
			c, err := r.identifiers(ctx, o, memo)
			if err != nil {
				return check{}, err
			}
			if c.ok {
				holders = append(holders, *o)
			}
		}
	}
	c := identifiersCheck(u, holders)
	memo[u.UID] = c
	return c, nil
}

// ensurePassword sets status.passwordSet from the credential Secret and, if
// the user has no password yet and names an initial one, hashes it into the
// credential Secret.
func (r *OrgUserReconciler) ensurePassword(ctx context.Context, user *iamv1.OrgUser, out *userOutcome) error {
	key := types.NamespacedName{Namespace: r.SystemNamespace, Name: credentials.SecretName(string(user.UID))}
	cred := &corev1.Secret{}
	found, err := getSecret(ctx, r.Client, key, cred)
	if err != nil {
		return err
	}
	if found && len(cred.Data[credentials.PasswordHashKey]) > 0 {
		user.Status.PasswordSet = true
		out.password = passed(iamv1.ReasonReconciled, "the user has a password")
		return r.removeInitialPassword(ctx, user, out)
	}
	ref := user.Spec.InitialPasswordSecretRef
	if ref == nil {
		user.Status.PasswordSet = false
		out.password = passed(iamv1.ReasonReconciled, "no password is set")
		return nil
	}
	// The cache may not show yet the Secret this reconciler wrote a moment
	// ago; ask the API server before hashing the password again.
	if found, err = getSecret(ctx, r.APIReader, key, cred); err != nil {
		return err
	}
	if found && len(cred.Data[credentials.PasswordHashKey]) > 0 {
		user.Status.PasswordSet = true
		out.password = passed(iamv1.ReasonReconciled, "the user has a password")
		return r.removeInitialPassword(ctx, user, out)
	}

	password, c, err := r.initialPassword(ctx, user.Namespace, ref)
	if err != nil || !c.ok {
		user.Status.PasswordSet = false
		out.password = c
		return err
	}
	hash, err := credentials.Hash(password)
	if err != nil {
		return err
	}
	if found {
		// The Secret holds other credentials (a second factor) but no
		// password: add it, failing on a concurrent change.
		patch := client.MergeFromWithOptions(cred.DeepCopy(), client.MergeFromWithOptimisticLock{})
		if cred.Data == nil {
			cred.Data = map[string][]byte{}
		}
		cred.Data[credentials.PasswordHashKey] = []byte(hash)
		err = r.Patch(ctx, cred, patch)
	} else {
		cred = &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: key.Name, Namespace: key.Namespace,
				Labels: credentials.SecretLabels(user.Namespace, user.Name, string(user.UID))},
			Type: corev1.SecretTypeOpaque,
			Data: map[string][]byte{credentials.PasswordHashKey: []byte(hash)},
		}
		err = r.Create(ctx, cred)
	}
	if err != nil {
		return fmt.Errorf("storing the password in credential secret %s: %w", key, err)
	}
	user.Status.PasswordSet = true
	out.password = passed(iamv1.ReasonReconciled, "the user has a password")
	r.event(user, corev1.EventTypeNormal, "PasswordSet", "StorePassword",
		"stored the initial password from Secret %s in the credential store; the Secret is deleted and never read again", ref.Name)
	logf.FromContext(ctx).Info("initial password stored", "credentialSecret", key.Name)
	return r.removeInitialPassword(ctx, user, out)
}

// initialSecretDeleted is the outcome once the initial password Secret is
// gone; one message whether this pass deleted it or an earlier one did.
func initialSecretDeleted(name string) check {
	return passed(iamv1.ReasonSecretDeleted,
		"the initial password is hashed into the credential store and Secret %q was deleted from this namespace; "+
			"it is never read again, so a Secret re-created under that name is deleted too; you may remove spec.initialPasswordSecretRef", name)
}

// removeInitialPassword deletes the initial password Secret once the user
// has a password: the plaintext must not outlive its use, and every admin
// of the organization can read its namespace's Secrets. It runs on every
// pass while the user has a password, so a Secret re-created later (by
// GitOps, say) is deleted again and never read: an initial password is
// consumed once, and changing a password is the job of the reset and
// invitation flows. A Secret that has an owner or is not of type Opaque
// belongs to something else (spec.initialPasswordSecretRef names it by
// mistake) and is left in place, and the status says so.
func (r *OrgUserReconciler) removeInitialPassword(ctx context.Context, user *iamv1.OrgUser, out *userOutcome) error {
	ref := user.Spec.InitialPasswordSecretRef
	if ref == nil {
		return nil
	}
	s := &corev1.Secret{}
	found, err := getSecret(ctx, r.Client, types.NamespacedName{Namespace: user.Namespace, Name: ref.Name}, s)
	switch {
	case err != nil:
		return err
	case !found:
		out.initialSecret = initialSecretDeleted(ref.Name)
		return nil
	case len(s.OwnerReferences) > 0 || (s.Type != "" && s.Type != corev1.SecretTypeOpaque):
		out.initialSecret = passed(iamv1.ReasonSecretKept,
			"the initial password is hashed into the credential store; Secret %q was not deleted because it has an owner or is not of type Opaque, "+
				"so it seems to belong to something else; it is never read again", ref.Name)
		return nil
	}
	err = r.Delete(ctx, s, client.Preconditions{UID: &s.UID})
	if client.IgnoreNotFound(err) != nil && !apierrors.IsConflict(err) {
		return fmt.Errorf("deleting the initial password Secret %s: %w", ref.Name, err)
	}
	out.initialSecret = initialSecretDeleted(ref.Name)
	r.event(user, corev1.EventTypeNormal, "InitialPasswordDeleted", "DeleteSecret",
		"deleted Secret %s: the initial password is in the credential store", ref.Name)
	logf.FromContext(ctx).Info("initial password Secret deleted", "secret", ref.Name)
	return nil
}

// initialPassword reads the initial password from the Secret the user names.
func (r *OrgUserReconciler) initialPassword(ctx context.Context, namespace string, ref *iamv1.SecretKeyReference) (string, check, error) {
	s := &corev1.Secret{}
	found, err := getSecret(ctx, r.Client, types.NamespacedName{Namespace: namespace, Name: ref.Name}, s)
	switch {
	case err != nil:
		return "", check{}, err
	case !found:
		return "", failed(iamv1.ReasonSecretNotFound,
			"Secret %q (spec.initialPasswordSecretRef) does not exist in namespace %q; create it with the password under the key %q, "+
				"or remove spec.initialPasswordSecretRef", ref.Name, namespace, ref.Key), nil
	case len(s.Data[ref.Key]) == 0:
		return "", failed(iamv1.ReasonSecretNotFound,
			"Secret %q (spec.initialPasswordSecretRef) has no key %q or it is empty; put the password there", ref.Name, ref.Key), nil
	}
	return string(s.Data[ref.Key]), passed(iamv1.ReasonReconciled, ""), nil
}

// reconcileDelete deletes the user's credential Secret, which cannot be owned
// by the OrgUser (it lives in another namespace), then lets the user go.
func (r *OrgUserReconciler) reconcileDelete(ctx context.Context, user *iamv1.OrgUser) (bool, error) {
	if !controllerutil.ContainsFinalizer(user, credentials.Finalizer) {
		return true, nil
	}
	cred := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: r.SystemNamespace, Name: credentials.SecretName(string(user.UID))}}
	if err := r.Delete(ctx, cred); client.IgnoreNotFound(err) != nil {
		return false, fmt.Errorf("deleting credential secret %s: %w", cred.Name, err)
	}
	patch := client.MergeFrom(user.DeepCopy())
	controllerutil.RemoveFinalizer(user, credentials.Finalizer)
	if err := r.Patch(ctx, user, patch); client.IgnoreNotFound(err) != nil {
		return false, err
	}
	logf.FromContext(ctx).Info("user deleted with its credentials", "credentialSecret", cred.Name)
	return true, nil
}

// lockExpiry comes back when a lock ends, so status.state turns from Locked
// to Active on time.
func (r *OrgUserReconciler) lockExpiry(user *iamv1.OrgUser) ctrl.Result {
	if l := user.Status.LockedUntil; l != nil {
		if d := l.Sub(r.now()); d > 0 {
			return ctrl.Result{RequeueAfter: d + time.Second}
		}
	}
	return ctrl.Result{}
}

func (r *OrgUserReconciler) now() time.Time { return nowOr(r.Now) }

func (r *OrgUserReconciler) event(user *iamv1.OrgUser, typ, reason, action, note string, args ...any) {
	if r.Recorder != nil {
		r.Recorder.Eventf(user, nil, typ, reason, action, note, args...)
	}
}

// SetupWithManager registers the reconciler and what it watches.
func (r *OrgUserReconciler) SetupWithManager(mgr ctrl.Manager, concurrency int) error {
	if err := setupOrgUserIndexes(mgr); err != nil {
		return err
	}
	b := ctrl.NewControllerManagedBy(mgr).
		For(&iamv1.OrgUser{}).
		Named("orguser").
		Watches(&iamv1.OrgUser{}, r.usersSharingIdentifiers(), builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&corev1.Secret{}, r.usersOfSecret()).
		Watches(&iamv1.Organization{}, r.usersOfOrg()).
		WithOptions(controller.Options{MaxConcurrentReconciles: concurrency})
	return watchServed(b, r.Server, snapshot.KindOrgUser).Complete(r)
}

// usersSharingIdentifiers requeues, when a user appears, goes or changes its
// email or username, the users connected to it (old or new spec) by shared
// identifiers, directly or through others: whether one holds a name can
// depend on whether an older one holds its own.
func (r *OrgUserReconciler) usersSharingIdentifiers() handler.EventHandler {
	// maxRequeue bounds the walk for a pathological chain of duplicates.
	const maxRequeue = 1000
	return handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, obj client.Object) []reconcile.Request {
		start := obj.(*iamv1.OrgUser)
		var reqs []reconcile.Request
		seen := map[types.UID]bool{start.UID: true}
		todo := []*iamv1.OrgUser{start}
		for len(todo) > 0 && len(reqs) < maxRequeue {
			u := todo[0]
			todo = todo[1:]
			for _, id := range userIdentifiers(u) {
				list := &iamv1.OrgUserList{}
				if err := r.List(ctx, list, client.InNamespace(start.Namespace), client.MatchingFields{indexUserIdentifier: id}); err != nil {
					continue
				}
				for i := range list.Items {
					o := &list.Items[i]
					if !seen[o.UID] {
						seen[o.UID] = true
						todo = append(todo, o)
						reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(o)})
					}
				}
			}
		}
		return reqs
	})
}

// usersOfSecret maps a credential Secret in the system namespace to its
// user (by its labels), and any other Secret to the users whose
// spec.initialPasswordSecretRef names it.
func (r *OrgUserReconciler) usersOfSecret() handler.EventHandler {
	return handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, obj client.Object) []reconcile.Request {
		if obj.GetNamespace() == r.SystemNamespace {
			l := obj.GetLabels()
			if l[credentials.LabelManagedBy] != credentials.ManagedByValue || l[credentials.LabelOrgUser] == "" {
				return nil
			}
			return []reconcile.Request{{NamespacedName: types.NamespacedName{
				Namespace: l[credentials.LabelOrganization], Name: l[credentials.LabelOrgUser]}}}
		}
		return listRequests(ctx, r, &iamv1.OrgUserList{},
			client.InNamespace(obj.GetNamespace()), client.MatchingFields{indexUserInitialPassword: obj.GetName()})
	})
}

// usersOfOrg requeues the users in an organization's namespace when the
// organization comes to own it or stops owning it (or moves in the tree),
// and, anywhere, the users whose ClaimsRestricted condition may change with
// it: those naming a group the organization binds or stops binding as
// admins, and those whose email is at a domain it verifies or releases.
func (r *OrgUserReconciler) usersOfOrg() handler.EventHandler {
	enqueue := func(ctx context.Context, q queue, opts ...client.ListOption) {
		list := &iamv1.OrgUserList{}
		if err := r.List(ctx, list, opts...); err != nil {
			return
		}
		for i := range list.Items {
			q.Add(reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
		}
	}
	claims := func(ctx context.Context, q queue, groups, domains []string) {
		for _, g := range groups {
			enqueue(ctx, q, client.MatchingFields{indexUserGroup: g})
		}
		for _, d := range domains {
			enqueue(ctx, q, client.MatchingFields{indexUserEmailDomain: d})
		}
	}
	return handler.Funcs{
		CreateFunc: func(ctx context.Context, e event.CreateEvent, q queue) {
			o := e.Object.(*iamv1.Organization)
			if o.Status.Namespace != "" {
				enqueue(ctx, q, client.InNamespace(o.Name))
			}
			claims(ctx, q, orgAdminGroups(o), orgVerifiedDomains(o))
		},
		DeleteFunc: func(ctx context.Context, e event.DeleteEvent, q queue) {
			o := e.Object.(*iamv1.Organization)
			enqueue(ctx, q, client.InNamespace(o.Name))
			claims(ctx, q, orgAdminGroups(o), orgVerifiedDomains(o))
		},
		UpdateFunc: func(ctx context.Context, e event.UpdateEvent, q queue) {
			old, cur := e.ObjectOld.(*iamv1.Organization), e.ObjectNew.(*iamv1.Organization)
			if old.Status.Namespace != cur.Status.Namespace || !slices.Equal(old.Status.Path, cur.Status.Path) {
				enqueue(ctx, q, client.InNamespace(cur.Name))
			}
			if !slices.Equal(old.Status.Path, cur.Status.Path) {
				claims(ctx, q, orgAdminGroups(cur), orgVerifiedDomains(cur))
				return
			}
			claims(ctx, q, symmetricDifference(orgAdminGroups(old), orgAdminGroups(cur)),
				symmetricDifference(orgVerifiedDomains(old), orgVerifiedDomains(cur)))
		},
	}
}

// orgAdminGroups are the Group subjects of an organization's spec.admins,
// lower case (the key of indexOrgAdminGroup and indexUserGroup).
func orgAdminGroups(o *iamv1.Organization) []string {
	var out []string
	for _, s := range o.Spec.Admins {
		if s.Kind == iamv1.SubjectGroup && s.Name != "" {
			out = append(out, strings.ToLower(s.Name))
		}
	}
	return out
}

// orgVerifiedDomains are the domains an organization's status shows
// verified.
func orgVerifiedDomains(o *iamv1.Organization) []string {
	var out []string
	for _, d := range o.Status.Domains {
		if d.Verified {
			out = append(out, string(d.Name))
		}
	}
	return out
}

// symmetricDifference returns the strings in exactly one of a and b.
func symmetricDifference(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	for _, x := range b {
		if !slices.Contains(a, x) {
			out = append(out, x)
		}
	}
	return out
}
