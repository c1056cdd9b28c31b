package snapshot

import (
	"crypto/sha256"
	"crypto/subtle"
	"slices"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
)

// Snapshot is everything the OIDC server serves, at one moment. Build makes
// it; nobody changes it afterwards (see the package documentation). The
// lookup methods accept a nil *Snapshot and then find nothing.
type Snapshot struct {
	// Version is the caller's monotonic version of this snapshot (Input.Version).
	Version int64
	// BuiltAt is Input.Now: when the caller built the snapshot.
	BuiltAt time.Time
	// SystemNamespace is the installation's system namespace.
	SystemNamespace string
	// Root is the root organization; nil when no organization is served.
	Root *Org

	orgs      map[string]*Org // by name
	orgsByID  map[string]*Org
	preorder  []*Org // depth first, children by name; subtrees are contiguous
	domains   map[string]*Org
	clients   map[string]*Client
	clientIDs []string // sorted

	usersByID       map[string]*User
	usersByEmail    map[orgKey]*User
	usersByUsername map[orgKey]*User
	federated       map[federatedKey]*User
	userCount       int

	served map[ObjectKey]ObjectVersion
}

type orgKey struct{ org, key string }

type federatedKey struct{ org, owner, idp, subject string }

// Org returns the served organization with this name, or nil.
func (s *Snapshot) Org(name string) *Org {
	if s == nil {
		return nil
	}
	return s.orgs[name]
}

// OrgByID returns the served organization with this ID (the org_id claim),
// or nil.
func (s *Snapshot) OrgByID(id string) *Org {
	if s == nil || id == "" {
		return nil
	}
	return s.orgsByID[id]
}

// Orgs returns every served organization, depth first from the root,
// children ordered by name. The slice is shared: do not modify it.
func (s *Snapshot) Orgs() []*Org {
	if s == nil {
		return nil
	}
	return s.preorder
}

// OrgByDomain returns the organization that has verified domain (compared
// without regard to case, exact match only: no subdomain fallback), or nil.
// A suspended organization is returned too; the caller refuses the login.
func (s *Snapshot) OrgByDomain(domain string) *Org {
	if s == nil {
		return nil
	}
	return s.domains[normalizeDomain(domain)]
}

// OrgForEmail routes an email address: the organization that has verified
// the domain after its last '@', or nil.
func (s *Snapshot) OrgForEmail(email string) *Org {
	i := strings.LastIndexByte(email, '@')
	if i < 0 {
		return nil
	}
	return s.OrgByDomain(email[i+1:])
}

// Client returns the served client with this client ID, or nil.
func (s *Snapshot) Client(id string) *Client {
	if s == nil {
		return nil
	}
	return s.clients[id]
}

// Clients returns every served client, ordered by client ID.
func (s *Snapshot) Clients() []*Client {
	if s == nil {
		return nil
	}
	out := make([]*Client, len(s.clientIDs))
	for i, id := range s.clientIDs {
		out[i] = s.clients[id]
	}
	return out
}

// UserByID returns the served user with this ID (the sub claim), or nil.
func (s *Snapshot) UserByID(id string) *User {
	if s == nil || id == "" {
		return nil
	}
	return s.usersByID[id]
}

// UserByEmail returns the user of the organization with this email address,
// compared without regard to case, or nil. It never matches a username: use
// it where only an email may match, such as linking an upstream account.
func (s *Snapshot) UserByEmail(org, email string) *User {
	if s == nil {
		return nil
	}
	return s.usersByEmail[orgKey{org, strings.ToLower(email)}]
}

// UserByUsername returns the user of the organization whose spec.username is
// username, compared without regard to case, or nil. Users without a
// username are found by UserByEmail.
func (s *Snapshot) UserByUsername(org, username string) *User {
	if s == nil {
		return nil
	}
	return s.usersByUsername[orgKey{org, strings.ToLower(username)}]
}

// UserByLogin returns the user of the organization that signs in with
// identifier: its email address or its username (both unique together in an
// organization, so at most one user matches), or nil.
func (s *Snapshot) UserByLogin(org, identifier string) *User {
	if u := s.UserByEmail(org, identifier); u != nil {
		return u
	}
	return s.UserByUsername(org, identifier)
}

// UserByFederatedIdentity returns the user of organization org that is
// linked to the account subject at the identity provider idp (its
// status.federatedIdentities), or nil. Identities never cross
// organizations: the same upstream account may be linked to one user in
// each organization that uses the provider.
func (s *Snapshot) UserByFederatedIdentity(org string, idp *IdentityProvider, subject string) *User {
	if s == nil || idp == nil || idp.Org == nil {
		return nil
	}
	return s.federated[federatedKey{org: org, owner: idp.Org.Name, idp: idp.Name, subject: subject}]
}

