package controller

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
)

func TestDomainEventsAreEmittedOnTransitionsOnly(t *testing.T) {
	verified := iamv1.DomainStatus{Name: "acme.example", Verified: true}
	pending := iamv1.DomainStatus{Name: "acme.example", Reason: iamv1.DomainPending, Message: "waiting for the TXT record"}
	failed := iamv1.DomainStatus{Name: "acme.example", Reason: iamv1.DomainFailed, Message: "lookup failed"}
	conflict := iamv1.DomainStatus{Name: "acme.example", Reason: iamv1.DomainConflict, Message: "globex holds it"}
	for _, c := range []struct {
		name          string
		before, after []iamv1.DomainStatus
		want          []string
	}{
		{"a domain that stays verified says nothing", []iamv1.DomainStatus{verified}, []iamv1.DomainStatus{verified}, nil},
		{"a domain that becomes verified is announced", []iamv1.DomainStatus{pending}, []iamv1.DomainStatus{verified}, []string{EventDomainVerified}},
		{"a new domain verified at once is announced", nil, []iamv1.DomainStatus{verified}, []string{EventDomainVerified}},
		{"a verified domain whose check now fails is lost", []iamv1.DomainStatus{verified}, []iamv1.DomainStatus{failed}, []string{EventDomainLost}},
		{"a verified domain that another organization takes is a conflict", []iamv1.DomainStatus{verified}, []iamv1.DomainStatus{conflict}, []string{EventDomainConflict}},
		{"a new domain in conflict is a conflict", nil, []iamv1.DomainStatus{conflict}, []string{EventDomainConflict}},
		{"a conflict that persists says nothing more", []iamv1.DomainStatus{conflict}, []iamv1.DomainStatus{conflict}, nil},
		{"a pending domain that stays pending says nothing", []iamv1.DomainStatus{pending}, []iamv1.DomainStatus{pending}, nil},
		{"a domain removed from the spec says nothing", []iamv1.DomainStatus{verified}, nil, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			for _, e := range domainEvents(c.before, c.after) {
				got = append(got, e.reason)
			}
			if len(got) != len(c.want) || (len(got) > 0 && got[0] != c.want[0]) {
				t.Errorf("events %v, want %v", got, c.want)
			}
		})
	}
}

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
