package controller

import (
	"slices"

	"k8s.io/apimachinery/pkg/api/meta"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/rules"
)

// appOutcome collects what one reconcile pass of a SharedApplication found;
// setAppConditions turns it into conditions.
type appOutcome struct {
	organization check // the application lives in an organization's namespace
	secret       check // the client secret is in place (or not needed)
	sharing      check // every organization it is shared with exists
	served       check // the OIDC server serves this generation
	// err is an unexpected error that ends the pass; it is retried.
	err error
}

// readyChecks is the ordered chain that decides Ready.
func (o *appOutcome) readyChecks() []check {
	return []check{o.organization, o.secret, o.sharing, o.served}
}

// setAppConditions sets SecretFound and Ready from the outcome of a pass.
func setAppConditions(app *iamv1.SharedApplication, out *appOutcome) {
	gen := app.Generation
	meta.SetStatusCondition(&app.Status.Conditions, conditionOf(iamv1.ConditionSecretFound, gen, out.secret, out.organization))
	meta.SetStatusCondition(&app.Status.Conditions, readyCondition(gen, out.readyChecks(), out.err,
		"the client is registered and shared as specified"))
}

// resolveSharing decides which organizations an application registered by
// the organization at registeringPath is shared with, by rules.ResolveSharing
// (the snapshot serves by the same rule). subtree holds the registering
// organization's descendants (any order, possibly with organizations that do
// not own their namespace, which are skipped).
//
// A reference that resolves to no organization fails the check with
// SharedOrganizationNotFound, and the application is still shared with the
// references that do resolve: one missing organization must not lock the
// others out.
func resolveSharing(sharing *iamv1.ApplicationSharing, registeringPath []string, subtree []iamv1.Organization) ([]string, check) {
	registering := registeringPath[len(registeringPath)-1]
	placed := make(map[string]*iamv1.Organization, len(subtree))
	for i := range subtree {
		o := &subtree[i]
		if o.Status.Namespace == o.Name && o.Name != registering && len(o.Status.Path) > len(registeringPath) {
			placed[o.Name] = o
		}
	}
	res := rules.ResolveSharing(sharing, registeringPath, func(path []string) bool {
		o := placed[path[len(path)-1]]
		return o != nil && slices.Equal(o.Status.Path, path)
	})

	var out []string
	for name, o := range placed {
		if res.Includes(o.Status.Path) {
			out = append(out, name)
		}
	}
	slices.Sort(out)

	if msg := res.UnresolvedMessage(); msg != "" {
		return out, failed(iamv1.ReasonSharedOrganizationNotFound, "%s", msg)
	}
	switch res.Mode {
	case iamv1.SharingModeAll:
		return out, passed(iamv1.ReasonReconciled, "shared with all %d organizations below %q", len(out), registering)
	case iamv1.SharingModeSelected:
		return out, passed(iamv1.ReasonReconciled, "shared with %d organizations", len(out))
	}
	return out, passed(iamv1.ReasonReconciled, "shared with no organization but %q", registering)
}
