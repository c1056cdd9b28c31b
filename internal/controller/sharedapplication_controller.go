package controller

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/rules"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
)

// SharedApplicationReconciler gives each SharedApplication its client ID and,
// for a Confidential client without spec.clientSecretRef, a generated client
// secret in an owned Secret; it checks a referenced Secret and resolves which
// organizations the application is shared with.
//
// It has no finalizer: the generated Secret is owned by the application (so
// the garbage collector removes it too), and the reconciler deletes it
// explicitly as soon as it sees the application gone.
type SharedApplicationReconciler struct {
	client.Client
	// APIReader reads a Secret that this reconciler created a moment ago and
	// the cache does not show yet.
	APIReader client.Reader
	// Recorder emits events; nil emits none.
	Recorder events.EventRecorder
	// Random is the source of client secrets; nil means crypto/rand.
	Random io.Reader
	// Server, when set, makes Ready wait until the OIDC server serves the
	// application's current generation.
	Server Server
}

// +kubebuilder:rbac:groups=iam.orgkeeper.io,resources=sharedapplications,verbs=get;list;watch
// +kubebuilder:rbac:groups=iam.orgkeeper.io,resources=sharedapplications/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=iam.orgkeeper.io,resources=sharedapplications/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// clientSecretBytes is the entropy of a generated client secret: 256 bits,
// written as 43 characters of unpadded base64url.
const clientSecretBytes = 32

// Reconcile brings one SharedApplication in line with its spec.
func (r *SharedApplicationReconciler) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, retErr error) {
	app := &iamv1.SharedApplication{}
	if err := r.Get(ctx, req.NamespacedName, app); err != nil {
		if apierrors.IsNotFound(err) {
			return ctrl.Result{}, r.reconcileDelete(ctx, req.NamespacedName, "")
		}
		return ctrl.Result{}, err
	}
	if !app.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, r.reconcileDelete(ctx, req.NamespacedName, app.UID)
	}

	before := app.DeepCopy()
	out := &appOutcome{}
	defer func() {
		out.err = retErr
		setAppConditions(app, out)
		if retErr == nil && firstFailure(out.readyChecks()...) == (check{}) {
			app.Status.ObservedGeneration = app.Generation
		}
		changed := !equality.Semantic.DeepEqual(before.Status, app.Status)
		retErr = errors.Join(retErr, patchStatus(ctx, r.Client, before, app, changed))
	}()
	if err := r.reconcileNormal(ctx, app, out); err != nil {
		return ctrl.Result{}, err
	}
	if firstFailure(out.readyChecks()...) == (check{}) {
		out.served = servedCheck(r.Server, snapshot.KindSharedApplication, app)
		if out.served.reason == iamv1.ReasonWaitingForServer {
			return ctrl.Result{RequeueAfter: servedRetry}, nil
		}
	}
	return ctrl.Result{}, nil
}

// reconcileNormal: find the registering organization, the client secret,
// the sharing.
func (r *SharedApplicationReconciler) reconcileNormal(ctx context.Context, app *iamv1.SharedApplication, out *appOutcome) error {
	org, err := namespaceOrg(ctx, r.Client, app.Namespace)
	if err != nil {
		return err
	}
	if org == nil || len(org.Status.Path) == 0 {
		out.organization = failed(iamv1.ReasonOrganizationNotFound,
			"namespace %q belongs to no organization; register a SharedApplication in an organization's namespace "+
				"(normally the root organization's)", app.Namespace)
		app.Status.ClientID = ""
		app.Status.SharedWith = nil
		return nil
	}
	out.organization = passed(iamv1.ReasonReconciled, "registered by organization %q", org.Name)
	app.Status.ClientID = appClientID(org, app)

	if err := r.ensureClientSecret(ctx, app, org, out); err != nil {
		return err
	}
	return r.resolveSharing(ctx, app, org, out)
}

// appClientID is the client ID of app, registered by org (placed).
func appClientID(org *iamv1.Organization, app *iamv1.SharedApplication) string {
	return rules.ClientID(org.Status.Path[0], org.Name, app.Name)
}

