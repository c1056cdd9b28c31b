package apiwrite

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/login"
	"github.com/orgkeeper/orgkeeper/internal/rules"
)

var _ login.UserProvisioner = (*Writer)(nil)

// IdentityProviderLabel is set on OrgUsers created on first sign-in through
// an upstream identity provider, naming it.
const IdentityProviderLabel = "iam.orgkeeper.io/identity-provider"

// FederatedUserName is the name of the OrgUser that just-in-time
// provisioning creates for subject at the identity provider idp (owned by
// owner, "" for the user's own organization): derived from a hash, so that
// two concurrent first sign-ins of one person name the same object and the
// API server lets only one of them create it.
func FederatedUserName(owner, idp, subject string) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%d:%s|%d:%s|%d:%s", len(owner), owner, len(idp), idp, len(subject), subject)))
	return "fed-" + hex.EncodeToString(sum[:])[:40]
}

// Provision writes what a sign-in through an upstream provider needs, in
// the request (not queued: the sign-in waits for it), and returns the
// OrgUser's ID (metadata.uid). Create is idempotent: AlreadyExists means
// another replica or tab created the same person's user, which is read
// back. Link and Sync patch the existing user with optimistic
// concurrency, retried on conflict. The result names the user's version
// after the write, which the sign-in waits for the snapshot to serve.
func (w *Writer) Provision(ctx context.Context, req login.ProvisionRequest) (login.ProvisionResult, error) {
	ctx, cancel := context.WithTimeout(ctx, w.opts.WriteTimeout)
	defer cancel()
	fi := iamv1.FederatedIdentity{IdentityProvider: req.IdentityProvider, Organization: req.IdentityProviderOrg, Subject: req.Subject}
	switch req.Action {
	case login.ProvisionCreate:
		return w.provisionCreate(ctx, req, fi)
	case login.ProvisionLink, login.ProvisionSync:
		if req.UserName == "" {
			return login.ProvisionResult{}, fmt.Errorf("apiwrite: %s needs the OrgUser's name", req.Action)
		}
		var res login.ProvisionResult
		err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
			u := &iamv1.OrgUser{}
			if err := w.opts.Reader.Get(ctx, types.NamespacedName{Namespace: req.Namespace, Name: req.UserName}, u); err != nil {
				return err
			}
			var err error
			if req.Action == login.ProvisionSync {
				err = w.syncProfile(ctx, u, req)
			} else {
				err = w.addIdentity(ctx, u, fi)
			}
			// A patch updates u from the answer: its generation is the
			// one written.
			res = login.ProvisionResult{UserID: string(u.UID), Generation: u.Generation}
			return err
		})
		return res, err
	default:
		return login.ProvisionResult{}, fmt.Errorf("apiwrite: unknown provisioning action %q", req.Action)
	}
}

func (w *Writer) provisionCreate(ctx context.Context, req login.ProvisionRequest, fi iamv1.FederatedIdentity) (login.ProvisionResult, error) {
	name := FederatedUserName(req.IdentityProviderOrg, req.IdentityProvider, req.Subject)
	u := &iamv1.OrgUser{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: req.Namespace,
			Labels: map[string]string{IdentityProviderLabel: req.IdentityProvider},
		},
		Spec: iamv1.OrgUserSpec{
			Email: req.Email, EmailVerified: req.EmailVerified,
			DisplayName: cut(req.Name, maxDisplayName), GivenName: cut(req.GivenName, maxGivenName), FamilyName: cut(req.FamilyName, maxFamilyName),
			// rules.TokenGroups filters groups at token time like any
			// admin-written ones; what the CRD would refuse is dropped
			// here, so that one odd upstream group cannot block the user.
			Groups: FederatedGroups(req.Groups),
			Roles:  slices.Clone(req.DefaultRoles),
		},
	}
	wanted := u.DeepCopy()
	err := w.opts.Client.Create(ctx, u)
	if apierrors.IsAlreadyExists(err) {
		u = &iamv1.OrgUser{}
		if err = w.opts.Reader.Get(ctx, types.NamespacedName{Namespace: req.Namespace, Name: name}, u); err == nil && !adoptable(u, wanted, fi) {
			return login.ProvisionResult{}, fmt.Errorf("apiwrite: OrgUser %s/%s has the name of this person's just-in-time user but was not made by a sign-in through %s; refusing to link the identity to it",
				req.Namespace, name, req.IdentityProvider)
		}
	}
	if err != nil {
		return login.ProvisionResult{}, fmt.Errorf("apiwrite: creating OrgUser %s/%s: %w", req.Namespace, name, err)
	}
	// The identity goes in through status (the subresource); the user is
	// only found by it once this is written, so retry conflicts.
	err = retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		cur := &iamv1.OrgUser{}
		if err := w.opts.Reader.Get(ctx, types.NamespacedName{Namespace: req.Namespace, Name: name}, cur); err != nil {
			return err
		}
		return w.addIdentity(ctx, cur, fi)
	})
	if err != nil {
		return login.ProvisionResult{}, fmt.Errorf("apiwrite: recording the federated identity of %s/%s: %w", req.Namespace, name, err)
	}
	return login.ProvisionResult{UserID: string(u.UID), Generation: u.Generation}, nil
}

