package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/dnsverify"
	"github.com/orgkeeper/orgkeeper/internal/rules"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
)

// OrganizationReconciler places each Organization in the hierarchy, gives it
// its namespace, delegates its administration through RBAC, decides which of
// its domains it holds, and carries out its deletion policy.
type OrganizationReconciler struct {
	client.Client
	// APIReader reads what the label-filtered cache does not hold (a
	// namespace that is not ours).
	APIReader client.Reader
	// SystemNamespace holds the root Organization.
	SystemNamespace string
	// Now is the clock that stamps status.sessionsRevokedAt; nil means
	// time.Now.
	Now func() time.Time
	// Server, when set, makes Ready carry the snapshot build's Problems and
	// wait until the OIDC server serves the organization's generation.
	Server Server
	// DNS looks up the TXT records that verify domains under
	// domainVerification DNS; nil checks nothing (every such domain stays
	// Pending).
	DNS dnsverify.TXTResolver
	// DomainRecheckPeriod is how often a verified domain's record is looked
	// up again; zero means DefaultDomainRecheckPeriod.
	DomainRecheckPeriod time.Duration
	// Recorder emits an Event for every change of a domain's state; nil
	// emits none.
	Recorder events.EventRecorder

	domainChecks domainChecks
	firstStatus  heldStatuses
	own          ownWrites
}

// +kubebuilder:rbac:groups=iam.orgkeeper.io,resources=organizations,verbs=get;list;watch;update;patch;delete
// +kubebuilder:rbac:groups=iam.orgkeeper.io,resources=organizations/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=iam.orgkeeper.io,resources=organizations/finalizers,verbs=update
// +kubebuilder:rbac:groups=iam.orgkeeper.io,resources=orgusers,verbs=get;list;watch;delete;deletecollection
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=roles;rolebindings,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=clusterroles,verbs=bind,resourceNames=orgkeeper-org-admin
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// namespaceRetry is how often an organization waiting for its namespace to
// finish terminating looks again (namespaces emit no event when they vanish
// from a label-filtered cache after a relabel).
const namespaceRetry = 5 * time.Second

// staleRetry is how soon a pass that found the cache behind the
// reconciler's own last write comes back (ownWrites).
const staleRetry = 200 * time.Millisecond