// ensureClientSecret: none for a Public client, the referenced one, or the
// generated one.
func (r *SharedApplicationReconciler) ensureClientSecret(ctx context.Context, app *iamv1.SharedApplication, org *iamv1.Organization, out *appOutcome) error {
	ref := app.Spec.ClientSecretRef
	generated := snapshot.GeneratedClientSecretName(app.Name)
	if app.Spec.ClientType == iamv1.ClientTypePublic || (ref != nil && ref.Name != generated) {
		// A client that became Public, or switched to a Secret of its own,
		// no longer uses the generated secret: remove it rather than leave
		// a valid credential lying around.
		if err := r.deleteGeneratedSecret(ctx, app.Namespace, app.Name, app.UID); err != nil {
			return err
		}
	}
	switch {
	case app.Spec.ClientType == iamv1.ClientTypePublic:
		app.Status.ClientSecretName = ""
		out.secret = passed(iamv1.ReasonReconciled, "a Public client has no secret")
		return nil
	case ref != nil:
		app.Status.ClientSecretName = ref.Name
		return r.checkReferencedSecret(ctx, app, ref.Name, out)
	}
	return r.ensureGeneratedSecret(ctx, app, org, out)
}

// checkReferencedSecret checks that spec.clientSecretRef names a Secret with
// a non-empty client-secret key.
func (r *SharedApplicationReconciler) checkReferencedSecret(ctx context.Context, app *iamv1.SharedApplication, name string, out *appOutcome) error {
	s := &corev1.Secret{}
	err := r.Get(ctx, types.NamespacedName{Namespace: app.Namespace, Name: name}, s)
	switch {
	case apierrors.IsNotFound(err):
		out.secret = failed(iamv1.ReasonSecretNotFound,
			"Secret %q (spec.clientSecretRef) does not exist in namespace %q; create it with the client secret under the key %q, "+
				"or remove spec.clientSecretRef to have a secret generated", name, app.Namespace, snapshot.ClientSecretKey)
		return nil
	case err != nil:
		return err
	case len(s.Data[snapshot.ClientSecretKey]) == 0:
		out.secret = failed(iamv1.ReasonSecretNotFound,
			"Secret %q (spec.clientSecretRef) has no key %q or it is empty; put the client secret there", name, snapshot.ClientSecretKey)
		return nil
	}
	out.secret = passed(iamv1.ReasonReconciled, "the client secret is in Secret %q", name)
	return nil
}

// ensureGeneratedSecret creates the application's own client Secret, and
// leaves a valid one alone: a secret, once generated, changes only when it
// is lost or damaged.
func (r *SharedApplicationReconciler) ensureGeneratedSecret(ctx context.Context, app *iamv1.SharedApplication, org *iamv1.Organization, out *appOutcome) error {
	key := types.NamespacedName{Namespace: app.Namespace, Name: snapshot.GeneratedClientSecretName(app.Name)}
	s := &corev1.Secret{}
	err := r.Get(ctx, key, s)
	if apierrors.IsNotFound(err) {
		created, cerr := r.createGeneratedSecret(ctx, app, org, key)
		if cerr == nil {
			app.Status.ClientSecretName = key.Name
			out.secret = created
			return nil
		}
		if !apierrors.IsAlreadyExists(cerr) {
			return cerr
		}
		// Ours from a moment ago, not in the cache yet, or someone else's.
		err = r.APIReader.Get(ctx, key, s)
	}
	if err != nil {
		return fmt.Errorf("secret %s: %w", key, err)
	}

	if owner := metav1.GetControllerOf(s); owner == nil || owner.UID != app.UID {
		if !isAppRef(owner, app.Name) {
			out.secret = failed(iamv1.ReasonSecretConflict,
				"Secret %q already exists and does not belong to this application; nothing in it was changed. "+
					"Delete it to have a client secret generated, or set spec.clientSecretRef to %q to use it", key.Name, key.Name)
			app.Status.ClientSecretName = ""
			return nil
		}
		// Left over from an earlier application of the same name: its
		// secret must not authenticate this one.
		if err := r.Delete(ctx, s, client.Preconditions{UID: &s.UID}); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("deleting stale secret %s: %w", key, err)
		}
		created, err := r.createGeneratedSecret(ctx, app, org, key)
		if err != nil {
			return err
		}
		app.Status.ClientSecretName = key.Name
		out.secret = created
		return nil
	}

	if validClientSecret(s.Data[snapshot.ClientSecretKey]) && string(s.Data[snapshot.ClientIDKey]) == appClientID(org, app) {
		app.Status.ClientSecretName = key.Name
		out.secret = passed(iamv1.ReasonReconciled, "the generated client secret is in Secret %q", key.Name)
		return nil
	}
	// Repair in place. The resourceVersion in the patch makes a stale cache
	// read fail instead of overwriting a newer secret.
	patch := client.MergeFromWithOptions(s.DeepCopy(), client.MergeFromWithOptimisticLock{})
	if s.Data == nil {
		s.Data = map[string][]byte{}
	}
	s.Data[snapshot.ClientIDKey] = []byte(appClientID(org, app))
	regenerated := !validClientSecret(s.Data[snapshot.ClientSecretKey])
	if regenerated {
		secret, err := newClientSecret(r.random())
		if err != nil {
			return err
		}
		s.Data[snapshot.ClientSecretKey] = []byte(secret)
	}
	if err := r.Patch(ctx, s, patch); err != nil {
		return fmt.Errorf("secret %s: %w", key, err)
	}
	if regenerated {
		r.event(app, corev1.EventTypeWarning, "ClientSecretRegenerated", "Generate",
			"Secret %s held no valid client secret; generated a new one", key.Name)
		logf.FromContext(ctx).Info("client secret regenerated", "secret", key.Name)
	}
	app.Status.ClientSecretName = key.Name
	out.secret = passed(iamv1.ReasonReconciled, "the generated client secret is in Secret %q", key.Name)
	return nil
}