// adoptable says whether an OrgUser found under the just-in-time name of a
// person is theirs to sign in as: it already carries this identity (an
// earlier sign-in finished), or it is exactly what a concurrent first
// sign-in creates (another replica or tab won the race) and nothing else has
// touched it. Anything else was written by someone else — an organization
// admin who pre-created the name with a password, roles or other identities
// of their choosing — and linking the upstream person to it would hand that
// person an account the admin prepared.
func adoptable(found, wanted *iamv1.OrgUser, fi iamv1.FederatedIdentity) bool {
	if slices.Contains(found.Status.FederatedIdentities, fi) {
		return true
	}
	return len(found.Status.FederatedIdentities) == 0 && !found.Status.PasswordSet &&
		found.Labels[IdentityProviderLabel] == wanted.Labels[IdentityProviderLabel] &&
		found.Spec.InitialPasswordSecretRef == nil && found.Spec.Invitation == nil &&
		found.Spec.Username == wanted.Spec.Username && found.Spec.Email == wanted.Spec.Email &&
		slices.Equal(found.Spec.Roles, wanted.Spec.Roles) && slices.Equal(found.Spec.Groups, wanted.Spec.Groups) &&
		len(found.Spec.ApplicationRoles) == 0
}

// addIdentity adds fi to the user's status.federatedIdentities, unless it is
// there; the optimistic lock makes a concurrent status write a Conflict.
func (w *Writer) addIdentity(ctx context.Context, u *iamv1.OrgUser, fi iamv1.FederatedIdentity) error {
	if slices.Contains(u.Status.FederatedIdentities, fi) {
		return nil
	}
	before := u.DeepCopy()
	u.Status.FederatedIdentities = append(u.Status.FederatedIdentities, fi)
	return w.opts.Client.Status().Patch(ctx, u, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
}

// syncProfile updates the profile fields the provider sent.
func (w *Writer) syncProfile(ctx context.Context, u *iamv1.OrgUser, req login.ProvisionRequest) error {
	before := u.DeepCopy()
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&u.Spec.Email, req.Email)
	set(&u.Spec.DisplayName, cut(req.Name, maxDisplayName))
	set(&u.Spec.GivenName, cut(req.GivenName, maxGivenName))
	set(&u.Spec.FamilyName, cut(req.FamilyName, maxFamilyName))
	if req.Email != "" {
		u.Spec.EmailVerified = req.EmailVerified
	}
	// The groups of a user this provider created follow the provider's (the
	// token rule still filters them, as any). A linked user's groups are
	// its administrators' to manage, and stay. The name proves the creation:
	// only this provider's first sign-in of this subject makes it, and a
	// user someone else made under that name is never adopted (adoptable).
	if len(req.Groups) > 0 && u.Name == FederatedUserName(req.IdentityProviderOrg, req.IdentityProvider, req.Subject) {
		u.Spec.Groups = FederatedGroups(req.Groups)
	}
	if equality.Semantic.DeepEqual(u.Spec, before.Spec) {
		return nil
	}
	return w.opts.Client.Patch(ctx, u, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
}

// Bounds of OrgUser spec fields (api/v1alpha1 validation).
const (
	maxDisplayName   = 256
	maxGivenName     = 128
	maxFamilyName    = 128
	maxGroups        = 64
	maxGroupNameSize = 256
)

// cut shortens s to max characters.
func cut(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	return string([]rune(s)[:max])
}

// FederatedGroups are the upstream groups that an OrgUser's spec.groups
// may hold: without names reserved by Kubernetes and Orgkeeper
// (rules.ReservedGroup), empty, padded or with control characters, or
// duplicates, and at most the 64 the API allows, in the order sent.
func FederatedGroups(groups []string) []string {
	var out []string
	for _, g := range groups {
		if len(out) == maxGroups {
			break
		}
		if g == "" || g != strings.TrimSpace(g) || utf8.RuneCountInString(g) > maxGroupNameSize ||
			rules.ReservedGroup(g) || strings.IndexFunc(g, unicode.IsControl) >= 0 || slices.Contains(out, g) {
			continue
		}
		out = append(out, g)
	}
	return out
}
