package snapshot

import (
	"cmp"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/rules"
	"github.com/orgkeeper/orgkeeper/internal/validation"
)

// buildOrgs serves the placed organizations, parents before children, so
// that each one inherits from an already effective parent. Where an
// organization sits comes from the namespaces (rules.Place), the rule the
// Organization reconciler writes status.path by; it is served once the
// namespace of its name holds it. What its status says plays no part: the
// issuer serves a new organization as soon as its namespace exists, and
// the reconciler writes its status once, when it is served.
func (b *builder) buildOrgs() {
	h := newInputHierarchy(b.in)
	b.adminGroups = rules.BindAdminGroups(b.in.Organizations)
	b.orgObjects = make(map[string]struct{}, len(b.in.Organizations))
	type candidate struct {
		org  *iamv1.Organization
		path []string
	}
	cands := make([]candidate, 0, len(b.in.Organizations))
	for i := range b.in.Organizations {
		o := &b.in.Organizations[i]
		b.orgObjects[o.Name] = struct{}{}
		if o.Name == "" {
			continue
		}
		p := rules.Place(o, b.in.SystemNamespace, h)
		if !p.Placed() {
			continue
		}
		path := p.Path()
		// The reconciler binds the admins of a placed organization in its
		// namespace before it writes the status.path that BindAdminGroups
		// reads (a new organization's first status may be held back), so
		// the groups it binds are indexed where the namespaces place it too.
		b.adminGroups.Bind(o, path)
		if owner, _ := h.NamespaceOwner(o.Name); owner == o {
			cands = append(cands, candidate{o, path})
		}
	}
	// Shallow first, so that every parent is built before its children.
	// Namespace names are unique and each holds one organization, so no two
	// candidates share a name.
	slices.SortFunc(cands, func(x, y candidate) int {
		return cmp.Or(cmp.Compare(len(x.path), len(y.path)), cmp.Compare(x.org.Name, y.org.Name))
	})
	for _, c := range cands {
		var parent *Org
		if len(c.path) > 1 {
			// Placed under a parent that is itself placed and held by its
			// namespace, hence built already.
			if parent = b.s.orgs[c.path[len(c.path)-2]]; parent == nil {
				continue
			}
		} else if b.s.Root != nil {
			continue
		}
		o := b.newOrg(c.org, parent)
		b.s.orgs[o.Name] = o
		if o.ID != "" && b.s.orgsByID[o.ID] == nil {
			b.s.orgsByID[o.ID] = o
		}
		if parent == nil {
			b.s.Root = o
		} else {
			parent.children = append(parent.children, o)
		}
		b.serve(KindOrganization, &c.org.ObjectMeta)
	}
	b.numberOrgs()
}

// inputHierarchy is rules.Hierarchy over a snapshot Input.
type inputHierarchy struct {
	namespaces map[string]*corev1.Namespace
	byUID      map[types.UID]*iamv1.Organization
	names      map[string]struct{}
	root       string
}

func newInputHierarchy(in Input) *inputHierarchy {
	h := &inputHierarchy{
		namespaces: make(map[string]*corev1.Namespace, len(in.Namespaces)),
		byUID:      make(map[types.UID]*iamv1.Organization, len(in.Organizations)),
		names:      make(map[string]struct{}, len(in.Organizations)),
	}
	for i := range in.Namespaces {
		h.namespaces[in.Namespaces[i].Name] = &in.Namespaces[i]
	}
	var roots []*iamv1.Organization
	for i := range in.Organizations {
		o := &in.Organizations[i]
		h.names[o.Name] = struct{}{}
		if o.UID != "" {
			h.byUID[o.UID] = o
		}
		if o.Namespace == in.SystemNamespace {
			roots = append(roots, o)
		}
	}
	h.root = rules.ChooseRoot(roots)
	return h
}

func (h *inputHierarchy) NamespaceOwner(name string) (*iamv1.Organization, bool) {
	_, named := h.names[name]
	ns := h.namespaces[name]
	if ns == nil {
		return nil, named
	}
	o := h.byUID[types.UID(ns.Annotations[iamv1.AnnotationOrganizationUID])]
	if !rules.NamespaceHolds(ns, o) {
		return nil, named
	}
	return o, named
}

func (h *inputHierarchy) Root() string { return h.root }