// createGeneratedSecret creates the client Secret with a fresh secret.
func (r *SharedApplicationReconciler) createGeneratedSecret(ctx context.Context, app *iamv1.SharedApplication, org *iamv1.Organization, key types.NamespacedName) (check, error) {
	secret, err := newClientSecret(r.random())
	if err != nil {
		return check{}, err
	}
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: key.Name, Namespace: key.Namespace, Labels: map[string]string{
			iamv1.LabelManagedBy: iamv1.ManagedByValue, iamv1.LabelOrganization: org.Name,
		}},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{snapshot.ClientIDKey: []byte(appClientID(org, app)), snapshot.ClientSecretKey: []byte(secret)},
	}
	if err := controllerutil.SetControllerReference(app, s, r.Scheme()); err != nil {
		return check{}, err
	}
	if err := r.Create(ctx, s); err != nil {
		return check{}, err
	}
	r.event(app, corev1.EventTypeNormal, "ClientSecretGenerated", "Generate", "generated a client secret in Secret %s", key.Name)
	logf.FromContext(ctx).Info("client secret generated", "secret", key.Name)
	return passed(iamv1.ReasonReconciled, "the generated client secret is in Secret %q", key.Name), nil
}

// deleteGeneratedSecret deletes the generated client Secret of the named
// application if that application controls it: the one with uid, or, when
// uid is empty (the application is gone), any application of that name.
func (r *SharedApplicationReconciler) deleteGeneratedSecret(ctx context.Context, namespace, app string, uid types.UID) error {
	s := &corev1.Secret{}
	err := r.Get(ctx, types.NamespacedName{Namespace: namespace, Name: snapshot.GeneratedClientSecretName(app)}, s)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	owner := metav1.GetControllerOf(s)
	if !isAppRef(owner, app) || (uid != "" && owner.UID != uid) {
		return nil
	}
	if err := r.Delete(ctx, s, client.Preconditions{UID: &s.UID}); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("deleting secret %s/%s: %w", namespace, s.Name, err)
	}
	logf.FromContext(ctx).Info("generated client secret deleted", "secret", s.Name)
	return nil
}

// reconcileDelete removes the generated client Secret of an application
// that is gone or going. The garbage collector would too, but only where one
// runs, and only eventually.
func (r *SharedApplicationReconciler) reconcileDelete(ctx context.Context, key types.NamespacedName, uid types.UID) error {
	return r.deleteGeneratedSecret(ctx, key.Namespace, key.Name, uid)
}

// resolveSharing fills status.sharedWith from the registering organization's
// subtree.
func (r *SharedApplicationReconciler) resolveSharing(ctx context.Context, app *iamv1.SharedApplication, org *iamv1.Organization, out *appOutcome) error {
	var subtree []iamv1.Organization
	if s := app.Spec.Sharing; s != nil && (s.Mode == iamv1.SharingModeAll || s.Mode == iamv1.SharingModeSelected) {
		list := &iamv1.OrganizationList{}
		// Read-only use of possibly thousands of organizations: skip the
		// deep copies.
		if err := r.List(ctx, list, client.MatchingFields{indexOrgAncestor: org.Name}, client.UnsafeDisableDeepCopy); err != nil {
			return err
		}
		subtree = list.Items
	}
	app.Status.SharedWith, out.sharing = resolveSharing(app.Spec.Sharing, org.Status.Path, subtree)
	return nil
}

