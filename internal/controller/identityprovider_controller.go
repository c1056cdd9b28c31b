package controller

import (
	"context"
	"errors"
	"net/netip"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
)

// IdentityProviderReconciler reports on each IdentityProvider: whether it
// lives in an organization's namespace, whether its client secret exists
// (SecretFound, never the secret itself), whether the issuer's discovery
// document can be fetched and used (DiscoveryReady, recorded in
// status.discovery and checked again every DiscoveryRecheckPeriod), and the
// snapshot build's problems with it, and says Ready=True once all of that
// holds and the server serves its current generation. It writes nothing
// but the status: the provider owns no other object.
type IdentityProviderReconciler struct {
	client.Client
	// Server, when set, makes Ready wait until the OIDC server serves the
	// provider's current generation and carries the build's Problems.
	Server Server
	// AllowLoopbackIssuers accepts plain http issuers on loopback hosts, for
	// orgkeeper dev and tests; never in production.
	AllowLoopbackIssuers bool
	// AllowedNetworks are the non-public networks where providers may be
	// reached (connector.Config.AllowedNetworks).
	AllowedNetworks []netip.Prefix
	// DiscoveryRecheckPeriod is how often a working discovery is fetched
	// again, and the cap of the backoff after failures; zero means
	// DefaultDiscoveryRecheckPeriod.
	DiscoveryRecheckPeriod time.Duration
	// DiscoveryTimeout bounds one discovery fetch; zero is the connector's
	// default.
	DiscoveryTimeout time.Duration
	// Now is the clock of the recheck schedule; nil is time.Now.
	Now func() time.Time
	// Recorder emits Events when discovery starts failing or recovers
	// (admin_events.go); nil emits none.
	Recorder events.EventRecorder

	discoveries discoveries
}

func (r *IdentityProviderReconciler) now() time.Time { return nowOr(r.Now) }

func (r *IdentityProviderReconciler) recheckPeriod() time.Duration {
	if r.DiscoveryRecheckPeriod > 0 {
		return r.DiscoveryRecheckPeriod
	}
	return DefaultDiscoveryRecheckPeriod
}

// +kubebuilder:rbac:groups=iam.orgkeeper.io,resources=identityproviders,verbs=get;list;watch
// +kubebuilder:rbac:groups=iam.orgkeeper.io,resources=identityproviders/status,verbs=get;update;patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch

// Reconcile brings one IdentityProvider's status in line with what is found.
func (r *IdentityProviderReconciler) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, retErr error) {
	idp := &iamv1.IdentityProvider{}
	if err := r.Get(ctx, req.NamespacedName, idp); err != nil {
		if apierrors.IsNotFound(err) {
			r.discoveries.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !idp.DeletionTimestamp.IsZero() {
		r.discoveries.forget(req.NamespacedName)
		return ctrl.Result{}, nil // nothing to clean up; the status goes with it
	}

	before := idp.DeepCopy()
	out := &idpOutcome{}
	defer func() {
		out.err = retErr
		setIdPConditions(idp, out)
		if retErr == nil && firstFailure(out.readyChecks()...) == (check{}) {
			idp.Status.ObservedGeneration = idp.Generation
		}
		changed := !equality.Semantic.DeepEqual(before.Status, idp.Status)
		retErr = errors.Join(retErr, patchStatus(ctx, r.Client, before, idp, changed))
	}()

	if err := r.reconcileNormal(ctx, idp, out); err != nil {
		return ctrl.Result{}, err
	}
	// The next discovery attempt is due in out.recheck, whatever happens
	// to the rest: that is how an upstream going away or coming back shows.
	result := ctrl.Result{RequeueAfter: out.recheck}
	if firstFailure(out.readyChecks()...) == (check{}) {
		out.served = servedCheck(r.Server, snapshot.KindIdentityProvider, idp)
		if out.served.reason == iamv1.ReasonWaitingForServer {
			result.RequeueAfter = min(servedRetry, result.RequeueAfter)
		}
	}
	return result, nil
}

// reconcileNormal: find the organization, then the client secret.
func (r *IdentityProviderReconciler) reconcileNormal(ctx context.Context, idp *iamv1.IdentityProvider, out *idpOutcome) error {
	org, err := namespaceOrg(ctx, r.Client, idp.Namespace)
	if err != nil {
		return err
	}
	if org == nil {
		out.organization = failed(iamv1.ReasonOrganizationNotFound,
			"namespace %q belongs to no organization; create the IdentityProvider in the namespace of the organization that uses it", idp.Namespace)
		return nil
	}
	out.organization = passed(iamv1.ReasonReconciled, "identity provider of organization %q", org.Name)
	r.reconcileDiscovery(ctx, idp, out)

	var ref *iamv1.SecretKeyReference
	if idp.Spec.OIDC != nil {
		ref = idp.Spec.OIDC.ClientSecretRef
	}
	if ref == nil {
		out.secret = idpSecretCheck(idp.Namespace, nil, nil)
		return nil
	}
	s := &corev1.Secret{}
	found, err := getSecret(ctx, r.Client, types.NamespacedName{Namespace: idp.Namespace, Name: ref.Name}, s)
	if err != nil {
		return err
	}
	if !found {
		s = nil
	}
	out.secret = idpSecretCheck(idp.Namespace, ref, s)
	return nil
}

// reconcileDiscovery fetches the issuer's discovery document when due and
// records it in status.discovery; while it fails, status.discovery is
// cleared, so that nothing serves endpoints of a spec or an upstream that
// no longer answers for them.
func (r *IdentityProviderReconciler) reconcileDiscovery(ctx context.Context, idp *iamv1.IdentityProvider, out *idpOutcome) {
	if idp.Spec.OIDC == nil {
		return // the snapshot build reports the missing spec.oidc under Ready
	}
	issuer := idp.Spec.OIDC.Issuer
	res, next := r.discover(ctx, idp, issuer)
	out.discovery = discoveryCheck(issuer, res, r.recheckPeriod())
	if e, ok := discoveryEvent(idp.Status.Conditions, out.discovery); ok {
		emit(r.Recorder, idp, "Discover", e)
	}
	out.recheck = next
	if res.err != nil {
		idp.Status.Discovery = nil
		return
	}
	d := res.found.Endpoints
	d.AuthorizationResponseIssParameterSupported = res.found.IssParameterSupported
	idp.Status.Discovery = &d
}

// SetupWithManager registers the reconciler and what it watches: its
// objects, the Secrets they name, the organizations owning their
// namespaces, and the server's announcements.
func (r *IdentityProviderReconciler) SetupWithManager(mgr ctrl.Manager, concurrency int) error {
	if err := setupIdentityProviderIndexes(mgr); err != nil {
		return err
	}
	b := ctrl.NewControllerManagedBy(mgr).
		For(&iamv1.IdentityProvider{}).
		Named("identityprovider").
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, obj client.Object) []reconcile.Request {
			return listRequests(ctx, r, &iamv1.IdentityProviderList{},
				client.InNamespace(obj.GetNamespace()), client.MatchingFields{indexIdPClientSecret: obj.GetName()})
		})).
		Watches(&iamv1.Organization{}, r.idpsOfOrg()).
		WithOptions(controller.Options{MaxConcurrentReconciles: concurrency})
	return watchServed(b, r.Server, snapshot.KindIdentityProvider).Complete(r)
}

// idpsOfOrg requeues the providers in an organization's namespace when the
// organization comes to own it or stops owning it.
func (r *IdentityProviderReconciler) idpsOfOrg() handler.EventHandler {
	enqueue := func(ctx context.Context, q queue, o *iamv1.Organization) {
		for _, req := range listRequests(ctx, r, &iamv1.IdentityProviderList{}, client.InNamespace(o.Name)) {
			q.Add(req)
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
			if old, cur := e.ObjectOld.(*iamv1.Organization), e.ObjectNew.(*iamv1.Organization); old.Status.Namespace != cur.Status.Namespace {
				enqueue(ctx, q, cur)
			}
		},
	}
}