// numberOrgs lays the tree out depth first, children by name, so that every
// subtree is a contiguous range of preorder: Contains and sharing checks are
// then two comparisons.
func (b *builder) numberOrgs() {
	if b.s.Root == nil {
		return
	}
	b.s.preorder = make([]*Org, 0, len(b.s.orgs))
	var visit func(o *Org)
	visit = func(o *Org) {
		o.pre = len(b.s.preorder)
		b.s.preorder = append(b.s.preorder, o)
		slices.SortFunc(o.children, func(x, y *Org) int { return cmp.Compare(x.Name, y.Name) })
		for _, c := range o.children {
			visit(c)
		}
		o.end = len(b.s.preorder)
	}
	// Recursion depth is the hierarchy's depth, which the reconciler keeps
	// acyclic; the tree here is built from parents already served, so it is
	// acyclic by construction whatever the input says.
	visit(b.s.Root)
}

func (b *builder) newOrg(c *iamv1.Organization, parent *Org) *Org {
	o := &Org{
		Name:         c.Name,
		ID:           objectID(&c.ObjectMeta, c.Status.ID),
		UID:          c.UID,
		Generation:   c.Generation,
		DisplayName:  c.Spec.DisplayName,
		Namespace:    c.Name,
		Parent:       parent,
		Suspended:    c.Spec.Suspended,
		admins:       slices.Clone(c.Spec.Admins),
		created:      c.CreationTimestamp.Time,
		objNamespace: c.Namespace,
	}
	if t := c.Status.SessionsRevokedAt; t != nil {
		o.SessionsNotBefore = t.Time
	}
	if parent == nil {
		o.Path = []string{c.Name}
		o.Branding = DefaultBranding
		o.Login = Login{Password: DefaultPassword, MFA: DefaultMFA, AutoRedirect: DefaultAutoRedirect, SelfRegistration: DefaultSelfRegistration}
	} else {
		o.Path = append(slices.Clip(parent.Path), c.Name)
		o.Depth = parent.Depth + 1
		o.Suspended = o.Suspended || parent.Suspended
		if parent.SessionsNotBefore.After(o.SessionsNotBefore) {
			o.SessionsNotBefore = parent.SessionsNotBefore
		}
		o.Branding = parent.Branding
		o.Login = Login{Password: parent.Login.Password, MFA: parent.Login.MFA, AutoRedirect: parent.Login.AutoRedirect, SelfRegistration: parent.Login.SelfRegistration}
		o.idpNames = parent.idpNames
	}
	b.applyBranding(o, c)
	b.applyLogin(o, c)
	o.Domains = verifiedDomains(c)
	return o
}

// applyBranding overrides the inherited branding with the fields c sets.
// The login pages put these values into HTML and CSS, so a value that fails
// validation (stored before a CRD rule existed) is not used: the inherited
// one stays, and the organization gets a Problem.
func (b *builder) applyBranding(o *Org, c *iamv1.Organization) {
	br := c.Spec.Branding
	if br == nil {
		return
	}
	set := func(field string, dst *string, value string, check func(string) error) {
		if value == "" {
			return
		}
		if err := check(value); err != nil {
			b.problem(KindOrganization, &c.ObjectMeta, iamv1.ReasonInvalidSpec,
				"spec.branding.%s: %v; the inherited value is shown instead", field, err)
			return
		}
		*dst = value
	}
	set("logoURL", &o.Branding.LogoURL, string(br.LogoURL), rules.BrandingURL)
	set("faviconURL", &o.Branding.FaviconURL, string(br.FaviconURL), rules.BrandingURL)
	set("primaryColor", &o.Branding.PrimaryColor, string(br.PrimaryColor), validation.Color)
	set("backgroundColor", &o.Branding.BackgroundColor, string(br.BackgroundColor), validation.Color)
	set("textColor", &o.Branding.TextColor, string(br.TextColor), validation.Color)
}

// applyLogin overrides the inherited login settings with the fields c sets.
// password and mfa may only be made stricter than the parent's effective
// values (rules.InheritPassword, rules.InheritMFA): a sub-organization's
// admins cannot weaken what an ancestor decided for its subtree, and a
// setting that tries gets a Problem.
// Identity provider names are resolved later, once the IdPs are built.
func (b *builder) applyLogin(o *Org, c *iamv1.Organization) {
	l := c.Spec.Login
	if l == nil {
		return
	}
	if l.Password != nil {
		o.Login.Password = *l.Password
		if o.Parent != nil {
			var weakened bool
			if o.Login.Password, weakened = rules.InheritPassword(o.Parent.Login.Password, *l.Password); weakened {
				b.problem(KindOrganization, &c.ObjectMeta, iamv1.ReasonPolicyWeakened,
					"spec.login.password: true cannot turn local passwords back on: an ancestor organization allows federated sign-in only, "+
						"and that applies to its whole subtree; passwords stay off here")
			}
		}
	}
	if l.AutoRedirect != nil {
		o.Login.AutoRedirect = *l.AutoRedirect
	}
	if l.SelfRegistration != nil {
		o.Login.SelfRegistration = *l.SelfRegistration
	}
	switch l.MFA {
	case "":
	case iamv1.MFADisabled, iamv1.MFAOptional, iamv1.MFARequired:
		o.Login.MFA = l.MFA
		if o.Parent != nil {
			var weakened bool
			if o.Login.MFA, weakened = rules.InheritMFA(o.Parent.Login.MFA, l.MFA); weakened {
				b.problem(KindOrganization, &c.ObjectMeta, iamv1.ReasonPolicyWeakened,
					"spec.login.mfa: %s cannot loosen what an ancestor organization sets for its subtree; %s applies here",
					l.MFA, o.Login.MFA)
			}
		}
	default:
		b.problem(KindOrganization, &c.ObjectMeta, iamv1.ReasonInvalidSpec,
			"spec.login.mfa: %q is not Disabled, Optional or Required; the inherited value %s applies", l.MFA, o.Login.MFA)
	}
	// An empty list cannot be told from an unset one in the API, so both
	// inherit.
	if len(l.IdentityProviders) > 0 {
		o.idpNames = l.IdentityProviders
		o.idpsOwn = true
	}
}