func (r *SharedApplicationReconciler) random() io.Reader {
	if r.Random != nil {
		return r.Random
	}
	return rand.Reader
}

func (r *SharedApplicationReconciler) event(app *iamv1.SharedApplication, typ, reason, action, note string, args ...any) {
	if r.Recorder != nil {
		r.Recorder.Eventf(app, nil, typ, reason, action, note, args...)
	}
}

// newClientSecret returns clientSecretBytes random bytes in unpadded
// base64url.
func newClientSecret(random io.Reader) (string, error) {
	b := make([]byte, clientSecretBytes)
	if _, err := io.ReadFull(random, b); err != nil {
		return "", fmt.Errorf("generating a client secret: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// validClientSecret reports whether a generated Secret still holds a secret
// of full strength: at least 43 characters of base64url.
func validClientSecret(b []byte) bool {
	if len(b) < base64.RawURLEncoding.EncodedLen(clientSecretBytes) {
		return false
	}
	_, err := base64.RawURLEncoding.Strict().DecodeString(string(b))
	return err == nil
}

// isAppRef reports whether ref points at a SharedApplication of that name.
func isAppRef(ref *metav1.OwnerReference, name string) bool {
	return ref != nil && ref.Kind == "SharedApplication" && ref.Name == name &&
		ref.APIVersion == iamv1.GroupVersion.String()
}

// SetupWithManager registers the reconciler and what it watches.
func (r *SharedApplicationReconciler) SetupWithManager(mgr ctrl.Manager, concurrency int) error {
	if err := setupSharedApplicationIndexes(mgr); err != nil {
		return err
	}
	b := ctrl.NewControllerManagedBy(mgr).
		For(&iamv1.SharedApplication{}).
		Named("sharedapplication").
		Owns(&corev1.Secret{}).
		Watches(&corev1.Secret{}, r.appsReferencingSecret()).
		Watches(&iamv1.Organization{}, r.appsAboveOrg()).
		WithOptions(controller.Options{MaxConcurrentReconciles: concurrency})
	return watchServed(b, r.Server, snapshot.KindSharedApplication).Complete(r)
}

// appsReferencingSecret maps a Secret to the applications whose
// spec.clientSecretRef names it, so creating a missing Secret makes them
// ready at once.
func (r *SharedApplicationReconciler) appsReferencingSecret() handler.EventHandler {
	return handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, obj client.Object) []reconcile.Request {
		return listRequests(ctx, r, &iamv1.SharedApplicationList{},
			client.InNamespace(obj.GetNamespace()), client.MatchingFields{indexAppClientSecret: obj.GetName()})
	})
}

// appsAboveOrg requeues the applications whose sharing an organization can
// change when it is placed, moved or removed: those registered by one of its
// ancestors (their subtree changed) or by itself (it now owns, or no longer
// owns, the namespace they live in). That is one namespace listing per level
// of the hierarchy.
func (r *SharedApplicationReconciler) appsAboveOrg() handler.EventHandler {
	enqueue := func(ctx context.Context, q queue, o *iamv1.Organization) {
		namespaces := o.Status.Path // ends with o itself
		if len(namespaces) == 0 {
			namespaces = []string{o.Name}
		}
		for _, ns := range namespaces {
			list := &iamv1.SharedApplicationList{}
			if err := r.List(ctx, list, client.InNamespace(ns)); err != nil {
				continue
			}
			for i := range list.Items {
				q.Add(reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
			}
		}
	}
	return handler.Funcs{
		CreateFunc: func(ctx context.Context, e event.CreateEvent, q queue) {
			enqueue(ctx, q, e.Object.(*iamv1.Organization))
		},
		DeleteFunc: func(ctx context.Context, e event.DeleteEvent, q queue) {
			enqueue(ctx, q, e.Object.(*iamv1.Organization))
		},
		UpdateFunc: func(ctx context.Context, e event.UpdateEvent, q queue) {
			old, cur := e.ObjectOld.(*iamv1.Organization), e.ObjectNew.(*iamv1.Organization)
			if slices.Equal(old.Status.Path, cur.Status.Path) && old.Status.Namespace == cur.Status.Namespace {
				return
			}
			enqueue(ctx, q, old)
			enqueue(ctx, q, cur)
		},
	}
}
