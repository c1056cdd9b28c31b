// Package snapshot is the immutable serving model of the OIDC server: every
// organization, user, client (SharedApplication) and upstream identity
// provider as the server uses them, with inheritance, sharing and lookups
// already resolved.
//
// # Who does what
//
// The projection controller lists the four Orgkeeper kinds and the Secrets
// they reference from its informer cache, calls Build, publishes the result
// through a SnapshotSetter (normally a *Store) and only then writes statuses,
// using the returned Problems and Snapshot.ServesObject, so that Ready=True
// means "the server already serves this generation". The OIDC server and the
// login pages read Store.Load on every request and never touch the API server.
//
// Build is a pure function: it reads no clock, talks to nothing, never
// modifies its input and never panics, whatever the input. A Snapshot and
// everything reachable from it is read-only by convention: the exported
// fields are there to be read; nobody may change them after Build returns,
// because every request of every replica shares the same values.
//
// # What is served
//
//   - Organizations that the Organization reconciler has placed
//     (status.path set, ending with the organization's name, and
//     status.namespace equal to its name), whose parent is served too and
//     whose object lives in its parent's namespace (the root: in the system
//     namespace). Others are skipped without a Problem: their own reconciler
//     reports them. Branding, login settings and suspension are effective
//     values: unset fields come from the nearest ancestor, and the root's
//     unset fields take DefaultBranding and the documented login defaults.
//     A served organization can still have Problems (reason InvalidSpec): a
//     branding value that fails validation (the inherited one is shown) or
//     a name in spec.login.identityProviders that resolves to no served
//     IdentityProvider of its own or inheritable one of an ancestor.
//   - Domain routing is by exact, case-insensitive match of the email domain
//     against the verified domains of the organizations (a domain that is
//     in status.domains with verified=true and still in spec.domains). There
//     is no subdomain fallback: eu.acme.example does not route to the
//     organization that verified acme.example. Should two organizations both
//     show a domain as verified, the older one (then the smaller name) gets
//     it.
//   - Users of served organizations. Emails are unique within an
//     organization without regard to case, and so are usernames, which also
//     must not equal another user's email: the oldest OrgUser (by creation
//     time, then name) keeps an address or username, and every later one is
//     not served at all and gets a Problem (DuplicateEmail or
//     DuplicateUsername), as the OrgUser documentation promises.
//   - Clients whose registering organization is served. The client ID is the
//     SharedApplication's name; should two namespaces hold SharedApplications
//     of the same name, the older one is served and the other gets a
//     Problem. A Confidential client whose secret is missing is not served;
//     the snapshot keeps only a SHA-256 digest of client secrets and checks
//     presented ones in constant time (Client.CheckSecret). Sharing, as
//     documented on the API: None, the registering organization only; All,
//     its whole subtree; Selected, the listed organizations (plus their
//     subtrees with includeSubOrganizations). Sharing never leaves the
//     registering organization's subtree: a listed organization outside it
//     is treated as not found (SharedOrganizationNotFound) and the others
//     are still shared with.
//   - Identity providers of served organizations whose OIDC configuration is
//     usable and whose client secret (if one is referenced) exists.
//
// IDs (Org.ID, the org_id claim; User.ID, the sub claim) are the objects'
// metadata.uid, which status.id copies; status.id is read only when an
// object has no UID (hand-built input).
//
// An object that is served despite a Problem (for example an application
// shared with an organization that does not exist) is served as far as it
// can be; its status should still say Ready=False with the Problem's reason.
//
// # Credentials
//
// Password hashes and TOTP secrets live in one Secret per user in the system
// namespace, named CredentialSecretName(user ID), under the keys
// CredentialPasswordKey and CredentialTOTPKey. The OrgUser reconciler writes
// them; Build reads them into User.PasswordHash and User.TOTPSecret.
package snapshot
