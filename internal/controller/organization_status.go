package controller

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
)

// orgOutcome collects what one reconcile pass found; setOrgConditions turns
// it into conditions.
type orgOutcome struct {
	deletion  check // ran only while the organization is being deleted
	placement check
	rootOnly  check
	namespace check
	rbac      check
	domains   check
	served    check // the OIDC server serves this generation, without Problems
	// err is an unexpected error (API server unavailable, conflict) that
	// ends the pass; it is retried.
	err error
}

// readyChecks is the ordered chain that decides Ready: the first check that
// ran and failed gives Ready its reason. Domains do not gate readiness: an
// unverified domain only stops routing by that domain.
func (o *orgOutcome) readyChecks() []check {
	checks := append(o.beforeServed(), o.served)
	if o.deletion.ran {
		// While deleting, only the deletion decides; the rest did not run.
		return []check{o.deletion}
	}
	return checks
}

// beforeServed are the checks that must pass before the server's view
// (served) is asked.
func (o *orgOutcome) beforeServed() []check {
	return []check{o.placement, o.rootOnly, o.namespace, o.rbac}
}

// setOrgConditions sets NamespaceReady, RBACReady, DomainsVerified and Ready
// from the outcome of a pass.
func setOrgConditions(org *iamv1.Organization, out *orgOutcome) {
	gen := org.Generation
	set := func(c metav1.Condition) { meta.SetStatusCondition(&org.Status.Conditions, c) }
	set(conditionOf(iamv1.ConditionNamespaceReady, gen, out.namespace, out.placement))
	set(conditionOf(iamv1.ConditionRBACReady, gen, out.rbac, firstFailure(out.placement, out.namespace)))
	set(conditionOf(iamv1.ConditionDomainsVerified, gen, out.domains, out.placement))
	set(readyCondition(gen, out.readyChecks(), out.err,
		"the organization's namespace and delegated administration are in place"))
}

// firstFailure returns the first check that ran and failed, or the zero check.
func firstFailure(checks ...check) check {
	for _, c := range checks {
		if c.ran && !c.ok {
			return c
		}
	}
	return check{}
}
