// Package snapshottest builds Orgkeeper objects and snapshot.Inputs for tests,
// with functional options:
//
//	in := snapshottest.World(
//		snapshottest.Org("platform"),
//		snapshottest.Org("acme", snapshottest.WithParent("platform"), snapshottest.WithDomains("acme.example")),
//		snapshottest.User("acme", "alice", "alice@acme.example", snapshottest.WithRoles("admin")),
//		snapshottest.App("platform", "portal", snapshottest.SharedWithAll()),
//	)
//	s := snapshottest.MustBuild(t, in)
//
// Objects get the metadata the API server would give them (a UID derived
// from kind, namespace and name; generation 1). World places organizations as
// the Organization reconciler does (their status, and the namespace it makes
// for each one, which is what places them for the snapshot), stamps creation times in argument order
// (an object given earlier is older) and adds the generated client secret of
// every Confidential application without a clientSecretRef, as the
// SharedApplication reconciler would.
//
// Suites that run the real reconcilers (envtest, test/e2e) use the same
// builders and send ForCreate's copy of each object to the API server, which
// leaves out what the server and the reconcilers write themselves.
package snapshottest

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/rules"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
)

// SystemNamespace is the system namespace of every World.
const SystemNamespace = "orgkeeper-system"

// T0 is the Input.Now of every World; creation times lie in the hour before.
var T0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// Annotations that steer World; they mean nothing to Build.
const (
	unplacedAnnotation    = "snapshottest.orgkeeper.io/unplaced"
	noSecretAnnotation    = "snapshottest.orgkeeper.io/no-generated-secret"
	placeholderSecretText = "secret-of-"
)

// UID is the UID the builders give an object of kind ("org", "user", "app",
// "idp") in namespace with name. A user's UID is also its ID, the sub claim
// and the suffix of its credential Secret's name.
func UID(kind, namespace, name string) types.UID {
	return types.UID(fmt.Sprintf("uid-%s-%s-%s", kind, namespace, name))
}

// GeneratedClientSecret is the client secret World generates for a
// Confidential application without clientSecretRef.
func GeneratedClientSecret(app string) string { return placeholderSecretText + app }

func objectMeta(kind, namespace, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: namespace, Name: name, UID: UID(kind, namespace, name), Generation: 1}
}

func annotate(m *metav1.ObjectMeta, key string) {
	if m.Annotations == nil {
		m.Annotations = map[string]string{}
	}
	m.Annotations[key] = "true"
}

// Ptr returns a pointer to v, for the optional fields of the API.
func Ptr[T any](v T) *T { return &v }

// --- Organizations ---

// OrgOption changes an Organization.
type OrgOption func(*iamv1.Organization)

// Org is a root organization (in the system namespace) unless WithParent
// says otherwise.
func Org(name string, opts ...OrgOption) iamv1.Organization {
	o := iamv1.Organization{
		ObjectMeta: objectMeta("org", SystemNamespace, name),
		Spec:       iamv1.OrganizationSpec{DisplayName: "Org " + name},
	}
	for _, opt := range opts {
		opt(&o)
	}
	// The UID names the namespace the options put the organization in, as
	// UID's documentation promises.
	if o.UID == UID("org", SystemNamespace, name) {
		o.UID = UID("org", o.Namespace, name)
	}
	return o
}

// WithParent puts the organization in its parent's namespace.
func WithParent(parent string) OrgOption {
	return func(o *iamv1.Organization) { o.Namespace = parent }
}

// InSystemNamespace puts a root organization in ns rather than
// SystemNamespace, for a suite that sends it to an API server where it
// keeps its own system namespace apart from other suites'. World places
// roots of SystemNamespace only, so it leaves such a root unplaced.
func InSystemNamespace(ns string) OrgOption {
	return func(o *iamv1.Organization) { o.Namespace = ns }
}

// WithSelfService sets spec.selfService: whether and how visitors sign up
// organizations below this one.
func WithSelfService(s iamv1.SelfService) OrgOption {
	return func(o *iamv1.Organization) { o.Spec.SelfService = &s }
}

// WithDomains claims domains and marks them verified in status.
func WithDomains(domains ...string) OrgOption {
	return func(o *iamv1.Organization) {
		for _, d := range domains {
			o.Spec.Domains = append(o.Spec.Domains, iamv1.Domain(d))
			o.Status.Domains = append(o.Status.Domains, iamv1.DomainStatus{Name: iamv1.Domain(d), Verified: true})
		}
	}
}

