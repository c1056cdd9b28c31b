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
	// err is an unexpected error (API server unavailable, conflict) that
	// ends the pass; it is retried.
	err error
}

// readyChecks is the ordered chain that decides Ready: the first check that
// ran and failed gives Ready its reason. Domains do not gate readiness: an
// unverified domain only stops routing by that domain.
func (o *orgOutcome) readyChecks() []check {
	return []check{o.deletion, o.placement, o.rootOnly, o.namespace, o.rbac}
}

// setOrgConditions sets NamespaceReady, RBACReady, DomainsVerified and Ready
// from the outcome of a pass.
func setOrgConditions(org *iamv1.Organization, out *orgOutcome) {
	gen := org.Generation
	set := func(typ string, c check, waitingFor check) {
		cond := metav1.Condition{Type: typ, ObservedGeneration: gen}
		switch {
		case c.ran && c.ok:
			cond.Status, cond.Reason, cond.Message = metav1.ConditionTrue, c.reason, c.message
		case c.ran:
			cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, c.reason, c.message
		case waitingFor.ran && !waitingFor.ok:
			cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, waitingFor.reason, waitingFor.message
		default:
			cond.Status, cond.Reason, cond.Message = metav1.ConditionUnknown, iamv1.ReasonReconciling, "not checked yet"
		}
		meta.SetStatusCondition(&org.Status.Conditions, cond)
	}
	set(iamv1.ConditionNamespaceReady, out.namespace, out.placement)
	set(iamv1.ConditionRBACReady, out.rbac, firstFailure(out.placement, out.namespace))
	set(iamv1.ConditionDomainsVerified, out.domains, out.placement)

	ready := metav1.Condition{Type: iamv1.ConditionReady, ObservedGeneration: gen,
		Status: metav1.ConditionTrue, Reason: iamv1.ReasonReconciled, Message: "the organization's namespace and delegated administration are in place"}
	if f := firstFailure(out.readyChecks()...); f.ran {
		ready.Status, ready.Reason, ready.Message = metav1.ConditionFalse, f.reason, f.message
	} else if out.err != nil {
		ready.Status, ready.Reason, ready.Message = metav1.ConditionFalse, iamv1.ReasonReconciling, "retrying after an error: "+out.err.Error()
	} else if !out.namespace.ran || !out.rbac.ran {
		ready.Status, ready.Reason, ready.Message = metav1.ConditionUnknown, iamv1.ReasonReconciling, "reconciling"
	}
	meta.SetStatusCondition(&org.Status.Conditions, ready)
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
