package snapshot

import (
	"cmp"
	"crypto/sha256"
	"slices"
	"sort"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/rules"
	"github.com/orgkeeper/orgkeeper/internal/validation"
)

// Bounds of token lifetimes (api/v1alpha1.TokenLifetimes). A value outside
// them (stored before the CRD rule existed) is clamped.
const (
	minTokenLifetime        = time.Minute
	maxTokenLifetime        = 24 * time.Hour
	minRefreshTokenLifetime = 5 * time.Minute
	maxRefreshTokenLifetime = 8760 * time.Hour
)

var defaultGrantTypes = []iamv1.GrantType{iamv1.GrantTypeAuthorizationCode, iamv1.GrantTypeRefreshToken}

// buildClients serves the applications of served organizations, under the
// client ID rules.ClientID gives them: the name for the root's applications,
// "<organization>/<name>" for the others, so IDs cannot clash. Should they
// anyway (a stale status), the older application keeps the ID.
func (b *builder) buildClients() {
	apps := make([]*iamv1.SharedApplication, len(b.in.Applications))
	for i := range b.in.Applications {
		apps[i] = &b.in.Applications[i]
	}
	slices.SortFunc(apps, func(x, y *iamv1.SharedApplication) int { return rules.Older(&x.ObjectMeta, &y.ObjectMeta) })
	for _, app := range apps {
		c := b.buildClient(app)
		if c == nil {
			continue
		}
		b.s.clients[c.ID] = c
		b.s.clientIDs = append(b.s.clientIDs, c.ID)
		b.serve(KindSharedApplication, &app.ObjectMeta)
	}
	sort.Strings(b.s.clientIDs)
}

func (b *builder) buildClient(app *iamv1.SharedApplication) *Client {
	meta := &app.ObjectMeta
	org := b.s.orgs[app.Namespace]
	if org == nil {
		b.orgMissing(KindSharedApplication, meta)
		return nil
	}
	if app.Name == "" {
		return nil
	}
	id := rules.ClientID(b.s.Root.Name, org.Name, app.Name)
	if other := b.s.clients[id]; other != nil {
		b.problem(KindSharedApplication, meta, iamv1.ReasonInvalidSpec,
			"metadata.name: the client ID %q is already used by another SharedApplication; client IDs are unique in the installation, so choose another name",
			id)
		return nil
	}
	spec := &app.Spec
	c := &Client{
		ID:                id,
		Name:              app.Name,
		Namespace:         app.Namespace,
		UID:               app.UID,
		Generation:        app.Generation,
		Org:               org,
		DisplayName:       spec.DisplayName,
		LogoURL:           spec.LogoURL,
		Type:              iamv1.ClientTypeConfidential,
		AccessTokenFormat: iamv1.AccessTokenFormatJWT,
		snap:              b.s,
	}
	switch spec.ClientType {
	case "", iamv1.ClientTypeConfidential:
	case iamv1.ClientTypePublic:
		c.Type = iamv1.ClientTypePublic
	default:
		b.problem(KindSharedApplication, meta, iamv1.ReasonInvalidSpec, "spec.clientType: %q is not Confidential or Public", spec.ClientType)
		return nil
	}
	if c.LogoURL != "" && validation.HTTPSURL(c.LogoURL) != nil {
		c.LogoURL = "" // shown in pages: never an unchecked URL
	}
	if !b.clientSecret(c, app) {
		return nil
	}
	c.RedirectURIs = b.redirectURIs(meta, "spec.redirectURIs", spec.RedirectURIs, c.IsPublic())
	c.PostLogoutRedirectURIs = b.redirectURIs(meta, "spec.postLogoutRedirectURIs", spec.PostLogoutRedirectURIs, c.IsPublic())
	c.GrantTypes = b.grantTypes(meta, spec.GrantTypes, c.IsPublic())
	c.Roles = slices.Clone(spec.Roles)
	c.roleSet = make(map[string]struct{}, len(spec.Roles))
	for _, r := range spec.Roles {
		c.roleSet[r.Name] = struct{}{}
	}
	lt := spec.TokenLifetimes
	if lt == nil {
		lt = &iamv1.TokenLifetimes{}
	}
	c.AccessTokenLifetime = lifetime(lt.AccessToken, DefaultAccessTokenLifetime, minTokenLifetime, maxTokenLifetime)
	c.IDTokenLifetime = lifetime(lt.IDToken, DefaultIDTokenLifetime, minTokenLifetime, maxTokenLifetime)
	c.RefreshTokenLifetime = lifetime(lt.RefreshToken, DefaultRefreshTokenLifetime, minRefreshTokenLifetime, maxRefreshTokenLifetime)
	switch spec.AccessTokenFormat {
	case "", iamv1.AccessTokenFormatJWT:
	case iamv1.AccessTokenFormatOpaque:
		c.AccessTokenFormat = iamv1.AccessTokenFormatOpaque
	default:
		b.problem(KindSharedApplication, meta, iamv1.ReasonInvalidSpec,
			"spec.accessTokenFormat: %q is not JWT or Opaque; JWT is used", spec.AccessTokenFormat)
	}
	b.resolveSharing(c, app)
	return c
}

