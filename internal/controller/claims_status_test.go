package controller

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/rules"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
)

func TestClaimsCondition(t *testing.T) {
	cases := []struct {
		name       string
		in         claimsOutcome
		wantStatus metav1.ConditionStatus
		wantReason string
		wantInMsg  []string
		notInMsg   []string
	}{
		{"before the check ran the condition is Unknown", claimsOutcome{},
			metav1.ConditionUnknown, iamv1.ReasonReconciling, nil, nil},
		{"nothing dropped: tokens carry the spec as written", claimsOutcome{ran: true},
			metav1.ConditionFalse, iamv1.ReasonClaimsAsWritten, []string{"as written"}, nil},
		{"a group bound outside the subtree is named with the organization that binds it",
			claimsOutcome{ran: true, dropped: []rules.DroppedGroup{{Group: "platform-team", BoundBy: "platform"}}},
			metav1.ConditionTrue, iamv1.ReasonClaimsRestricted,
			[]string{`"platform-team" (an admin group of organization "platform")`, "outside this one's subtree"}, []string{"reserved", "email_verified"}},
		{"a reserved name is explained as reserved",
			claimsOutcome{ran: true, dropped: []rules.DroppedGroup{{Group: "system:masters"}}},
			metav1.ConditionTrue, iamv1.ReasonClaimsRestricted, []string{`"system:masters"`, "reserved"}, []string{"admin group"}},
		{"an unverified email domain is named",
			claimsOutcome{ran: true, unverifiedDomain: "globex.example"},
			metav1.ConditionTrue, iamv1.ReasonClaimsRestricted, []string{"email_verified is false", "globex.example"}, []string{"groups claim"}},
		{"groups and email together are both in the message",
			claimsOutcome{ran: true, unverifiedDomain: "globex.example", dropped: []rules.DroppedGroup{{Group: "a", BoundBy: "x"}, {Group: "b", BoundBy: "y"}}},
			metav1.ConditionTrue, iamv1.ReasonClaimsRestricted, []string{`"a" (an admin group of organization "x")`, `"b" (an admin group of organization "y")`, "globex.example"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := claimsCondition(3, tc.in)
			if c.Type != iamv1.ConditionClaimsRestricted || c.Status != tc.wantStatus || c.Reason != tc.wantReason || c.ObservedGeneration != 3 {
				t.Fatalf("got %s=%s/%s gen %d (%s)", c.Type, c.Status, c.Reason, c.ObservedGeneration, c.Message)
			}
			for _, s := range tc.wantInMsg {
				if !strings.Contains(c.Message, s) {
					t.Errorf("message %q lacks %q", c.Message, s)
				}
			}
			for _, s := range tc.notInMsg {
				if strings.Contains(c.Message, s) {
					t.Errorf("message %q has %q", c.Message, s)
				}
			}
		})
	}
}

func TestRevokeOnDisable(t *testing.T) {
	now := t0.Add(1500 * time.Millisecond)
	earlier := metav1.NewTime(t0.Add(-time.Hour))
	cases := []struct {
		name     string
		disabled bool
		state    iamv1.OrgUserState
		revoked  *metav1.Time
		want     *time.Time
	}{
		{"an enabled user keeps no revocation", false, iamv1.OrgUserStateActive, nil, nil},
		{"a user seen disabled for the first time is revoked at the next whole second", true, iamv1.OrgUserStateActive, nil, ptrTime(t0.Add(2 * time.Second))},
		{"a user already disabled keeps its revocation time", true, iamv1.OrgUserStateDisabled, &earlier, ptrTime(earlier.Time)},
		{"re-enabling keeps the revocation", false, iamv1.OrgUserStateDisabled, &earlier, ptrTime(earlier.Time)},
		{"disabling again moves the revocation forward", true, iamv1.OrgUserStateActive, &earlier, ptrTime(t0.Add(2 * time.Second))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := &iamv1.OrgUser{Spec: iamv1.OrgUserSpec{Disabled: tc.disabled}, Status: iamv1.OrgUserStatus{State: tc.state, SessionsRevokedAt: tc.revoked}}
			revokeOnDisable(u, now)
			got := u.Status.SessionsRevokedAt
			switch {
			case tc.want == nil && got != nil:
				t.Fatalf("revoked at %s, want none", got)
			case tc.want != nil && (got == nil || !got.Time.Equal(*tc.want)):
				t.Fatalf("revoked at %v, want %s", got, tc.want)
			}
		})
	}
}