// WithPendingDomains claims domains that are not verified yet.
func WithPendingDomains(domains ...string) OrgOption {
	return func(o *iamv1.Organization) {
		for _, d := range domains {
			o.Spec.Domains = append(o.Spec.Domains, iamv1.Domain(d))
			o.Status.Domains = append(o.Status.Domains, iamv1.DomainStatus{Name: iamv1.Domain(d), Reason: iamv1.DomainPending})
		}
	}
}

// ClaimingDomains sets spec.domains and leaves status.domains empty: the
// claim as the Organization reconciler first sees it, for a test of what
// the reconciler makes of it (WithDomains also marks them verified).
func ClaimingDomains(domains ...string) OrgOption {
	return func(o *iamv1.Organization) {
		for _, d := range domains {
			o.Spec.Domains = append(o.Spec.Domains, iamv1.Domain(d))
		}
	}
}

// OrgCreatedAt sets metadata.creationTimestamp, for a test of which of two
// organizations is the older; World keeps it rather than stamping one.
func OrgCreatedAt(t time.Time) OrgOption {
	return func(o *iamv1.Organization) { o.CreationTimestamp = metav1.NewTime(t) }
}

// WithAdminGroups adds the groups to spec.admins: their members administer
// the organization and its subtree.
func WithAdminGroups(groups ...string) OrgOption {
	return func(o *iamv1.Organization) {
		for _, g := range groups {
			o.Spec.Admins = append(o.Spec.Admins, iamv1.Subject{Kind: iamv1.SubjectGroup, Name: g})
		}
	}
}

// WithAdminUsers adds the users (usernames of the organization's own
// users) to spec.admins.
func WithAdminUsers(names ...string) OrgOption {
	return func(o *iamv1.Organization) {
		for _, n := range names {
			o.Spec.Admins = append(o.Spec.Admins, iamv1.Subject{Kind: iamv1.SubjectUser, Name: n})
		}
	}
}

// WithBranding sets spec.branding.
func WithBranding(b iamv1.Branding) OrgOption {
	return func(o *iamv1.Organization) { o.Spec.Branding = &b }
}

// WithLogin sets spec.login.
func WithLogin(l iamv1.LoginSettings) OrgOption {
	return func(o *iamv1.Organization) { o.Spec.Login = &l }
}

// WithDisplayName sets spec.displayName (the builder's default is
// "Org <name>").
func WithDisplayName(n string) OrgOption {
	return func(o *iamv1.Organization) { o.Spec.DisplayName = n }
}

// WithMFA sets spec.login.mfa, keeping the other login settings.
func WithMFA(p iamv1.MFAPolicy) OrgOption {
	return func(o *iamv1.Organization) {
		if o.Spec.Login == nil {
			o.Spec.Login = &iamv1.LoginSettings{}
		}
		o.Spec.Login.MFA = p
	}
}

// WithDomainVerification sets spec.domainVerification (root only).
func WithDomainVerification(m iamv1.DomainVerificationMode) OrgOption {
	return func(o *iamv1.Organization) { o.Spec.DomainVerification = m }
}

// OrgSessionsRevokedAt sets status.sessionsRevokedAt, as the Organization
// reconciler does when the organization was suspended and resumed: sign-ins
// before t no longer count.
func OrgSessionsRevokedAt(t time.Time) OrgOption {
	return func(o *iamv1.Organization) { o.Status.SessionsRevokedAt = &metav1.Time{Time: t} }
}

// Suspended sets spec.suspended.
func Suspended() OrgOption { return func(o *iamv1.Organization) { o.Spec.Suspended = true } }

// Unplaced keeps World from placing the organization (and so its subtree):
// as if its reconciler had not run or had refused it.
func Unplaced() OrgOption {
	return func(o *iamv1.Organization) { annotate(&o.ObjectMeta, unplacedAnnotation) }
}

// --- Users ---

// UserOption changes an OrgUser.
type UserOption func(*iamv1.OrgUser)

// User is an OrgUser of org with a verified email.
func User(org, name, email string, opts ...UserOption) iamv1.OrgUser {
	u := iamv1.OrgUser{
		ObjectMeta: objectMeta("user", org, name),
		Spec:       iamv1.OrgUserSpec{Email: email, EmailVerified: true, DisplayName: name},
	}
	for _, opt := range opts {
		opt(&u)
	}
	return u
}

// WithUsername sets spec.username.
func WithUsername(n string) UserOption { return func(u *iamv1.OrgUser) { u.Spec.Username = n } }