// UserCount is the number of served users.
func (s *Snapshot) UserCount() int {
	if s == nil {
		return 0
	}
	return s.userCount
}

// IdentityProvider returns the identity provider that organization org may
// use under this name: its own, or else the nearest ancestor's inheritable
// one; nil if there is none. Use it to check an IdP named in a request or a
// callback; the login page offers Org.Login.IdentityProviders.
func (s *Snapshot) IdentityProvider(org, name string) *IdentityProvider {
	o := s.Org(org)
	if o == nil {
		return nil
	}
	return o.identityProvider(name)
}

// ServedVersion says which object this snapshot serves under key, and at
// which generation.
func (s *Snapshot) ServedVersion(key ObjectKey) (ObjectVersion, bool) {
	if s == nil {
		return ObjectVersion{}, false
	}
	v, ok := s.served[key]
	return v, ok
}

// ServesObject reports whether this snapshot serves obj (of the given kind)
// exactly as it is now: same UID and same generation. A status may say
// Ready=True only when this is true and Build reported no Problem for it.
func (s *Snapshot) ServesObject(kind Kind, obj metav1.Object) bool {
	if obj == nil {
		return false
	}
	v, ok := s.ServedVersion(ObjectKey{Kind: kind, Namespace: obj.GetNamespace(), Name: obj.GetName()})
	return ok && v.UID == obj.GetUID() && v.Generation == obj.GetGeneration()
}

// Kind names one of the four Orgkeeper kinds.
type Kind string

// The kinds a snapshot serves and reports Problems about.
const (
	KindOrganization      Kind = "Organization"
	KindOrgUser           Kind = "OrgUser"
	KindSharedApplication Kind = "SharedApplication"
	KindIdentityProvider  Kind = "IdentityProvider"
)

// ObjectKey names one object.
type ObjectKey struct {
	Kind      Kind
	Namespace string
	Name      string
}

// String returns "Kind namespace/name".
func (k ObjectKey) String() string { return string(k.Kind) + " " + k.Namespace + "/" + k.Name }

// ObjectVersion is which incarnation of an object, at which generation, a
// snapshot serves. The UID tells a re-created object from its predecessor,
// whose generations started at 1 too.
type ObjectVersion struct {
	UID        types.UID
	Generation int64
}

// Problem is why Build could not serve an object, or not all of it. The
// projection controller turns it into Ready=False with Reason (a constant of
// api/v1alpha1) and Message (a sentence that says what to do). UID and
// Generation identify the object version the Problem is about.
type Problem struct {
	Object     ObjectKey
	UID        types.UID
	Generation int64
	Reason     string
	Message    string
}

// ProblemsByObject groups problems by object, keeping their order.
func ProblemsByObject(problems []Problem) map[ObjectKey][]Problem {
	out := make(map[ObjectKey][]Problem)
	for _, p := range problems {
		out[p.Object] = append(out[p.Object], p)
	}
	return out
}

// Org is a served organization with its effective settings.
type Org struct {
	// Name is the organization's handle (metadata.name), the org_handle
	// claim, and the name of its namespace.
	Name string
	// ID is the org_id claim: metadata.uid (status.id is a copy of it; it is
	// used only for input without a UID).
	ID string
	// UID and Generation are the served object's.
	UID        types.UID
	Generation int64
	// DisplayName is spec.displayName, the org_name claim.
	DisplayName string
	// Namespace is the organization's own namespace (equal to Name).
	Namespace string
	// Parent is the parent organization; nil for the root.
	Parent *Org
	// Path lists organization names from the root to this one (org_path).
	Path []string
	// Depth is the number of ancestors; 0 for the root.
	Depth int
	// Suspended is true when this organization or any ancestor is
	// suspended: no logins and no token refreshes.
	Suspended bool
	// SessionsNotBefore is the latest status.sessionsRevokedAt of this
	// organization and its ancestors: sessions and refresh tokens of its
	// users that authenticated before it are revoked. Zero when none.
	SessionsNotBefore time.Time
	// Branding is the effective look of the login pages.
	Branding Branding
	// Login is the effective set of sign-in methods.
	Login Login
	// Domains are the verified domains that route to this organization,
	// lower case, in status order. A domain verified by two organizations
	// appears only on the one that holds it (see OrgByDomain).
	Domains []string

	// admins is spec.admins, for rules.Administers.
	admins    []iamv1.Subject
	children  []*Org
	pre, end  int // preorder position; the subtree is preorder[pre:end]
	ownIdPs   map[string]*IdentityProvider
	homeRealm map[string]*IdentityProvider
	created   time.Time
	// objNamespace is where the Organization object lives (the parent's
	// namespace, or the system namespace for the root).
	objNamespace string
	idpNames     []string // effective login.identityProviders, unresolved
	idpsOwn      bool     // idpNames come from this organization's spec
}

