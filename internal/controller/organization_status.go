package controller

import (
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/rules"
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
	// domainEvents report the domain state changes of the pass, emitted
	// once the status is written.
	domainEvents []domainEvent
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

// observeSuspension sets the Suspended condition from spec.suspended, and
// when it turns True (the first pass that sees the suspension) ends every
// session of the organization's subtree: status.sessionsRevokedAt becomes
// rules.SessionsRevokedAt(now), which the snapshot applies to every
// descendant (snapshot.User.SessionRevoked). Lifting the suspension keeps the
// time, so the sessions stay ended.
func observeSuspension(org *iamv1.Organization, now time.Time) {
	was := meta.IsStatusConditionTrue(org.Status.Conditions, iamv1.ConditionSuspended)
	cond := metav1.Condition{Type: iamv1.ConditionSuspended, ObservedGeneration: org.Generation,
		Status: metav1.ConditionFalse, Reason: iamv1.ReasonNotSuspended, Message: "users of the organization can sign in"}
	if org.Spec.Suspended {
		cond.Status, cond.Reason = metav1.ConditionTrue, iamv1.ReasonSuspended
		cond.Message = "spec.suspended is set: nobody of this organization or its subtree can sign in or refresh tokens, " +
			"and the sessions that existed when it was set stay ended after it is lifted"
		if !was {
			t := metav1.NewTime(rules.SessionsRevokedAt(now))
			org.Status.SessionsRevokedAt = &t
		}
	}
	meta.SetStatusCondition(&org.Status.Conditions, cond)
}