// Reconcile brings one Organization in line with its spec.
func (r *OrganizationReconciler) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, retErr error) {
	org := &iamv1.Organization{}
	if err := r.Get(ctx, req.NamespacedName, org); err != nil {
		if apierrors.IsNotFound(err) {
			r.firstStatus.forget(req.NamespacedName)
			r.own.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if r.own.stale(org) {
		// The cache has not caught up with this reconciler's own last
		// write. That write's event brings a pass too, but in line with
		// everything else; this pass may have been the server's
		// announcement, ahead of the line, so it comes back soon at that
		// priority.
		return ctrl.Result{RequeueAfter: staleRetry, Priority: ptr.To(servedPriority)}, nil
	}
	read := org.ResourceVersion
	if org.DeletionTimestamp.IsZero() && !controllerutil.ContainsFinalizer(org, iamv1.FinalizerOrganization) {
		// The finalizer goes on before anything it must clean up exists.
		// The patch returns the object as stored, so the pass goes on
		// from there: under a storm of new organizations, waiting for the
		// finalizer's own event would cost each one a trip through a
		// queue thousands long.
		patch := client.MergeFrom(org.DeepCopy())
		controllerutil.AddFinalizer(org, iamv1.FinalizerOrganization)
		if err := r.Patch(ctx, org, patch); err != nil {
			return ctrl.Result{}, client.IgnoreNotFound(err)
		}
		r.own.wrote(org, read)
	}

	before := org.DeepCopy()
	out := &orgOutcome{}
	gone := false
	defer func() {
		if gone {
			return
		}
		out.err = retErr
		setOrgConditions(org, out)
		if retErr == nil && firstFailure(out.readyChecks()...) == (check{}) {
			org.Status.ObservedGeneration = org.Generation
		}
		changed := !equality.Semantic.DeepEqual(before.Status, org.Status)
		// A status that ends sessions (a suspension's sessionsRevokedAt)
		// is never held back: the server serves a new organization before
		// its first status, and that field is the only record that the
		// sessions of that moment stay ended once the suspension is lifted.
		firstAndHoldable := len(before.Status.Conditions) == 0 && before.Status.SessionsRevokedAt.Equal(org.Status.SessionsRevokedAt)
		if changed && retErr == nil && r.firstStatus.hold(before, firstAndHoldable, out.readyChecks()) {
			// A new organization's first status waits (briefly) until it
			// can say Ready; the server's announcement, or the retry that
			// servedResult asked for, brings the next pass.
			return
		}
		err := patchStatus(ctx, r.Client, before, org, changed)
		if err == nil && changed {
			r.own.wrote(org, read, before.ResourceVersion)
		}
		retErr = errors.Join(retErr, err)
		if retErr == nil {
			// Only once the status that they report is written: a failed
			// patch is retried, and the retry reports them then.
			r.emitDomainEvents(org, out.domainEvents)
		}
	}()

	if !org.DeletionTimestamp.IsZero() {
		res, done, err := r.reconcileDelete(ctx, org, out)
		gone = done
		return res, err
	}
	// First, whatever else fails: a suspension must end sessions even for
	// an organization that is not (or no longer) placed.
	observeSuspension(org, r.now())
	res, err := r.reconcileNormal(ctx, org, out)
	return servedResult(r.Server, snapshot.KindOrganization, org, &out.served, out.beforeServed(), res, err)
}

func (r *OrganizationReconciler) now() time.Time { return nowOr(r.Now) }

// reconcileNormal: place, check root-only settings, namespace, RBAC, domains.
func (r *OrganizationReconciler) reconcileNormal(ctx context.Context, org *iamv1.Organization, out *orgOutcome) (ctrl.Result, error) {
	org.Status.ID = string(org.UID)

	chain, err := r.placeOrg(ctx, org, out)
	if err != nil || !out.placement.ok {
		return ctrl.Result{}, err
	}
	out.rootOnly = rootOnlyCheck(org, len(chain) == 1)

	ns, res, err := r.ensureNamespace(ctx, org, out)
	if err != nil || ns == nil {
		return res, err
	}
	if err := r.ensureRBAC(ctx, org, chain, out); err != nil {
		return ctrl.Result{}, err
	}
	recheck, err := r.resolveDomains(ctx, org, chain[0], out)
	return ctrl.Result{RequeueAfter: recheck}, err
}

// placeOrg finds the organization's place (rules.Place, the rule the
// snapshot serves by) and returns the chain of organizations from the root
// down to it.
func (r *OrganizationReconciler) placeOrg(ctx context.Context, org *iamv1.Organization, out *orgOutcome) ([]*iamv1.Organization, error) {
	h := &cachedHierarchy{ctx: ctx, r: r}
	p := rules.Place(org, r.SystemNamespace, h)
	if h.err != nil {
		return nil, h.err
	}
	if !p.Placed() {
		out.placement = failed(p.Reason, "%s", p.Message)
		// An organization without a place has no namespace, parent or path
		// that anything below it could build on.
		org.Status.Parent, org.Status.Path, org.Status.Depth, org.Status.Namespace = "", nil, 0, ""
		return nil, nil
	}
	path := p.Path()
	if len(path) == 1 {
		out.placement = passed(iamv1.ReasonReconciled, "root organization")
		org.Status.Parent = ""
	} else {
		org.Status.Parent = path[len(path)-2]
		out.placement = passed(iamv1.ReasonReconciled, "placed under %q", org.Status.Parent)
	}
	org.Status.Path, org.Status.Depth = path, int32(len(path)-1)
	return p.Chain, nil
}

// cachedHierarchy is rules.Hierarchy over the reconciler's cache. The first
// error it meets ends the lookups and is kept in err.
type cachedHierarchy struct {
	ctx  context.Context
	r    *OrganizationReconciler
	err  error
	root *string
}

func (h *cachedHierarchy) NamespaceOwner(name string) (*iamv1.Organization, bool) {
	if h.err != nil {
		return nil, false
	}
	owner, ns, named, err := h.r.namespaceOwner(h.ctx, name)
	if h.err = err; err != nil || owner == nil || !rules.NamespaceHolds(ns, owner) {
		return nil, named
	}
	return owner, true
}

func (h *cachedHierarchy) Root() string {
	if h.root == nil && h.err == nil {
		list := &iamv1.OrganizationList{}
		if h.err = h.r.List(h.ctx, list, client.InNamespace(h.r.SystemNamespace)); h.err != nil {
			return ""
		}
		candidates := make([]*iamv1.Organization, len(list.Items))
		for i := range list.Items {
			candidates[i] = &list.Items[i]
		}
		h.root = ptr.To(rules.ChooseRoot(candidates))
	}
	return ptr.Deref(h.root, "")
}

// orgByName returns the placed Organization of that name, or nil. Names are
// unique among organizations that own their namespace; an unplaced duplicate
// (NamespaceConflict) is ignored in favour of the owner, as far as statuses
// tell them apart (a new owner's first status may not be written yet). It
// only picks what to requeue, where a wrong pick costs a pass; decisions
// take the parent from the namespace (namespaceOwner).
func (r *OrganizationReconciler) orgByName(ctx context.Context, name string) (*iamv1.Organization, error) {
	list := &iamv1.OrganizationList{}
	if err := r.List(ctx, list, client.MatchingFields{indexOrgName: name}); err != nil {
		return nil, err
	}
	var found *iamv1.Organization
	for i := range list.Items {
		o := &list.Items[i]
		if found == nil || (o.Status.Namespace == name && found.Status.Namespace != name) {
			found = o
		}
	}
	return found, nil
}

// namespaceOwner returns the Organization that the namespace of this name
// belongs to (rules.NamespaceBelongsTo, terminating or not) and that
// namespace, or nil: the parent of every Organization that lives in that
// namespace. named reports whether any Organization has this name. Status
// plays no part, so an organization of the same name elsewhere (it has
// NamespaceConflict) is never taken for the owner, even while the owner's
// first status is not written yet. The cache holds only the operator's
// namespaces (by label): a namespace it does not hold belongs to no
// organization.
func (r *OrganizationReconciler) namespaceOwner(ctx context.Context, name string) (owner *iamv1.Organization, ns *corev1.Namespace, named bool, err error) {
	list := &iamv1.OrganizationList{}
	if err := r.List(ctx, list, client.MatchingFields{indexOrgName: name}); err != nil || len(list.Items) == 0 {
		return nil, nil, false, err
	}
	ns = &corev1.Namespace{}
	if err := r.Get(ctx, types.NamespacedName{Name: name}, ns); err != nil {
		return nil, nil, true, client.IgnoreNotFound(err)
	}
	for i := range list.Items {
		if rules.NamespaceBelongsTo(ns, &list.Items[i]) {
			return &list.Items[i], ns, true, nil
		}
	}
	return nil, ns, true, nil
}

// ensureNamespace creates the organization's namespace, or finds it, and
// never touches a namespace that belongs to something else. It returns nil
// when the namespace is not usable (yet).
func (r *OrganizationReconciler) ensureNamespace(ctx context.Context, org *iamv1.Organization, out *orgOutcome) (*corev1.Namespace, ctrl.Result, error) {
	ns := &corev1.Namespace{}
	err := r.Get(ctx, types.NamespacedName{Name: org.Name}, ns)
	if apierrors.IsNotFound(err) {
		ns = rules.NewNamespace(org)
		err = r.Create(ctx, ns)
		if apierrors.IsAlreadyExists(err) {
			// Not in our cache: either not ours, or created a moment ago.
			err = r.APIReader.Get(ctx, types.NamespacedName{Name: org.Name}, ns)
		}
	}
	if err != nil {
		return nil, ctrl.Result{}, fmt.Errorf("namespace %q: %w", org.Name, err)
	}

	if !rules.NamespaceBelongsTo(ns, org) {
		if ns.Labels[iamv1.LabelOrganization] == org.Name && ns.Annotations[iamv1.AnnotationOrganizationUID] == string(org.UID) {
			// The operator made it, and something replaced its managed-by
			// label: the server no longer sees it, so nothing in it is
			// served.
			out.namespace = failed(iamv1.ReasonNamespaceConflict,
				"namespace %q no longer carries the label %s=%s, so the organization is not served; "+
					"set the label back to %q (nothing in the namespace was changed)",
				org.Name, iamv1.LabelManagedBy, iamv1.ManagedByValue, iamv1.ManagedByValue)
		} else {
			out.namespace = failed(iamv1.ReasonNamespaceConflict,
				"namespace %q already exists and does not belong to this organization; nothing in it was changed. "+
					"Choose another name for the organization", org.Name)
		}
		org.Status.Namespace = ""
		return nil, ctrl.Result{}, nil
	}
	if !ns.DeletionTimestamp.IsZero() {
		out.namespace = failed(iamv1.ReasonNamespaceTerminating,
			"namespace %q is still being deleted; it will be created again once it is gone", org.Name)
		org.Status.Namespace = ""
		return nil, ctrl.Result{RequeueAfter: namespaceRetry}, nil
	}
	org.Status.Namespace = ns.Name
	out.namespace = passed(iamv1.ReasonReconciled, "namespace %q belongs to the organization", ns.Name)
	return ns, ctrl.Result{}, nil
}

// ensureRBAC keeps the delegated administration exact: in the org's
// namespace, a RoleBinding of orgkeeper-org-admin for the admins of the org
// and all its ancestors; in the parent's namespace, a Role and RoleBinding
// that let the org's own admins manage their Organization object.
func (r *OrganizationReconciler) ensureRBAC(ctx context.Context, org *iamv1.Organization, chain []*iamv1.Organization, out *orgOutcome) error {
	labels := map[string]string{iamv1.LabelOrganization: org.Name, iamv1.LabelManagedBy: iamv1.ManagedByValue}

	admins := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: adminBindingName, Namespace: org.Name}}
	roleRef := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: OrgAdminClusterRole}
	if err := r.applyRoleBinding(ctx, admins, labels, roleRef, adminSubjects(chain)); err != nil {
		return err
	}

	// The root's admins get nothing in the system namespace: organization
	// admins never have access there.
	if len(chain) > 1 {
		name := selfRoleName(org.Name)
		role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: org.Namespace}}
		if _, err := controllerutil.CreateOrUpdate(ctx, r.Client, role, func() error {
			role.Labels = labels
			role.Rules = []rbacv1.PolicyRule{{
				APIGroups:     []string{iamv1.GroupVersion.Group},
				Resources:     []string{"organizations"},
				ResourceNames: []string{org.Name},
				Verbs:         []string{"get", "update", "patch"},
			}}
			return controllerutil.SetControllerReference(org, role, r.Scheme())
		}); err != nil {
			return fmt.Errorf("role %s/%s: %w", role.Namespace, role.Name, err)
		}
		self := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: org.Namespace}}
		selfRef := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name}
		if err := r.applyRoleBinding(ctx, self, labels, selfRef, adminSubjects(chain[len(chain)-1:]), org); err != nil {
			return err
		}
	}
	n := len(adminSubjects(chain))
	out.rbac = passed(iamv1.ReasonReconciled, "%d %s the organization%s", n, plural(n, "subject administers", "subjects administer"), ignoredAdminsNote(org))
	return nil
}

