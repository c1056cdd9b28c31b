package controller

import (
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
)

// Readiness as a chain of checks, shared by every reconciler: each phase of a
// pass yields a check, and the functions here turn checks into conditions.

// check is the outcome of one phase: ok, or a reason and a message for the
// user. The zero value means the phase did not run.
type check struct {
	ran     bool
	ok      bool
	reason  string
	message string
}

func passed(reason, format string, args ...any) check {
	return check{ran: true, ok: true, reason: reason, message: fmt.Sprintf(format, args...)}
}

func failed(reason, format string, args ...any) check {
	return check{ran: true, reason: reason, message: fmt.Sprintf(format, args...)}
}

// conditionOf turns a check into a condition: its own result when it ran,
// else the failure of the check it waits for, else Unknown.
func conditionOf(typ string, gen int64, c, waitingFor check) metav1.Condition {
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
	return cond
}

// readyCondition decides Ready from an ordered chain of checks: the first
// that ran and failed gives the reason; an unexpected error or a check that
// did not run leaves it not ready; otherwise it is True with okMessage.
func readyCondition(gen int64, checks []check, err error, okMessage string) metav1.Condition {
	ready := metav1.Condition{Type: iamv1.ConditionReady, ObservedGeneration: gen,
		Status: metav1.ConditionTrue, Reason: iamv1.ReasonReconciled, Message: okMessage}
	if f := firstFailure(checks...); f.ran {
		ready.Status, ready.Reason, ready.Message = metav1.ConditionFalse, f.reason, f.message
	} else if err != nil {
		ready.Status, ready.Reason, ready.Message = metav1.ConditionFalse, iamv1.ReasonReconciling, "retrying after an error: "+err.Error()
	} else if slices.ContainsFunc(checks, func(c check) bool { return !c.ran }) {
		ready.Status, ready.Reason, ready.Message = metav1.ConditionUnknown, iamv1.ReasonReconciling, "reconciling"
	}
	return ready
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