// verifiedDomains returns the domains of c that route logins: verified in
// status and still claimed in spec (removing a domain from spec stops
// routing at once, before the reconciler updates status), lower case,
// without duplicates.
func verifiedDomains(c *iamv1.Organization) []string {
	if len(c.Status.Domains) == 0 || len(c.Spec.Domains) == 0 {
		return nil
	}
	claimed := lowerSet(c.Spec.Domains)
	var out []string
	for _, st := range c.Status.Domains {
		d := normalizeDomain(string(st.Name))
		if _, ok := claimed[d]; !ok || !st.Verified || slices.Contains(out, d) || validation.Domain(d) != nil {
			continue
		}
		out = append(out, d)
	}
	return out
}

// routeDomains fills the domain routing table. Only domains that an
// organization's status shows verified route (verifiedDomains), and
// rules.DomainHolder, the rule the Organization reconciler writes those
// statuses by, decides between organizations should two statuses show one
// domain: the older organization keeps it and the other stops routing it.
func (b *builder) routeDomains() {
	claims := make(map[string][]rules.DomainClaim)
	claimants := make(map[string][]*Org)
	metas := make([]metav1.ObjectMeta, len(b.s.preorder))
	for i, o := range b.s.preorder {
		metas[i] = metav1.ObjectMeta{Namespace: o.objNamespace, Name: o.Name, CreationTimestamp: metav1.NewTime(o.created)}
		for _, d := range o.Domains {
			claims[d] = append(claims[d], rules.DomainClaim{Org: &metas[i], Verified: true})
			claimants[d] = append(claimants[d], o)
		}
	}
	for d, cs := range claims {
		// Every claim here is verified, so the verification mode cannot
		// change the outcome.
		if h := rules.DomainHolder(iamv1.DomainVerificationDNS, cs); h >= 0 {
			b.s.domains[d] = claimants[d][h]
		}
	}
	for _, o := range b.s.preorder {
		held := o.Domains[:0:0]
		for _, d := range o.Domains {
			if b.s.domains[d] == o {
				held = append(held, d)
			}
		}
		o.Domains = held
	}
}

// resolveLogins turns each organization's effective identity provider names
// into the IdPs it may use. A name that the organization itself lists and
// that resolves to nothing is a Problem of that organization; names it
// inherits and cannot use are left out quietly (the ancestor that lists them
// may use them).
func (b *builder) resolveLogins() {
	for _, o := range b.s.preorder {
		var missing []string
		for _, name := range o.idpNames {
			idp := o.identityProvider(name)
			if idp == nil {
				if o.idpsOwn && !slices.Contains(missing, name) {
					missing = append(missing, name)
				}
				continue
			}
			if !slices.Contains(o.Login.IdentityProviders, idp) {
				o.Login.IdentityProviders = append(o.Login.IdentityProviders, idp)
			}
		}
		if len(missing) > 0 {
			b.orgProblem(o, iamv1.ReasonInvalidSpec,
				"spec.login.identityProviders: %s is not a served IdentityProvider of organization %q nor an inheritable one of an ancestor; "+
					"check the name and the IdentityProvider's status", quoteList(missing), o.Name)
		}
		o.idpNames = nil
	}
}

// orgProblem records a Problem of a served organization.
func (b *builder) orgProblem(o *Org, reason, format string, args ...any) {
	meta := metav1.ObjectMeta{Namespace: o.objNamespace, Name: o.Name, UID: o.UID, Generation: o.Generation}
	b.problem(KindOrganization, &meta, reason, format, args...)
}
