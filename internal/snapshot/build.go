package snapshot

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/rules"
)

// Input is everything Build reads. The projection controller fills it from
// its informer cache; the objects may be the cache's own copies, because
// Build never modifies them and the snapshot keeps no reference into them.
type Input struct {
	// SystemNamespace is where the root Organization and the credential
	// Secrets live.
	SystemNamespace string
	// Version becomes Snapshot.Version. The caller keeps it monotonic (for
	// example a counter incremented per build); Store refuses to go back.
	Version int64
	// Now becomes Snapshot.BuiltAt; Build reads no clock.
	Now time.Time

	Organizations []iamv1.Organization
	// Namespaces are the organizations' namespaces (the operator's, which
	// carry its managed-by label; others are ignored). They place the
	// organizations (rules.Place): one is served once the namespace of its
	// name holds it (rules.NamespaceHolds) and it sits under the root, so
	// that the issuer serves it without waiting for its status.
	Namespaces        []corev1.Namespace
	Users             []iamv1.OrgUser
	Applications      []iamv1.SharedApplication
	IdentityProviders []iamv1.IdentityProvider
	// Secrets are the referenced Secrets: client secrets of applications
	// (spec.clientSecretRef or the generated <name>-oidc-client, key
	// ClientSecretKey) and of identity providers, in their objects'
	// namespaces, and the credential Secrets (CredentialSecretName) in the
	// system namespace. Others are ignored; passing more is harmless.
	Secrets []corev1.Secret
	// AllowLoopbackIssuers serves identity providers whose issuer is plain
	// http on 127.0.0.1, [::1] or localhost, for orgkeeper dev and tests;
	// off in production, where every upstream issuer must use https.
	AllowLoopbackIssuers bool
}

// Build computes the snapshot that serves in, and the Problems of the
// objects it could not serve, or not entirely. It is pure and never panics;
// the result shares no mutable state with in. Problems come sorted by
// object, then reason.
func Build(in Input) (*Snapshot, []Problem) {
	b := &builder{
		in: in,
		s: &Snapshot{
			Version:         in.Version,
			BuiltAt:         in.Now,
			SystemNamespace: in.SystemNamespace,
			orgs:            make(map[string]*Org, len(in.Organizations)),
			orgsByID:        make(map[string]*Org, len(in.Organizations)),
			domains:         make(map[string]*Org),
			clients:         make(map[string]*Client, len(in.Applications)),
			usersByID:       make(map[string]*User, len(in.Users)),
			usersByEmail:    make(map[orgKey]*User, len(in.Users)),
			usersByUsername: make(map[orgKey]*User),
			federated:       make(map[federatedKey]*User),
			served:          make(map[ObjectKey]ObjectVersion, len(in.Organizations)+len(in.Users)+len(in.Applications)+len(in.IdentityProviders)),
		},
	}
	b.indexSecrets()
	b.buildOrgs()
	b.routeDomains()
	b.buildIdentityProviders()
	b.resolveLogins()
	b.reportLoginPolicies()
	b.buildClients()
	b.buildUsers()
	slices.SortStableFunc(b.problems, func(x, y Problem) int {
		return cmp.Or(
			cmp.Compare(x.Object.Kind, y.Object.Kind),
			cmp.Compare(x.Object.Namespace, y.Object.Namespace),
			cmp.Compare(x.Object.Name, y.Object.Name),
			cmp.Compare(x.Reason, y.Reason),
		)
	})
	return b.s, b.problems
}

type builder struct {
	in       Input
	s        *Snapshot
	problems []Problem
	secrets  map[nsName]*corev1.Secret
	// orgObjects are the names of all Organization objects, served or not.
	orgObjects map[string]struct{}
	// adminGroups are the groups that organizations bind as admins
	// (rules.TokenGroups), from their status.path and from their place.
	adminGroups rules.AdminGroupBindings
}

type nsName struct{ namespace, name string }

func (b *builder) indexSecrets() {
	b.secrets = make(map[nsName]*corev1.Secret, len(b.in.Secrets))
	for i := range b.in.Secrets {
		sec := &b.in.Secrets[i]
		b.secrets[nsName{sec.Namespace, sec.Name}] = sec
	}
}

// secretValue returns a key of a Secret. StringData is read too, so that
// hand-built input (tests, dev fixtures) works like stored Secrets.
func (b *builder) secretValue(namespace, name, key string) ([]byte, bool) {
	sec := b.secrets[nsName{namespace, name}]
	if sec == nil {
		return nil, false
	}
	if v, ok := sec.Data[key]; ok {
		return v, true
	}
	if v, ok := sec.StringData[key]; ok {
		return []byte(v), true
	}
	return nil, false
}

func (b *builder) problem(kind Kind, obj *metav1.ObjectMeta, reason, format string, args ...any) {
	b.problems = append(b.problems, Problem{
		Object:     ObjectKey{Kind: kind, Namespace: obj.Namespace, Name: obj.Name},
		UID:        obj.UID,
		Generation: obj.Generation,
		Reason:     reason,
		Message:    fmt.Sprintf(format, args...),
	})
}

func (b *builder) serve(kind Kind, obj *metav1.ObjectMeta) {
	b.s.served[ObjectKey{Kind: kind, Namespace: obj.Namespace, Name: obj.Name}] = ObjectVersion{UID: obj.UID, Generation: obj.Generation}
}

// orgMissing explains why an object in namespace ns has no served
// organization.
func (b *builder) orgMissing(kind Kind, obj *metav1.ObjectMeta) {
	if _, ok := b.orgObjects[obj.Namespace]; ok {
		b.problem(kind, obj, iamv1.ReasonOrganizationNotFound,
			"organization %q is not in the hierarchy yet (see its status); this %s is served once it is",
			obj.Namespace, kind)
		return
	}
	b.problem(kind, obj, iamv1.ReasonOrganizationNotFound,
		"namespace %q belongs to no organization; create the %s in its organization's namespace", obj.Namespace, kind)
}

// objectID is the stable ID of an object: its UID, or status.id for input
// without one.
func objectID(obj *metav1.ObjectMeta, statusID string) string {
	if obj.UID != "" {
		return string(obj.UID)
	}
	return statusID
}

// lowerSet returns the lower-cased strings as a set.
func lowerSet[S ~string](items []S) map[string]struct{} {
	set := make(map[string]struct{}, len(items))
	for _, it := range items {
		set[normalizeDomain(string(it))] = struct{}{}
	}
	return set
}

// quoteList renders names for a message: "a", "b" and "c".
func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " and " + q[len(q)-1]
}