// WithRoles sets spec.roles.
func WithRoles(r ...string) UserOption { return func(u *iamv1.OrgUser) { u.Spec.Roles = r } }

// WithGroups sets spec.groups.
func WithGroups(g ...string) UserOption { return func(u *iamv1.OrgUser) { u.Spec.Groups = g } }

// WithApplicationRoles adds an entry to spec.applicationRoles.
func WithApplicationRoles(app string, roles ...string) UserOption {
	return func(u *iamv1.OrgUser) {
		u.Spec.ApplicationRoles = append(u.Spec.ApplicationRoles, iamv1.ApplicationRoleAssignment{Application: app, Roles: roles})
	}
}

// WithNames sets spec.displayName, givenName and familyName (the builder's
// default display name is the object's name, and the other two are empty).
func WithNames(display, given, family string) UserOption {
	return func(u *iamv1.OrgUser) {
		u.Spec.DisplayName, u.Spec.GivenName, u.Spec.FamilyName = display, given, family
	}
}

// WithEmailVerified sets spec.emailVerified (the builder's default is
// true).
func WithEmailVerified(v bool) UserOption {
	return func(u *iamv1.OrgUser) { u.Spec.EmailVerified = v }
}

// Invited sets spec.invitation.send: the OrgUser reconciler mails the user
// an invitation link.
func Invited() UserOption {
	return func(u *iamv1.OrgUser) { u.Spec.Invitation = &iamv1.OrgUserInvitation{Send: true} }
}

// UserCreatedAt sets metadata.creationTimestamp, for a test of which of two
// users holding the same identifier is the older; World keeps it rather
// than stamping one.
func UserCreatedAt(t time.Time) UserOption {
	return func(u *iamv1.OrgUser) { u.CreationTimestamp = metav1.NewTime(t) }
}

// Disabled sets spec.disabled.
func Disabled() UserOption { return func(u *iamv1.OrgUser) { u.Spec.Disabled = true } }

// LockedUntil sets status.lockedUntil, as the server's lockout write does
// after repeated failed sign-ins.
func LockedUntil(t time.Time) UserOption {
	return func(u *iamv1.OrgUser) { u.Status.LockedUntil = &metav1.Time{Time: t} }
}

// PasswordSet sets status.passwordSet, as the OrgUser reconciler does once
// it has stored the user's password hash.
func PasswordSet() UserOption { return func(u *iamv1.OrgUser) { u.Status.PasswordSet = true } }

// SessionsRevokedAt sets status.sessionsRevokedAt, as the OrgUser
// reconciler does when the user was disabled and enabled again: sign-ins
// before t no longer count.
func SessionsRevokedAt(t time.Time) UserOption {
	return func(u *iamv1.OrgUser) { u.Status.SessionsRevokedAt = &metav1.Time{Time: t} }
}

// WithInitialPassword sets spec.initialPasswordSecretRef: the Secret (in
// the user's namespace) whose key the OrgUser reconciler hashes into the
// credential Secret. For a snapshot, add a CredentialSecret instead.
func WithInitialPassword(secret, key string) UserOption {
	return func(u *iamv1.OrgUser) {
		u.Spec.InitialPasswordSecretRef = &iamv1.SecretKeyReference{Name: secret, Key: key}
	}
}

// WithFederatedIdentity links an upstream account (status.federatedIdentities);
// owner is the organization of an inherited IdP, or "".
func WithFederatedIdentity(idp, owner, subject string) UserOption {
	return func(u *iamv1.OrgUser) {
		u.Status.FederatedIdentities = append(u.Status.FederatedIdentities,
			iamv1.FederatedIdentity{IdentityProvider: idp, Organization: owner, Subject: subject})
	}
}

// --- Applications ---

// AppOption changes a SharedApplication.
type AppOption func(*iamv1.SharedApplication)

// App is a Confidential application of org with one redirect URI,
// https://<name>.example/callback.
func App(org, name string, opts ...AppOption) iamv1.SharedApplication {
	a := iamv1.SharedApplication{
		ObjectMeta: objectMeta("app", org, name),
		Spec: iamv1.SharedApplicationSpec{
			DisplayName:  "App " + name,
			RedirectURIs: []string{"https://" + name + ".example/callback"},
		},
	}
	for _, opt := range opts {
		opt(&a)
	}
	return a
}

