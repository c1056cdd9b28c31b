package snapshot

import (
	"cmp"
	"slices"
	"strings"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/rules"
	"github.com/orgkeeper/orgkeeper/internal/validation"
)

// buildUsers serves the users of served organizations, oldest first within
// each organization, so that the oldest user keeps a contested email or
// username and later ones are not served.
func (b *builder) buildUsers() {
	users := make([]*iamv1.OrgUser, len(b.in.Users))
	for i := range b.in.Users {
		users[i] = &b.in.Users[i]
	}
	slices.SortFunc(users, func(x, y *iamv1.OrgUser) int {
		return cmp.Or(cmp.Compare(x.Namespace, y.Namespace), rules.Older(&x.ObjectMeta, &y.ObjectMeta))
	})
	ub := &userBuild{
		objects: make(map[*User]*iamv1.OrgUser, len(users)),
		bound:   b.adminGroups,
	}
	for _, in := range users {
		if u := b.buildUser(in, ub); u != nil {
			ub.objects[u] = in
			b.serve(KindOrgUser, &in.ObjectMeta)
		}
	}
}

// userBuild is what buildUsers computes once for all users.
type userBuild struct {
	// objects are the OrgUsers of the served users, for the identifier rule.
	objects map[*User]*iamv1.OrgUser
	// bound are the groups that organizations bind as admins.
	bound rules.AdminGroupBindings
}

func (b *builder) buildUser(in *iamv1.OrgUser, ub *userBuild) *User {
	meta := &in.ObjectMeta
	org := b.s.orgs[in.Namespace]
	if org == nil {
		b.orgMissing(KindOrgUser, meta)
		return nil
	}
	spec := &in.Spec
	if err := validation.Email(spec.Email); err != nil {
		b.problem(KindOrgUser, meta, iamv1.ReasonInvalidSpec, "spec.email: %v", err)
		return nil
	}
	id := objectID(meta, in.Status.ID)
	if id == "" || b.s.usersByID[id] != nil {
		// Only hand-built input lacks a UID or repeats one.
		b.problem(KindOrgUser, meta, iamv1.ReasonInvalidSpec, "the OrgUser has no unique metadata.uid")
		return nil
	}

	// The served users sharing an identifier hold their own (users are
	// built oldest first); rules decides, as for the OrgUser's status.
	claimant := rules.ClaimantOf(in)
	var holders []rules.Claimant
	for _, ident := range claimant.Identifiers() {
		if other := b.identifierHolder(orgKey{org.Name, ident}); other != nil && ub.objects[other] != nil {
			holders = append(holders, rules.ClaimantOf(ub.objects[other]))
		}
	}
	if c := rules.UserIdentifierConflict(claimant, holders); c.Conflicted() {
		b.problem(KindOrgUser, meta, c.Reason, "%s", c.Message)
		return nil
	}
	emailKey := orgKey{org.Name, strings.ToLower(spec.Email)}
	var usernameKey orgKey
	if spec.Username != "" {
		usernameKey = orgKey{org.Name, strings.ToLower(spec.Username)}
	}

	u := &User{
		Name:        in.Name,
		Namespace:   in.Namespace,
		UID:         in.UID,
		Generation:  in.Generation,
		ID:          id,
		Org:         org,
		Email:       spec.Email,
		Username:    cmp.Or(spec.Username, spec.Email),
		DisplayName: spec.DisplayName,
		GivenName:   spec.GivenName,
		FamilyName:  spec.FamilyName,
		Roles:       slices.Clone(spec.Roles),
		Admin:       slices.Contains(spec.Roles, AdminRole),
		Disabled:    spec.Disabled,
		State:       in.Status.State,

		FederatedIdentities: slices.Clone(in.Status.FederatedIdentities),
	}
	if t := in.Status.LockedUntil; t != nil {
		u.LockedUntil = t.Time
	}
	u.SessionsNotBefore = org.SessionsNotBefore
	if t := in.Status.SessionsRevokedAt; t != nil && t.After(u.SessionsNotBefore) {
		u.SessionsNotBefore = t.Time
	}
	u.Groups, _ = rules.TokenGroups(spec.Groups, org.Path, u.Admin, ub.bound)
	u.Administrator = rules.Administers(org.Name, org.admins, u.Username, u.Admin, u.Groups)
	u.EmailVerified, _ = rules.EmailVerified(spec.EmailVerified, spec.Email, org.Path, b.domainHolderPath)
	u.ApplicationRoles = b.applicationRoles(spec.ApplicationRoles, org.Name)
	if v, ok := b.secretValue(b.in.SystemNamespace, CredentialSecretName(id), CredentialPasswordKey); ok {
		u.PasswordHash = string(v)
	}
	if v, ok := b.secretValue(b.in.SystemNamespace, CredentialSecretName(id), CredentialTOTPKey); ok {
		u.TOTPSecret = string(v)
	}

	b.s.usersByID[id] = u
	b.s.usersByEmail[emailKey] = u
	if spec.Username != "" {
		b.s.usersByUsername[usernameKey] = u
	}
	for _, fi := range u.FederatedIdentities {
		key := federatedKey{org: org.Name, owner: cmp.Or(fi.Organization, org.Name), idp: fi.IdentityProvider, subject: fi.Subject}
		if fi.IdentityProvider != "" && fi.Subject != "" && b.s.federated[key] == nil {
			b.s.federated[key] = u
		}
	}
	b.s.userCount++
	return u
}

// identifierHolder returns the user that already signs in with key, as
// email or as username.
func (b *builder) identifierHolder(key orgKey) *User {
	if u := b.s.usersByEmail[key]; u != nil {
		return u
	}
	return b.s.usersByUsername[key]
}

// domainHolderPath returns the path of the organization that holds domain
// verified (after routeDomains), or nil.
func (b *builder) domainHolderPath(domain string) []string {
	if o := b.s.domains[domain]; o != nil {
		return o.Path
	}
	return nil
}

// applicationRoles keeps the assignments that can appear in tokens: the
// client is served and shared with the organization, and defines the role.
// The OrgUser documentation promises that anything else puts nothing in
// tokens; it is not an error of the user.
func (b *builder) applicationRoles(assignments []iamv1.ApplicationRoleAssignment, org string) map[string][]string {
	var out map[string][]string
	for _, a := range assignments {
		c := b.s.clients[a.Application]
		if c == nil || !c.SharedWith(org) {
			continue
		}
		for _, r := range a.Roles {
			if !c.HasRole(r) || slices.Contains(out[c.ID], r) {
				continue
			}
			if out == nil {
				out = make(map[string][]string, len(assignments))
			}
			out[c.ID] = append(out[c.ID], r)
		}
	}
	return out
}
