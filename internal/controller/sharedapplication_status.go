package controller

import (
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
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
// the organization named registering is shared with. subtree holds the
// registering organization's descendants (any order, possibly with
// organizations that do not own their namespace, which are skipped).
//
// None shares with nobody else; All with every descendant; Selected with the
// listed organizations and, with includeSubOrganizations, their
// descendants. The registering organization is always allowed and never
// listed. A listed organization that is not a descendant (it does not exist,
// or lives elsewhere in the hierarchy) fails the check with
// SharedOrganizationNotFound, and the application is still shared with the
// listed organizations that do exist: one missing organization must not lock
// the others out.
func resolveSharing(sharing *iamv1.ApplicationSharing, registering string, subtree []iamv1.Organization) ([]string, check) {
	mode := iamv1.SharingModeNone
	if sharing != nil && sharing.Mode != "" {
		mode = sharing.Mode
	}
	placed := make(map[string]*iamv1.Organization, len(subtree))
	for i := range subtree {
		o := &subtree[i]
		if o.Status.Namespace == o.Name && o.Name != registering {
			placed[o.Name] = o
		}
	}

	shared := map[string]bool{}
	var missing []string
	switch mode {
	case iamv1.SharingModeAll:
		for name := range placed {
			shared[name] = true
		}
	case iamv1.SharingModeSelected:
		listed := map[string]bool{}
		for _, name := range sharing.Organizations {
			listed[name] = true
			switch {
			case name == registering:
				// Always allowed; listing it changes nothing (but its
				// descendants count with includeSubOrganizations).
			case placed[name] != nil:
				shared[name] = true
			default:
				missing = append(missing, name)
			}
		}
		if sharing.IncludeSubOrganizations {
			for name, o := range placed {
				ancestors := o.Status.Path[:max(len(o.Status.Path)-1, 0)]
				if slices.ContainsFunc(ancestors, func(a string) bool { return listed[a] }) {
					shared[name] = true
				}
			}
		}
	}

	out := make([]string, 0, len(shared))
	for name := range shared {
		out = append(out, name)
	}
	slices.Sort(out)
	if len(out) == 0 {
		out = nil
	}

	if len(missing) > 0 {
		slices.Sort(missing)
		return out, failed(iamv1.ReasonSharedOrganizationNotFound,
			"spec.sharing.organizations lists organizations that are not in the subtree of %q: %s; "+
				"the application is shared with the listed organizations that are. Create the missing ones below %q "+
				"or remove them from the list", registering, strings.Join(missing, ", "), registering)
	}
	switch mode {
	case iamv1.SharingModeAll:
		return out, passed(iamv1.ReasonReconciled, "shared with all %d organizations below %q", len(out), registering)
	case iamv1.SharingModeSelected:
		return out, passed(iamv1.ReasonReconciled, "shared with %d organizations", len(out))
	}
	return out, passed(iamv1.ReasonReconciled, "shared with no organization but %q", registering)
}