// SharedWithAll sets sharing mode All.
func SharedWithAll() AppOption {
	return func(a *iamv1.SharedApplication) {
		a.Spec.Sharing = &iamv1.ApplicationSharing{Mode: iamv1.SharingModeAll}
	}
}

// SharedWith sets sharing mode Selected with the listed organizations.
func SharedWith(includeSubOrganizations bool, orgs ...string) AppOption {
	return func(a *iamv1.SharedApplication) {
		a.Spec.Sharing = &iamv1.ApplicationSharing{Mode: iamv1.SharingModeSelected, Organizations: orgs, IncludeSubOrganizations: includeSubOrganizations}
	}
}

// Public makes the application a Public client (no secret).
func Public() AppOption {
	return func(a *iamv1.SharedApplication) {
		a.Spec.ClientType = iamv1.ClientTypePublic
		annotate(&a.ObjectMeta, noSecretAnnotation)
	}
}

// DefiningRoles adds application roles to spec.roles.
func DefiningRoles(names ...string) AppOption {
	return func(a *iamv1.SharedApplication) {
		for _, n := range names {
			a.Spec.Roles = append(a.Spec.Roles, iamv1.ApplicationRole{Name: n})
		}
	}
}

// DescribedRole adds one application role with a description to spec.roles.
func DescribedRole(name, description string) AppOption {
	return func(a *iamv1.SharedApplication) {
		a.Spec.Roles = append(a.Spec.Roles, iamv1.ApplicationRole{Name: name, Description: description})
	}
}

// WithAppDisplayName sets spec.displayName (the builder's default is
// "App <name>").
func WithAppDisplayName(n string) AppOption {
	return func(a *iamv1.SharedApplication) { a.Spec.DisplayName = n }
}

// WithPostLogoutRedirectURIs sets spec.postLogoutRedirectURIs.
func WithPostLogoutRedirectURIs(uris ...string) AppOption {
	return func(a *iamv1.SharedApplication) { a.Spec.PostLogoutRedirectURIs = uris }
}

// WithAccessTokenFormat sets spec.accessTokenFormat.
func WithAccessTokenFormat(f iamv1.AccessTokenFormat) AppOption {
	return func(a *iamv1.SharedApplication) { a.Spec.AccessTokenFormat = f }
}

// WithClientSecretRef sets spec.clientSecretRef; World then generates no
// Secret (add one with Secret).
func WithClientSecretRef(name string) AppOption {
	return func(a *iamv1.SharedApplication) {
		a.Spec.ClientSecretRef = &iamv1.LocalSecretReference{Name: name}
		annotate(&a.ObjectMeta, noSecretAnnotation)
	}
}

// WithoutGeneratedSecret keeps World from generating the client secret, as
// before the reconciler has run.
func WithoutGeneratedSecret() AppOption {
	return func(a *iamv1.SharedApplication) { annotate(&a.ObjectMeta, noSecretAnnotation) }
}

// WithRedirectURIs sets spec.redirectURIs.
func WithRedirectURIs(uris ...string) AppOption {
	return func(a *iamv1.SharedApplication) { a.Spec.RedirectURIs = uris }
}

// WithGrantTypes sets spec.grantTypes.
func WithGrantTypes(grants ...iamv1.GrantType) AppOption {
	return func(a *iamv1.SharedApplication) { a.Spec.GrantTypes = grants }
}

// --- Identity providers ---

// IdPOption changes an IdentityProvider.
type IdPOption func(*iamv1.IdentityProvider)

// IdP is an OIDC identity provider of org with issuer
// https://<name>.idp.example, client ID orgkeeper and no client secret.
func IdP(org, name string, opts ...IdPOption) iamv1.IdentityProvider {
	i := iamv1.IdentityProvider{
		ObjectMeta: objectMeta("idp", org, name),
		Spec: iamv1.IdentityProviderSpec{
			DisplayName: "IdP " + name,
			Type:        iamv1.IdentityProviderTypeOIDC,
			OIDC: &iamv1.OIDCIdentityProvider{
				Issuer:   "https://" + name + ".idp.example",
				ClientID: "orgkeeper",
			},
		},
	}
	for _, opt := range opts {
		opt(&i)
	}
	return i
}

// Inheritable sets spec.inheritable.
func Inheritable() IdPOption { return func(i *iamv1.IdentityProvider) { i.Spec.Inheritable = true } }

// WithIdPDomains sets spec.domains (home-realm discovery).
func WithIdPDomains(d ...string) IdPOption {
	return func(i *iamv1.IdentityProvider) { i.Spec.Domains = d }
}