// Children returns the child organizations, ordered by name. The slice is
// shared: do not modify it.
func (o *Org) Children() []*Org { return o.children }

// Contains reports whether other is o or one of its descendants.
func (o *Org) Contains(other *Org) bool {
	return o != nil && other != nil && o.pre <= other.pre && other.pre < o.end
}

// IdentityProviders returns the organization's own identity providers
// (served ones), ordered by name.
func (o *Org) IdentityProviders() []*IdentityProvider {
	out := make([]*IdentityProvider, 0, len(o.ownIdPs))
	for _, idp := range o.ownIdPs {
		out = append(out, idp)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// IdentityProviderForDomain returns the organization's own identity provider
// that lists domain (a verified domain of the organization) in spec.domains,
// for home-realm discovery, or nil.
func (o *Org) IdentityProviderForDomain(domain string) *IdentityProvider {
	return o.homeRealm[normalizeDomain(domain)]
}

// identityProvider resolves an IdP name for o: its own, else the nearest
// ancestor's inheritable one.
func (o *Org) identityProvider(name string) *IdentityProvider {
	if idp := o.ownIdPs[name]; idp != nil {
		return idp
	}
	for a := o.Parent; a != nil; a = a.Parent {
		if idp := a.ownIdPs[name]; idp != nil && idp.Inheritable {
			return idp
		}
	}
	return nil
}

// Branding is how an organization's login pages look. Every field is set
// (inherited or defaulted) except LogoURL and FaviconURL, which are empty when
// no organization on the path sets them: the pages then show the display
// name and the built-in favicon.
type Branding struct {
	LogoURL         string
	FaviconURL      string
	PrimaryColor    string
	BackgroundColor string
	TextColor       string
}

// DefaultBranding is what the root's unset branding fields take: neutral
// colours that keep text readable (contrast above 7:1).
var DefaultBranding = Branding{
	PrimaryColor:    "#2F4F7F",
	BackgroundColor: "#F7F7F8",
	TextColor:       "#1F2328",
}

// Defaults of the login settings at the root, as documented in
// api/v1alpha1.LoginSettings.
const (
	DefaultPassword         = true
	DefaultMFA              = iamv1.MFAOptional
	DefaultAutoRedirect     = false
	DefaultSelfRegistration = false
)

// Login is how users of an organization sign in, with every field effective.
type Login struct {
	// Password allows local password login.
	Password bool
	// IdentityProviders are offered on the login page, in order: the
	// effective spec.login.identityProviders, each resolved to the
	// organization's own IdP or an inheritable one of the nearest ancestor.
	// Names that resolve to nothing (or to an IdP that is not served) are
	// left out.
	IdentityProviders []*IdentityProvider
	// AutoRedirect is the effective setting; see RedirectTarget.
	AutoRedirect bool
	// MFA is Disabled, Optional or Required.
	MFA iamv1.MFAPolicy
	// SelfRegistration lets people of a verified domain sign up.
	SelfRegistration bool
}

// RedirectTarget returns the identity provider to send the browser to
// without showing the login page: set when AutoRedirect is on, password
// login is off and exactly one identity provider is offered.
func (l Login) RedirectTarget() *IdentityProvider {
	if l.AutoRedirect && !l.Password && len(l.IdentityProviders) == 1 {
		return l.IdentityProviders[0]
	}
	return nil
}

// User is a served OrgUser.
type User struct {
	// Name and Namespace locate the OrgUser; UID and Generation are the
	// served object's.
	Name       string
	Namespace  string
	UID        types.UID
	Generation int64
	// ID is the sub claim: metadata.uid (status.id only for input without
	// a UID).
	ID string
	// Org is the user's organization.
	Org *Org

	// Email is spec.email as written; lookups ignore case.
	Email string
	// EmailVerified is the email_verified claim (rules.EmailVerified):
	// spec.emailVerified, and only when the email's domain is held verified
	// by the user's organization or one of its descendants.
	EmailVerified bool
	// Username is spec.username, or Email when unset: the
	// preferred_username claim.
	Username    string
	DisplayName string
	GivenName   string
	FamilyName  string

	// Roles are the user's organization roles (spec.roles), in every
	// client's roles claim.
	Roles []string
	// Admin is true when Roles contains AdminRole.
	Admin bool
	// Administrator is true when the user administers their organization
	// (rules.Administers): Admin, or named by the organization's
	// spec.admins as a User or through a Group of the user's tokens. It
	// is who may switch into the organization's sub-organizations.
	Administrator bool
	// Groups is the groups claim (rules.TokenGroups): spec.groups without
	// names starting with "system:" or "orgkeeper:" (compared without
	// regard to case), duplicates, or groups that an organization outside
	// the user's organization's subtree binds as admins, then
	// AdminGroup(org) for administrators.
	Groups []string
	// ApplicationRoles maps a client ID to the user's roles for that
	// client, from spec.applicationRoles, keeping only clients that are
	// served and shared with the user's organization and roles the client
	// defines. Only clients with at least one role have an entry.
	ApplicationRoles map[string][]string

	// Disabled is spec.disabled: the user may not sign in.
	Disabled bool
	// State is status.state as the OrgUser reconciler last wrote it;
	// Disabled and LockedUntil are what decide a sign-in.
	State iamv1.OrgUserState
	// LockedUntil is status.lockedUntil; zero when not locked.
	LockedUntil time.Time
	// SessionsNotBefore is the later of status.sessionsRevokedAt and the
	// organization's SessionsNotBefore; see SessionRevoked.
	SessionsNotBefore time.Time
	// FederatedIdentities are the linked upstream accounts
	// (status.federatedIdentities).
	FederatedIdentities []iamv1.FederatedIdentity

	// PasswordHash is the argon2id PHC string from the credential Secret;
	// empty when the user has no password.
	PasswordHash string
	// TOTPSecret is the base32 TOTP secret from the credential Secret;
	// empty when the user has not enrolled.
	TOTPSecret string
}

// Locked reports whether sign-in is refused at now because of repeated
// failed attempts.
func (u *User) Locked(now time.Time) bool {
	return !u.LockedUntil.IsZero() && now.Before(u.LockedUntil)
}

// SessionRevoked reports whether a sign-in session, or a refresh token,
// that authenticated the user at authTime has been revoked (the user was
// disabled or an organization on its path suspended since). It is the one
// rule the login pages (SSO), the token endpoint (refresh) and introspection
// apply.
func (u *User) SessionRevoked(authTime time.Time) bool {
	return !u.SessionsNotBefore.IsZero() && authTime.Before(u.SessionsNotBefore)
}

// RolesFor returns the roles claim of the user for a client (api.md section
// 7: "the user's roles for this client in this org"): the application roles
// the organization assigned to the user for that client, without duplicates.
// Organization roles such as admin are not application roles; an org admin
// shows in the groups claim. The result is a new slice.
func (u *User) RolesFor(clientID string) []string {
	app := u.ApplicationRoles[clientID]
	out := make([]string, 0, len(app))
	for _, r := range app {
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

// Client is a served OIDC client (a SharedApplication).
type Client struct {
	// ID is the client_id: the SharedApplication's name.
	ID string
	// Name and Namespace locate the SharedApplication; UID and Generation
	// are the served object's.
	Name       string
	Namespace  string
	UID        types.UID
	Generation int64
	// Org is the registering organization (the application's namespace).
	Org *Org

	DisplayName string
	LogoURL     string
	// Type is Confidential or Public.
	Type iamv1.ClientType
	// RedirectURIs and PostLogoutRedirectURIs are matched exactly; URIs
	// that fail validation are left out (with a Problem).
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	// GrantTypes are the allowed grants, defaulted to authorization_code
	// and refresh_token.
	GrantTypes []iamv1.GrantType
	// Roles are the application roles it defines.
	Roles []iamv1.ApplicationRole
	// Token lifetimes, defaulted (15m, 15m, 720h) and kept within the
	// documented bounds.
	AccessTokenLifetime  time.Duration
	IDTokenLifetime      time.Duration
	RefreshTokenLifetime time.Duration
	// AccessTokenFormat is JWT or Opaque.
	AccessTokenFormat iamv1.AccessTokenFormat
	// SharingMode is the effective spec.sharing.mode.
	SharingMode iamv1.SharingMode

	// secretDigest is SHA-256 of the client secret: the snapshot keeps no
	// plain client secret, and CheckSecret compares digests in constant time.
	secretDigest [sha256.Size]byte
	hasSecret    bool
	roleSet      map[string]struct{}
	// Sharing, resolved: selected names (mode Selected without
	// includeSubOrganizations) and preorder spans (mode All, or Selected with
	// includeSubOrganizations), merged and sorted.
	selected map[string]struct{}
	spans    []span
	snap     *Snapshot
}

type span struct{ start, end int }

// Default token lifetimes and their bounds (api/v1alpha1.TokenLifetimes).
const (
	DefaultAccessTokenLifetime  = 15 * time.Minute
	DefaultIDTokenLifetime      = 15 * time.Minute
	DefaultRefreshTokenLifetime = 720 * time.Hour
)

// HasSecret reports whether the client has a client secret (Confidential
// clients always have one once served).
func (c *Client) HasSecret() bool { return c.hasSecret }

// CheckSecret reports whether presented is the client's secret, in constant
// time. It is false for a client without a secret and for an empty secret.
func (c *Client) CheckSecret(presented string) bool {
	if !c.hasSecret || presented == "" {
		return false
	}
	d := sha256.Sum256([]byte(presented))
	return subtle.ConstantTimeCompare(d[:], c.secretDigest[:]) == 1
}

// HasRedirectURI reports whether uri is one of RedirectURIs, exactly.
func (c *Client) HasRedirectURI(uri string) bool { return slices.Contains(c.RedirectURIs, uri) }

// HasPostLogoutRedirectURI reports whether uri is one of
// PostLogoutRedirectURIs, exactly.
func (c *Client) HasPostLogoutRedirectURI(uri string) bool {
	return slices.Contains(c.PostLogoutRedirectURIs, uri)
}

// HasGrantType reports whether the client may use grant g.
func (c *Client) HasGrantType(g iamv1.GrantType) bool { return slices.Contains(c.GrantTypes, g) }

// HasRole reports whether the client defines the application role.
func (c *Client) HasRole(role string) bool {
	_, ok := c.roleSet[role]
	return ok
}

// IsPublic reports whether the client is Public (no secret, PKCE S256
// required).
func (c *Client) IsPublic() bool { return c.Type == iamv1.ClientTypePublic }

// SharedWith reports whether users of the named organization may sign in to
// the client: it is the registering organization, or the resolved sharing
// includes it. Suspension is not considered here. Constant time for modes
// None, All and Selected, logarithmic in the number of listed organizations
// with includeSubOrganizations.
func (c *Client) SharedWith(org string) bool {
	o := c.snap.Org(org)
	if o == nil || !c.Org.Contains(o) {
		return false
	}
	if o == c.Org {
		return true
	}
	if _, ok := c.selected[o.Name]; ok {
		return true
	}
	// The last span starting at or before o.pre is the only one that can
	// hold it, because spans are disjoint and sorted.
	i := sort.Search(len(c.spans), func(i int) bool { return c.spans[i].start > o.pre })
	return i > 0 && o.pre < c.spans[i-1].end
}

// SharedWithOrgs returns the names of the organizations the client is shared
// with, sorted, without the registering organization: the
// status.sharedWith of the SharedApplication. It allocates; do not call it
// per request.
func (c *Client) SharedWithOrgs() []string {
	var out []string
	for name := range c.selected {
		if name != c.Org.Name {
			out = append(out, name)
		}
	}
	for _, sp := range c.spans {
		for _, o := range c.snap.preorder[sp.start:sp.end] {
			if o != c.Org {
				out = append(out, o.Name)
			}
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// IdentityProvider is a served upstream identity provider.
type IdentityProvider struct {
	// Name and Namespace locate the IdentityProvider; UID and Generation are
	// the served object's.
	Name       string
	Namespace  string
	UID        types.UID
	Generation int64
	// Org is the organization that owns it (its namespace).
	Org *Org

	DisplayName string
	Type        iamv1.IdentityProviderType
	// Issuer, ClientID and ClientSecret configure Orgkeeper as a client of
	// the provider. ClientSecret is empty for a public client (PKCE only).
	Issuer       string
	ClientID     string
	ClientSecret string
	// Scopes requested, defaulted to openid, email, profile.
	Scopes []string
	// PKCE is true unless switched off (never off without a client secret).
	PKCE bool
	// ClaimMappings has every field set (defaulted to the standard claims).
	ClaimMappings iamv1.ClaimMappings
	// Provisioning, defaulted: JustInTime, no roles, profile synced.
	ProvisioningMode   iamv1.ProvisioningMode
	DefaultRoles       []string
	SyncProfileOnLogin bool
	// Domains are the spec.domains that are verified domains of Org, lower
	// case: only these route logins (home-realm discovery).
	Domains []string
	// Inheritable makes it usable by Org's descendants.
	Inheritable bool
	// Discovery is status.discovery (empty until fetched).
	Discovery iamv1.IdentityProviderDiscovery
}

// normalizeDomain lower-cases a domain and drops one trailing dot.
func normalizeDomain(d string) string {
	return strings.TrimSuffix(strings.ToLower(d), ".")
}