// applyRoleBinding creates or updates a RoleBinding. A RoleBinding's roleRef
// cannot change, so one with another roleRef is replaced.
func (r *OrganizationReconciler) applyRoleBinding(ctx context.Context, rb *rbacv1.RoleBinding, labels map[string]string,
	roleRef rbacv1.RoleRef, subjects []rbacv1.Subject, owner ...client.Object) error {
	existing := &rbacv1.RoleBinding{}
	err := r.Get(ctx, client.ObjectKeyFromObject(rb), existing)
	if err == nil && existing.RoleRef != roleRef {
		if err := r.Delete(ctx, existing); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("replacing rolebinding %s/%s: %w", rb.Namespace, rb.Name, err)
		}
	}
	if _, err := controllerutil.CreateOrUpdate(ctx, r.Client, rb, func() error {
		rb.Labels = labels
		rb.RoleRef = roleRef
		rb.Subjects = subjects
		for _, o := range owner {
			if err := controllerutil.SetControllerReference(o, rb, r.Scheme()); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("rolebinding %s/%s: %w", rb.Namespace, rb.Name, err)
	}
	return nil
}

// reconcileDelete carries out the deletion policy. It reports done once the
// finalizer is removed and the object may vanish.
func (r *OrganizationReconciler) reconcileDelete(ctx context.Context, org *iamv1.Organization, out *orgOutcome) (ctrl.Result, bool, error) {
	if !controllerutil.ContainsFinalizer(org, iamv1.FinalizerOrganization) {
		return ctrl.Result{}, true, nil
	}
	ns, owned, err := r.ownsNamespace(ctx, org)
	if err != nil {
		return ctrl.Result{}, false, err
	}
	if owned {
		children := &iamv1.OrganizationList{}
		if err := r.List(ctx, children, client.InNamespace(org.Name)); err != nil {
			return ctrl.Result{}, false, err
		}
		users := &iamv1.OrgUserList{}
		if err := r.List(ctx, users, client.InNamespace(org.Name)); err != nil {
			return ctrl.Result{}, false, err
		}
		if len(children.Items) > 0 || len(users.Items) > 0 {
			cascade, err := r.cascades(ctx, org)
			if err != nil {
				return ctrl.Result{}, false, err
			}
			if !cascade {
				out.deletion = failed(iamv1.ReasonDeletionBlocked, "%s", blockedMessage(names(children.Items), names(users.Items)))
				return ctrl.Result{}, false, nil
			}
			// Bottom-up: ask the children and users to go, and come back
			// when their deletion events arrive.
			for i := range children.Items {
				if err := r.Delete(ctx, &children.Items[i]); client.IgnoreNotFound(err) != nil {
					return ctrl.Result{}, false, err
				}
			}
			for i := range users.Items {
				if err := r.Delete(ctx, &users.Items[i]); client.IgnoreNotFound(err) != nil {
					return ctrl.Result{}, false, err
				}
			}
			out.deletion = failed(iamv1.ReasonDeleting, "deleting %d child organizations and %d users first",
				len(children.Items), len(users.Items))
			return ctrl.Result{RequeueAfter: namespaceRetry}, false, nil
		}
		// The UID precondition makes sure it is the namespace we checked.
		if err := r.Delete(ctx, ns, client.Preconditions{UID: &ns.UID}); client.IgnoreNotFound(err) != nil {
			return ctrl.Result{}, false, fmt.Errorf("deleting namespace %q: %w", org.Name, err)
		}
	}
	// The self-management Role and RoleBinding are owned by the Organization,
	// but garbage collection is not ours to count on: remove them now.
	name := selfRoleName(org.Name)
	for _, obj := range []client.Object{
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: org.Namespace}},
		&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: org.Namespace}},
	} {
		if err := r.Delete(ctx, obj); client.IgnoreNotFound(err) != nil {
			return ctrl.Result{}, false, err
		}
	}
	patch := client.MergeFrom(org.DeepCopy())
	controllerutil.RemoveFinalizer(org, iamv1.FinalizerOrganization)
	if err := r.Patch(ctx, org, patch); client.IgnoreNotFound(err) != nil {
		return ctrl.Result{}, false, err
	}
	r.domainChecks.forget(org.UID)
	logf.FromContext(ctx).Info("organization deleted", "namespaceDeleted", owned)
	return ctrl.Result{}, true, nil
}