// WithIdPSecretRef sets spec.oidc.clientSecretRef.
func WithIdPSecretRef(name, key string) IdPOption {
	return func(i *iamv1.IdentityProvider) {
		i.Spec.OIDC.ClientSecretRef = &iamv1.SecretKeyReference{Name: name, Key: key}
	}
}

// WithIdPDisplayName sets spec.displayName (the builder's default is
// "IdP <name>").
func WithIdPDisplayName(n string) IdPOption {
	return func(i *iamv1.IdentityProvider) { i.Spec.DisplayName = n }
}

// WithIssuer sets spec.oidc.issuer.
func WithIssuer(url string) IdPOption {
	return func(i *iamv1.IdentityProvider) { i.Spec.OIDC.Issuer = url }
}

// WithIdPClientID sets spec.oidc.clientID.
func WithIdPClientID(id string) IdPOption {
	return func(i *iamv1.IdentityProvider) { i.Spec.OIDC.ClientID = id }
}

// WithProvisioning sets spec.provisioning: how sign-ins through the
// provider create or link OrgUsers, and the roles a created user gets.
func WithProvisioning(mode iamv1.ProvisioningMode, defaultRoles ...string) IdPOption {
	return func(i *iamv1.IdentityProvider) {
		i.Spec.Provisioning = &iamv1.Provisioning{Mode: mode, DefaultRoles: defaultRoles}
	}
}

// WithSyncProfileOnLogin sets spec.provisioning.syncProfileOnLogin, keeping
// the rest of spec.provisioning.
func WithSyncProfileOnLogin(v bool) IdPOption {
	return func(i *iamv1.IdentityProvider) {
		if i.Spec.Provisioning == nil {
			i.Spec.Provisioning = &iamv1.Provisioning{}
		}
		i.Spec.Provisioning.SyncProfileOnLogin = &v
	}
}

// --- Secrets ---

// Secret is a Secret with one key.
func Secret(namespace, name, key, value string) corev1.Secret {
	return corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Data:       map[string][]byte{key: []byte(value)},
	}
}

// CredentialSecret is the credential Secret of a user (see
// snapshot.CredentialSecretName) with a password hash and, if not empty, a
// TOTP secret.
func CredentialSecret(userID types.UID, passwordHash, totp string) corev1.Secret {
	s := Secret(SystemNamespace, snapshot.CredentialSecretName(string(userID)), snapshot.CredentialPasswordKey, passwordHash)
	s.Labels = map[string]string{snapshot.LabelCredentialUser: string(userID)}
	if totp != "" {
		s.Data[snapshot.CredentialTOTPKey] = []byte(totp)
	}
	return s
}

// --- The world ---

// World sorts objects (Organization, OrgUser, SharedApplication,
// IdentityProvider, Secret and Namespace values) into an Input with version 1 and Now T0;
// see the package documentation for what it adds. It panics on any other
// type: a mistake in the test.
func World(objects ...any) snapshot.Input {
	in := snapshot.Input{SystemNamespace: SystemNamespace, Version: 1, Now: T0}
	created := T0.Add(-time.Hour)
	stamp := func(m *metav1.ObjectMeta) {
		if m.CreationTimestamp.IsZero() {
			m.CreationTimestamp = metav1.NewTime(created)
		}
		created = created.Add(time.Second)
	}
	for _, obj := range objects {
		switch o := obj.(type) {
		case iamv1.Organization:
			stamp(&o.ObjectMeta)
			in.Organizations = append(in.Organizations, o)
		case iamv1.OrgUser:
			stamp(&o.ObjectMeta)
			in.Users = append(in.Users, o)
		case iamv1.SharedApplication:
			stamp(&o.ObjectMeta)
			in.Applications = append(in.Applications, o)
			if o.Annotations[noSecretAnnotation] == "" {
				in.Secrets = append(in.Secrets, Secret(o.Namespace, snapshot.GeneratedClientSecretName(o.Name),
					snapshot.ClientSecretKey, GeneratedClientSecret(o.Name)))
			}
		case iamv1.IdentityProvider:
			stamp(&o.ObjectMeta)
			in.IdentityProviders = append(in.IdentityProviders, o)
		case corev1.Secret:
			in.Secrets = append(in.Secrets, o)
		case corev1.Namespace:
			in.Namespaces = append(in.Namespaces, o)
		default:
			panic(fmt.Sprintf("snapshottest.World: unexpected %T", obj))
		}
	}
	PlaceOrgs(in.Organizations)
	given := map[string]bool{}
	for _, ns := range in.Namespaces {
		given[ns.Name] = true
	}
	for i := range in.Organizations {
		o := &in.Organizations[i]
		if o.Status.Namespace == o.Name && !given[o.Name] {
			given[o.Name] = true
			in.Namespaces = append(in.Namespaces, OrgNamespace(o))
		}
	}
	return in
}