// clientSecret loads the secret of a Confidential client. It reports false
// when the client cannot be served: a client that must authenticate and has
// nothing to authenticate with would only fail later, after the user signed
// in.
func (b *builder) clientSecret(c *Client, app *iamv1.SharedApplication) bool {
	if c.IsPublic() {
		return true
	}
	name := GeneratedClientSecretName(app.Name)
	if ref := app.Spec.ClientSecretRef; ref != nil && ref.Name != "" {
		name = ref.Name
	}
	v, ok := b.secretValue(app.Namespace, name, ClientSecretKey)
	if !ok || len(v) == 0 {
		how := "the operator generates it; see the SharedApplication's events"
		if app.Spec.ClientSecretRef != nil {
			how = "create it, or unset spec.clientSecretRef to have one generated"
		}
		b.problem(KindSharedApplication, &app.ObjectMeta, iamv1.ReasonSecretNotFound,
			"Secret %q in namespace %q has no key %q (or does not exist); %s", name, app.Namespace, ClientSecretKey, how)
		return false
	}
	c.secretDigest = sha256.Sum256(v)
	c.hasSecret = true
	return true
}

// redirectURIs keeps the URIs that pass validation, without duplicates. A
// redirect URI that the CRD would refuse today is never served, whatever is
// stored.
func (b *builder) redirectURIs(meta *metav1.ObjectMeta, field string, uris []string, public bool) []string {
	out := make([]string, 0, len(uris))
	for _, u := range uris {
		if err := validation.RedirectURI(u, public); err != nil {
			b.problem(KindSharedApplication, meta, iamv1.ReasonInvalidSpec, "%s: %v; the URI is not accepted", field, err)
			continue
		}
		if !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	return out
}

func (b *builder) grantTypes(meta *metav1.ObjectMeta, grants []iamv1.GrantType, public bool) []iamv1.GrantType {
	if len(grants) == 0 {
		return slices.Clone(defaultGrantTypes)
	}
	out := make([]iamv1.GrantType, 0, len(grants))
	for _, g := range grants {
		switch g {
		case iamv1.GrantTypeAuthorizationCode, iamv1.GrantTypeRefreshToken, iamv1.GrantTypeTokenExchange:
		case iamv1.GrantTypeClientCredentials:
			if public {
				b.problem(KindSharedApplication, meta, iamv1.ReasonInvalidSpec,
					"spec.grantTypes: a Public client cannot use client_credentials, because it has no secret; the grant is not allowed")
				continue
			}
		default:
			b.problem(KindSharedApplication, meta, iamv1.ReasonInvalidSpec, "spec.grantTypes: %q is not a supported grant type", g)
			continue
		}
		if !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	return out
}

// lifetime returns d, or def when unset or not positive, within [lo, hi].
func lifetime(d *metav1.Duration, def, lo, hi time.Duration) time.Duration {
	if d == nil || d.Duration <= 0 {
		return def
	}
	return min(max(d.Duration, lo), hi)
}

// resolveSharing turns spec.sharing, resolved by rules.ResolveSharing (the
// rule the SharedApplication reconciler reports by), into preorder spans and
// a name set. Sharing never reaches outside the registering organization's
// subtree.
func (b *builder) resolveSharing(c *Client, app *iamv1.SharedApplication) {
	res := rules.ResolveSharing(app.Spec.Sharing, c.Org.Path, func(path []string) bool {
		o := b.s.orgs[path[len(path)-1]]
		return o != nil && slices.Equal(o.Path, path)
	})
	c.SharingMode = res.Mode
	if res.InvalidMode {
		b.problem(KindSharedApplication, &app.ObjectMeta, iamv1.ReasonInvalidSpec,
			"spec.sharing.mode: %q is not None, All or Selected; the application is not shared until it is fixed", app.Spec.Sharing.Mode)
		return
	}
	switch res.Mode {
	case iamv1.SharingModeAll:
		c.spans = []span{{c.Org.pre, c.Org.end}}
	case iamv1.SharingModeSelected:
		for _, target := range res.Targets {
			o := b.s.orgs[target[len(target)-1]]
			if res.IncludeSubOrganizations {
				c.spans = append(c.spans, span{o.pre, o.end})
				continue
			}
			if c.selected == nil {
				c.selected = make(map[string]struct{}, len(res.Targets))
			}
			c.selected[o.Name] = struct{}{}
		}
		c.spans = mergeSpans(c.spans)
		if msg := res.UnresolvedMessage(); msg != "" {
			b.problem(KindSharedApplication, &app.ObjectMeta, iamv1.ReasonSharedOrganizationNotFound, "%s", msg)
		}
	}
}

// mergeSpans sorts subtree spans and drops the ones inside another. Two
// subtrees are either nested or disjoint, so no partial overlap exists.
func mergeSpans(spans []span) []span {
	if len(spans) < 2 {
		return spans
	}
	slices.SortFunc(spans, func(x, y span) int { return cmp.Or(cmp.Compare(x.start, y.start), cmp.Compare(y.end, x.end)) })
	out := spans[:1]
	for _, sp := range spans[1:] {
		last := &out[len(out)-1]
		if sp.start < last.end {
			last.end = max(last.end, sp.end)
			continue
		}
		out = append(out, sp)
	}
	return out
}