func TestIdPSecretCheck(t *testing.T) {
	ref := &iamv1.SecretKeyReference{Name: "okta", Key: "client-secret"}
	const value = "do-not-show-me"
	cases := []struct {
		name       string
		ref        *iamv1.SecretKeyReference
		secret     *corev1.Secret
		wantOK     bool
		wantReason string
	}{
		{"no reference needs no secret", nil, nil, true, iamv1.ReasonReconciled},
		{"a missing Secret is SecretNotFound", ref, nil, false, iamv1.ReasonSecretNotFound},
		{"a Secret without the key is SecretNotFound", ref, &corev1.Secret{Data: map[string][]byte{"other": []byte(value)}}, false, iamv1.ReasonSecretNotFound},
		{"an empty value is SecretNotFound", ref, &corev1.Secret{Data: map[string][]byte{"client-secret": nil}}, false, iamv1.ReasonSecretNotFound},
		{"the key with a value is found", ref, &corev1.Secret{Data: map[string][]byte{"client-secret": []byte(value)}}, true, iamv1.ReasonReconciled},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := idpSecretCheck("acme", tc.ref, tc.secret)
			if !c.ran || c.ok != tc.wantOK || c.reason != tc.wantReason {
				t.Fatalf("got ok=%v %s (%s)", c.ok, c.reason, c.message)
			}
			if strings.Contains(c.message, value) {
				t.Fatalf("the message reveals the secret: %s", c.message)
			}
		})
	}
}

func TestProblemsCheck(t *testing.T) {
	obj := &metav1.ObjectMeta{Name: "acme", UID: types.UID("u1"), Generation: 4}
	p := func(uid types.UID, gen int64, reason, msg string) snapshot.Problem {
		return snapshot.Problem{UID: uid, Generation: gen, Reason: reason, Message: msg}
	}
	cases := []struct {
		name       string
		problems   []snapshot.Problem
		wantFailed bool
		wantReason string
		wantInMsg  []string
	}{
		{"no problems pass on to the served check", nil, false, "", nil},
		{"a problem of the current version fails with its reason and message",
			[]snapshot.Problem{p("u1", 4, iamv1.ReasonInvalidSpec, "spec.login: x")}, true, iamv1.ReasonInvalidSpec, []string{"spec.login: x"}},
		{"further problems are appended to the message",
			[]snapshot.Problem{p("u1", 4, iamv1.ReasonInvalidSpec, "first"), p("u1", 4, iamv1.ReasonMFAUnavailable, "second")},
			true, iamv1.ReasonInvalidSpec, []string{"first", "also (MFAUnavailable): second"}},
		{"a problem of an older generation is not shown", []snapshot.Problem{p("u1", 3, iamv1.ReasonInvalidSpec, "old")}, false, "", nil},
		{"a problem of a deleted namesake is not shown", []snapshot.Problem{p("u0", 4, iamv1.ReasonInvalidSpec, "other")}, false, "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, failedNow := problemsCheck(tc.problems, obj)
			if failedNow != tc.wantFailed {
				t.Fatalf("failed = %v (%s)", failedNow, c.message)
			}
			if !failedNow {
				return
			}
			if c.ok || c.reason != tc.wantReason {
				t.Fatalf("got ok=%v %s", c.ok, c.reason)
			}
			for _, s := range tc.wantInMsg {
				if !strings.Contains(c.message, s) {
					t.Errorf("message %q lacks %q", c.message, s)
				}
			}
		})
	}
}

func TestInitialPasswordCondition(t *testing.T) {
	ref := &iamv1.SecretKeyReference{Name: "init", Key: "password"}
	cases := []struct {
		name       string
		ref        *iamv1.SecretKeyReference
		set        bool
		out        userOutcome
		wantOK     bool
		wantStatus metav1.ConditionStatus
		wantReason string
	}{
		{"without a reference there is no condition", nil, true, userOutcome{}, false, "", ""},
		{"a stored password with the Secret deleted is True, SecretDeleted", ref, true,
			userOutcome{initialSecret: initialSecretDeleted("init")}, true, metav1.ConditionTrue, iamv1.ReasonSecretDeleted},
		{"a missing Secret before any password is False with the password check's reason", ref, false,
			userOutcome{password: failed(iamv1.ReasonSecretNotFound, "x")}, true, metav1.ConditionFalse, iamv1.ReasonSecretNotFound},
		{"before the check ran it is Unknown", ref, false, userOutcome{}, true, metav1.ConditionUnknown, iamv1.ReasonReconciling},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := &iamv1.OrgUser{Spec: iamv1.OrgUserSpec{InitialPasswordSecretRef: tc.ref}, Status: iamv1.OrgUserStatus{PasswordSet: tc.set}}
			c, ok := initialPasswordCondition(u, &tc.out)
			if ok != tc.wantOK {
				t.Fatalf("ok = %v", ok)
			}
			if ok && (c.Status != tc.wantStatus || c.Reason != tc.wantReason) {
				t.Fatalf("got %s/%s (%s)", c.Status, c.Reason, c.Message)
			}
		})
	}
}
