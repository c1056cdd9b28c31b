package controller

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

func TestAnInvitedUserWithALinkedIdentityIsActive(t *testing.T) {
	u := st.Ptr(st.User("acme", "ivy", "ivy@acme.example", st.Invited(), st.WithFederatedIdentity("okta", "", "s")))
	if got := userState(u, t0); got != iamv1.OrgUserStateActive {
		t.Errorf("state = %s, want Active", got)
	}
}

func TestRecordInvitationSaysWhetherTheLinkStillWorks(t *testing.T) {
	issued := t0.Add(-time.Hour)
	for _, tc := range []struct {
		name    string
		expires time.Time
		status  metav1.ConditionStatus
		reason  string
	}{
		{"a link that has not expired is queued", t0.Add(time.Hour), metav1.ConditionTrue, iamv1.ReasonInvitationQueued},
		{"a link at its expiry has expired", t0, metav1.ConditionFalse, iamv1.ReasonInvitationExpired},
		{"a link past its expiry has expired", t0.Add(-time.Minute), metav1.ConditionFalse, iamv1.ReasonInvitationExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &OrgUserReconciler{Now: func() time.Time { return t0 }}
			u := &iamv1.OrgUser{ObjectMeta: metav1.ObjectMeta{Name: "ivy", Generation: 3}, Spec: iamv1.OrgUserSpec{Email: "ivy@x.example"}}
			out := &userOutcome{}
			r.recordInvitation(u, out, issued, tc.expires)
			c := invitationCondition(u.Generation, out.invitation)
			if c.Status != tc.status || c.Reason != tc.reason || c.ObservedGeneration != 3 {
				t.Errorf("condition %+v", c)
			}
			if !u.Status.Invitation.SentAt.Time.Equal(issued) || !u.Status.Invitation.ExpiresAt.Time.Equal(tc.expires) {
				t.Errorf("status.invitation %+v", u.Status.Invitation)
			}
			if tc.status == metav1.ConditionFalse && !strings.Contains(c.Message, iamv1.AnnotationResendInvitation) {
				t.Errorf("the expired message does not say how to resend: %q", c.Message)
			}
		})
	}
}

func TestAnOpenInvitationBringsTheReconcilerBackAtItsExpiry(t *testing.T) {
	r := &OrgUserReconciler{Now: func() time.Time { return t0 }}
	exp := metav1.NewTime(t0.Add(time.Hour))
	u := &iamv1.OrgUser{Status: iamv1.OrgUserStatus{Invitation: &iamv1.OrgUserInvitationStatus{ExpiresAt: &exp}}}
	if d := r.invitationExpiry(u, 0); d != time.Hour+time.Second {
		t.Errorf("requeue after %v", d)
	}
	if d := r.invitationExpiry(u, time.Minute); d != time.Minute {
		t.Errorf("an earlier requeue (a lock ending) was replaced: %v", d)
	}
	u.Status.PasswordSet = true
	if d := r.invitationExpiry(u, 0); d != 0 {
		t.Errorf("an accepted invitation requeues after %v", d)
	}
}

func TestOutboxBackoffDoublesAndIsBounded(t *testing.T) {
	for n, want := range map[int]time.Duration{1: 2 * time.Second, 2: 4 * time.Second, 5: 32 * time.Second, 20: 5 * time.Minute} {
		if got := outboxBackoff(n); got != want {
			t.Errorf("attempt %d: %v, want %v", n, got, want)
		}
	}
}

func TestTheOutboxRemembersWhatItMarkedForAWhile(t *testing.T) {
	now := t0
	r := &OutboxReconciler{Now: func() time.Time { return now }}
	r.remember("m1", handledMessage{state: "sent"})
	if h, ok := r.handledRecently("m1"); !ok || h.state != "sent" {
		t.Fatalf("m1 forgotten at once")
	}
	if _, ok := r.handledRecently("m2"); ok {
		t.Errorf("m2 was never handled")
	}
	now = now.Add(handledMemory + time.Second)
	if _, ok := r.handledRecently("m1"); ok {
		t.Errorf("m1 remembered past handledMemory")
	}
	r.remember("m3", handledMessage{state: "failed"})
	if len(r.handled) != 1 {
		t.Errorf("old entries are not dropped: %d", len(r.handled))
	}
}
