package controller

import (
	"fmt"
	"net/netip"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrl "sigs.k8s.io/controller-runtime/pkg/manager"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/dnsverify"
	"github.com/orgkeeper/orgkeeper/internal/mail"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
)

// Options configure the reconcilers.
type Options struct {
	// SystemNamespace holds the operator, the root Organization, signing keys
	// and credential Secrets.
	SystemNamespace string
	// MaxConcurrentReconciles bounds the parallel reconciles per kind.
	MaxConcurrentReconciles int
	// KeyRotationPeriod is how long a signing key signs, and the server keys
	// (crypto and CSRF) are used, before the next ones take over; zero means
	// DefaultKeyRotationPeriod.
	KeyRotationPeriod time.Duration
	// Server, when set, is the serving side (the projection): every kind's
	// status then carries the snapshot build's Problems about it and says
	// Ready only once the server serves it.
	Server Server
	// AllowLoopbackIssuers accepts IdentityProviders whose issuer is plain
	// http on 127.0.0.1, [::1] or localhost: for orgkeeper dev and tests
	// only; in production every upstream issuer must use https.
	AllowLoopbackIssuers bool
	// UpstreamAllowedNetworks are the non-public networks where identity
	// providers may be reached (connector.Config.AllowedNetworks); every
	// other discovery goes to public addresses only.
	UpstreamAllowedNetworks []netip.Prefix
	// DiscoveryRecheckPeriod is how often an IdentityProvider's discovery
	// document is fetched again, so that an upstream that goes away shows in
	// its status; zero means DefaultDiscoveryRecheckPeriod.
	DiscoveryRecheckPeriod time.Duration
	// DomainResolver looks up the TXT records that verify domains under
	// domainVerification DNS; nil means the system's resolver.
	DomainResolver dnsverify.TXTResolver
	// DomainRecheckPeriod is how often a verified domain's TXT record is
	// looked up again, so that a withdrawn record unverifies it; zero means
	// DefaultDomainRecheckPeriod. Domains not (yet) verified are looked up
	// at least every minute, and failed lookups sooner, backing off.
	DomainRecheckPeriod time.Duration
	// Mail configures outgoing mail: invitations and the outbox.
	Mail MailOptions
}

// MailOptions configure outgoing mail.
type MailOptions struct {
	// Sender delivers the outbox's messages (SMTP, or .eml files in
	// dev). Nil means no mail is delivered: the outbox reconciler does not
	// run and invitations are not queued (the OrgUser's status says so).
	Sender mail.Sender
	// Snapshots gives the messages their organization's branding.
	Snapshots func() *snapshot.Snapshot
	// IssuerURL is where links point; InvitationTTL how long an
	// invitation link works (zero: DefaultInvitationTTL).
	IssuerURL     string
	InvitationTTL time.Duration
	// PerOrganization bounds the messages sent per hour for one customer
	// (OutboxReconciler.MailPerOrganization); zero means
	// DefaultOutboxMailPerOrganization.
	PerOrganization int
}

func (o Options) withDefaults() Options {
	if o.SystemNamespace == "" {
		o.SystemNamespace = "orgkeeper-system"
	}
	if o.MaxConcurrentReconciles <= 0 {
		o.MaxConcurrentReconciles = 16
	}
	if o.DomainResolver == nil {
		// The zero Config (the system's resolver) cannot fail.
		o.DomainResolver, _ = dnsverify.New(dnsverify.Config{})
	}
	return o
}

// CacheOptions returns the manager's cache options: Namespaces, Roles and
// RoleBindings are cached only when the operator manages them, so memory
// stays proportional to Orgkeeper's own objects, not to the cluster.
// Unmanaged objects are read with the uncached API reader when needed.
func CacheOptions(Options) cache.Options {
	managed := labels.SelectorFromSet(labels.Set{iamv1.LabelManagedBy: iamv1.ManagedByValue})
	return cache.Options{
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Namespace{}:   {Label: managed},
			&rbacv1.Role{}:        {Label: managed},
			&rbacv1.RoleBinding{}: {Label: managed},
		},
		DefaultTransform: cache.TransformStripManagedFields(),
	}
}