// OrgNamespace is the namespace the Organization reconciler makes for org:
// named like it, labelled for it and annotated with its UID. World adds it
// for every organization it places, unless a Namespace of that name is
// among its objects.
func OrgNamespace(org *iamv1.Organization) corev1.Namespace {
	ns := rules.NewNamespace(org)
	ns.UID = UID("namespace", "", org.Name)
	return *ns
}

// PlaceOrgs writes the status the Organization reconciler would write
// (path, namespace, parent, depth, id) into every organization that can be
// placed: a root in the system namespace, or a child of a placed
// organization, and not marked Unplaced. Cycles are left unplaced.
func PlaceOrgs(orgs []iamv1.Organization) {
	byName := map[string]*iamv1.Organization{}
	for i := range orgs {
		if _, dup := byName[orgs[i].Name]; !dup {
			byName[orgs[i].Name] = &orgs[i]
		}
	}
	var pathOf func(o *iamv1.Organization, hops int) []string
	pathOf = func(o *iamv1.Organization, hops int) []string {
		if o.Annotations[unplacedAnnotation] != "" || hops > len(orgs) {
			return nil
		}
		if o.Namespace == SystemNamespace {
			return []string{o.Name}
		}
		parent := byName[o.Namespace]
		if parent == nil {
			return nil
		}
		pp := pathOf(parent, hops+1)
		if pp == nil {
			return nil
		}
		return append(append([]string{}, pp...), o.Name)
	}
	for i := range orgs {
		o := &orgs[i]
		path := pathOf(o, 0)
		if path == nil {
			continue
		}
		o.Status.Path = path
		o.Status.Namespace = o.Name
		o.Status.Depth = int32(len(path) - 1)
		o.Status.ID = string(o.UID)
		if len(path) > 1 {
			o.Status.Parent = path[len(path)-2]
		}
	}
}

// MustBuild builds in and fails the test if Build reports any Problem.
func MustBuild(t testing.TB, in snapshot.Input) *snapshot.Snapshot {
	t.Helper()
	s, problems := snapshot.Build(in)
	for _, p := range problems {
		t.Errorf("snapshot problem: %s: %s: %s", p.Object, p.Reason, p.Message)
	}
	if len(problems) > 0 {
		t.FailNow()
	}
	return s
}

// --- Objects for an API server ---

// Object is a kind the builders make.
type Object interface {
	iamv1.Organization | iamv1.OrgUser | iamv1.SharedApplication | iamv1.IdentityProvider | corev1.Secret
}

// ForCreate returns a deep copy of a built object as a test sends it to a
// real API server (envtest, test/e2e), where the reconcilers write status
// and place organizations themselves: without status, without the metadata
// the API server assigns (UID, generation, creation time, resource
// version) and without the annotations that steer World.
func ForCreate[T Object](obj T) *T {
	var m *metav1.ObjectMeta
	p := &obj
	switch o := any(p).(type) {
	case *iamv1.Organization:
		*o = *o.DeepCopy()
		o.Status = iamv1.OrganizationStatus{}
		m = &o.ObjectMeta
	case *iamv1.OrgUser:
		*o = *o.DeepCopy()
		o.Status = iamv1.OrgUserStatus{}
		m = &o.ObjectMeta
	case *iamv1.SharedApplication:
		*o = *o.DeepCopy()
		o.Status = iamv1.SharedApplicationStatus{}
		m = &o.ObjectMeta
	case *iamv1.IdentityProvider:
		*o = *o.DeepCopy()
		o.Status = iamv1.IdentityProviderStatus{}
		m = &o.ObjectMeta
	case *corev1.Secret:
		*o = *o.DeepCopy()
		m = &o.ObjectMeta
	}
	m.UID, m.Generation, m.ResourceVersion, m.CreationTimestamp = "", 0, "", metav1.Time{}
	delete(m.Annotations, unplacedAnnotation)
	delete(m.Annotations, noSecretAnnotation)
	if len(m.Annotations) == 0 {
		m.Annotations = nil
	}
	return p
}