// ownsNamespace reports whether the organization's namespace exists and is
// its own (so deleting the organization deletes it).
func (r *OrganizationReconciler) ownsNamespace(ctx context.Context, org *iamv1.Organization) (*corev1.Namespace, bool, error) {
	ns := &corev1.Namespace{}
	err := r.APIReader.Get(ctx, types.NamespacedName{Name: org.Name}, ns)
	if apierrors.IsNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return ns, rules.NamespaceBelongsTo(ns, org), nil
}

// cascades reports whether deleting org deletes its subtree: its own policy
// is Cascade, or an ancestor is being deleted with Cascade.
func (r *OrganizationReconciler) cascades(ctx context.Context, org *iamv1.Organization) (bool, error) {
	seen := map[string]bool{}
	for o := org; o != nil && !seen[o.Name]; {
		if o.DeletionTimestamp.IsZero() {
			return false, nil
		}
		if o.Spec.DeletionPolicy == iamv1.DeletionCascade {
			return true, nil
		}
		seen[o.Name] = true
		if o.Namespace == r.SystemNamespace {
			return false, nil
		}
		parent, _, _, err := r.namespaceOwner(ctx, o.Namespace)
		if err != nil {
			return false, err
		}
		o = parent
	}
	return false, nil
}

func names[T any, PT interface {
	*T
	client.Object
}](items []T) []string {
	out := make([]string, 0, len(items))
	for i := range items {
		out = append(out, PT(&items[i]).GetName())
	}
	slices.Sort(out)
	return out
}

// SetupWithManager registers the reconciler and what it watches.
func (r *OrganizationReconciler) SetupWithManager(mgr ctrl.Manager, concurrency int) error {
	b := ctrl.NewControllerManagedBy(mgr).
		For(&iamv1.Organization{}).
		Named("organization").
		Watches(&iamv1.Organization{}, r.relatedOrgs()).
		Watches(&corev1.Namespace{}, r.byOrgLabel()).
		Watches(&rbacv1.RoleBinding{}, r.byOrgLabel()).
		Watches(&rbacv1.Role{}, r.byOrgLabel()).
		Watches(&iamv1.OrgUser{}, r.deletingOrgOfNamespace()).
		WithOptions(controller.Options{MaxConcurrentReconciles: concurrency})
	return watchServed(b, r.Server, snapshot.KindOrganization).Complete(r)
}