// SetupWithManager registers the field indexes and every reconciler.
func SetupWithManager(mgr ctrl.Manager, opts Options) error {
	opts = opts.withDefaults()
	if err := setupIndexes(mgr); err != nil {
		return fmt.Errorf("registering field indexes: %w", err)
	}
	orgs := &OrganizationReconciler{
		Client:              mgr.GetClient(),
		APIReader:           mgr.GetAPIReader(),
		SystemNamespace:     opts.SystemNamespace,
		Server:              opts.Server,
		DNS:                 opts.DomainResolver,
		DomainRecheckPeriod: opts.DomainRecheckPeriod,
		Recorder:            mgr.GetEventRecorder("orgkeeper-organization"),
	}
	if err := orgs.SetupWithManager(mgr, opts.MaxConcurrentReconciles); err != nil {
		return fmt.Errorf("setting up the Organization reconciler: %w", err)
	}
	apps := &SharedApplicationReconciler{
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Recorder:  mgr.GetEventRecorder("orgkeeper-sharedapplication"),
		Server:    opts.Server,
	}
	if err := apps.SetupWithManager(mgr, opts.MaxConcurrentReconciles); err != nil {
		return fmt.Errorf("setting up the SharedApplication reconciler: %w", err)
	}
	signing := &SigningKeyReconciler{
		Client:          mgr.GetClient(),
		SystemNamespace: opts.SystemNamespace,
		RotationPeriod:  opts.KeyRotationPeriod,
	}
	if err := signing.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the signing key reconciler: %w", err)
	}
	serverKeys := &ServerKeyReconciler{
		Client:          mgr.GetClient(),
		SystemNamespace: opts.SystemNamespace,
		RotationPeriod:  opts.KeyRotationPeriod,
	}
	if err := serverKeys.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the server key reconciler: %w", err)
	}
	users := &OrgUserReconciler{
		Client:          mgr.GetClient(),
		APIReader:       mgr.GetAPIReader(),
		SystemNamespace: opts.SystemNamespace,
		Recorder:        mgr.GetEventRecorder("orgkeeper-orguser"),
		Server:          opts.Server,
		Invitations: Invitations{IssuerURL: opts.Mail.IssuerURL, MailEnabled: opts.Mail.Sender != nil,
			TTL: opts.Mail.InvitationTTL},
	}
	if err := users.SetupWithManager(mgr, opts.MaxConcurrentReconciles); err != nil {
		return fmt.Errorf("setting up the OrgUser reconciler: %w", err)
	}
	idps := &IdentityProviderReconciler{
		Client:                 mgr.GetClient(),
		Server:                 opts.Server,
		AllowLoopbackIssuers:   opts.AllowLoopbackIssuers,
		AllowedNetworks:        opts.UpstreamAllowedNetworks,
		DiscoveryRecheckPeriod: opts.DiscoveryRecheckPeriod,
		Recorder:               mgr.GetEventRecorder("orgkeeper-identityprovider"),
	}
	if err := idps.SetupWithManager(mgr, opts.MaxConcurrentReconciles); err != nil {
		return fmt.Errorf("setting up the IdentityProvider reconciler: %w", err)
	}
	if opts.Mail.Sender != nil {
		outbox := &OutboxReconciler{
			Client:              mgr.GetClient(),
			APIReader:           mgr.GetAPIReader(),
			SystemNamespace:     opts.SystemNamespace,
			Sender:              opts.Mail.Sender,
			Snapshots:           opts.Mail.Snapshots,
			MailPerOrganization: opts.Mail.PerOrganization,
		}
		if err := outbox.SetupWithManager(mgr, min(opts.MaxConcurrentReconciles, 8)); err != nil {
			return fmt.Errorf("setting up the outbox reconciler: %w", err)
		}
	}
	return nil
}
