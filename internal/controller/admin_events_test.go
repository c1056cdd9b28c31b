package controller

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
)

func TestDiscoveryEventsAreEmittedWhenItStartsFailingAndWhenItRecovers(t *testing.T) {
	cond := func(s metav1.ConditionStatus) []metav1.Condition {
		return []metav1.Condition{{Type: iamv1.ConditionDiscoveryReady, Status: s, Reason: "X"}}
	}
	ok := passed(iamv1.ReasonReconciled, "fetched")
	bad := failed(iamv1.ReasonIssuerUnreachable, "unreachable")
	for _, c := range []struct {
		name   string
		before []metav1.Condition
		now    check
		want   string
	}{
		{"working after working says nothing", cond(metav1.ConditionTrue), ok, ""},
		{"failing after working is a failure", cond(metav1.ConditionTrue), bad, EventDiscoveryFailed},
		{"failing on the first try is a failure", nil, bad, EventDiscoveryFailed},
		{"failing after failing says nothing more", cond(metav1.ConditionFalse), bad, ""},
		{"working after failing is a recovery", cond(metav1.ConditionFalse), ok, EventDiscoveryRecovered},
		{"working on the first try says nothing", nil, ok, ""},
		{"no discovery this pass says nothing", cond(metav1.ConditionFalse), check{}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, emitted := discoveryEvent(c.before, c.now)
			if got := map[bool]string{true: e.reason}[emitted]; got != c.want {
				t.Errorf("event %q, want %q", got, c.want)
			}
		})
	}
}
