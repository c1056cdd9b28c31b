package controller

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

func TestIdentifiersCheck(t *testing.T) {
	// Users without a creation time are the older ones.
	newer, newest := st.UserCreatedAt(t0.Add(time.Minute)), st.UserCreatedAt(t0.Add(2*time.Minute))
	cases := []struct {
		name       string
		user       iamv1.OrgUser
		holders    []iamv1.OrgUser
		wantReason string // empty: the check passes
		wantInMsg  []string
	}{
		{"a user alone in its organization keeps its names",
			st.User("acme", "alice", "alice@acme.example", st.WithUsername("alice")), nil, "", nil},
		{"a newer user with an older user's email is refused, naming the older one",
			st.User("acme", "alice2", "alice@acme.example", newer),
			[]iamv1.OrgUser{st.User("acme", "alice", "alice@acme.example")},
			iamv1.ReasonDuplicateEmail, []string{`"alice"`, "alice@acme.example"}},
		{"emails are compared without regard to case",
			st.User("acme", "alice2", "Alice@ACME.example", newer),
			[]iamv1.OrgUser{st.User("acme", "alice", "alice@acme.example")},
			iamv1.ReasonDuplicateEmail, []string{`"alice"`}},
		{"the older user keeps its email when the newer one is among the others",
			st.User("acme", "alice", "alice@acme.example"),
			[]iamv1.OrgUser{st.User("acme", "alice2", "alice@acme.example", newer)}, "", nil},
		{"the older user keeps its email even when its name sorts after the newer one's",
			st.User("acme", "amy", "z@acme.example", newer),
			[]iamv1.OrgUser{st.User("acme", "zed", "z@acme.example")},
			iamv1.ReasonDuplicateEmail, []string{`"zed"`}},
		{"created in the same second, the smaller name is the older",
			st.User("acme", "bob", "x@acme.example"),
			[]iamv1.OrgUser{st.User("acme", "adam", "x@acme.example")},
			iamv1.ReasonDuplicateEmail, []string{`"adam"`}},
		{"an email that is an older user's username is a duplicate email",
			st.User("acme", "carol", "cc@acme.example", newer),
			[]iamv1.OrgUser{st.User("acme", "carla", "carla@acme.example", st.WithUsername("cc@acme.example"))},
			iamv1.ReasonDuplicateEmail, []string{`"carla"`}},
		{"a username equal to an older user's username is refused",
			st.User("acme", "dan2", "dan2@acme.example", st.WithUsername("Dan"), newer),
			[]iamv1.OrgUser{st.User("acme", "dan", "dan@acme.example", st.WithUsername("dan"))},
			iamv1.ReasonDuplicateUsername, []string{`"dan"`, "choose another username"}},
		{"a username equal to an older user's email is refused",
			st.User("acme", "erin2", "erin2@acme.example", st.WithUsername("erin@acme.example"), newer),
			[]iamv1.OrgUser{st.User("acme", "erin", "erin@acme.example")},
			iamv1.ReasonDuplicateUsername, []string{`"erin"`}},
		{"a username equal to the user's own email is harmless",
			st.User("acme", "fay", "fay@acme.example", st.WithUsername("FAY@acme.example")), nil, "", nil},
		{"the email duplicate is reported before a username duplicate",
			st.User("acme", "gus2", "gus@acme.example", st.WithUsername("gus"), newer),
			[]iamv1.OrgUser{st.User("acme", "gus", "gus@acme.example", st.WithUsername("gus"))},
			iamv1.ReasonDuplicateEmail, nil},
		{"of several older holders the oldest is named",
			st.User("acme", "h3", "h@acme.example", newest),
			[]iamv1.OrgUser{st.User("acme", "h2", "h@acme.example", newer), st.User("acme", "h1", "h@acme.example")},
			iamv1.ReasonDuplicateEmail, []string{`"h1"`}},
		{"the user itself among the holders is ignored",
			st.User("acme", "ivy", "ivy@acme.example"), []iamv1.OrgUser{st.User("acme", "ivy", "ivy@acme.example")}, "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := identifiersCheck(&tc.user, tc.holders)
			if !c.ran {
				t.Fatal("the check did not run")
			}
			if tc.wantReason == "" {
				if !c.ok {
					t.Fatalf("refused: %s: %s", c.reason, c.message)
				}
				return
			}
			if c.ok || c.reason != tc.wantReason {
				t.Fatalf("got ok=%v %s (%s), want %s", c.ok, c.reason, c.message, tc.wantReason)
			}
			for _, s := range tc.wantInMsg {
				if !strings.Contains(c.message, s) {
					t.Errorf("message %q does not mention %s", c.message, s)
				}
			}
		})
	}
}

func TestUserIdentifiers(t *testing.T) {
	for _, tc := range []struct {
		name string
		user iamv1.OrgUser
		want []string
	}{
		{"the email, lower case", st.User("acme", "a", "A@Acme.Example"), []string{"a@acme.example"}},
		{"email and username, lower case", st.User("acme", "a", "a@acme.example", st.WithUsername("Ada")), []string{"a@acme.example", "ada"}},
		{"a username equal to the email counts once", st.User("acme", "a", "a@acme.example", st.WithUsername("A@acme.example")), []string{"a@acme.example"}},
	} {
		if got := userIdentifiers(&tc.user); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestUserState(t *testing.T) {
	later, earlier := st.LockedUntil(t0.Add(time.Minute)), st.LockedUntil(t0.Add(-time.Minute))
	notSent := func(u *iamv1.OrgUser) { u.Spec.Invitation = &iamv1.OrgUserInvitation{} }
	cases := []struct {
		name string
		opts []st.UserOption
		want iamv1.OrgUserState
	}{
		{"a plain user is Active", nil, iamv1.OrgUserStateActive},
		{"a user with a password is Active", []st.UserOption{st.PasswordSet()}, iamv1.OrgUserStateActive},
		{"spec.disabled makes the user Disabled, even when locked", []st.UserOption{st.Disabled(), later}, iamv1.OrgUserStateDisabled},
		{"a lock that has not expired makes the user Locked", []st.UserOption{later}, iamv1.OrgUserStateLocked},
		{"an expired lock no longer counts", []st.UserOption{earlier}, iamv1.OrgUserStateActive},
		{"an invitation without a password makes the user Invited", []st.UserOption{st.Invited()}, iamv1.OrgUserStateInvited},
		{"once the password is set an invited user is Active", []st.UserOption{st.Invited(), st.PasswordSet()}, iamv1.OrgUserStateActive},
		{"an invitation section with send false does not invite", []st.UserOption{notSent}, iamv1.OrgUserStateActive},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := st.User("acme", "una", "una@acme.example", tc.opts...)
			if got := userState(&u, t0); got != tc.want {
				t.Errorf("state = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestSetUserStatus(t *testing.T) {
	ok := passed(iamv1.ReasonReconciled, "fine")
	cases := []struct {
		name       string
		spec       iamv1.OrgUserSpec
		out        userOutcome
		wantStatus metav1.ConditionStatus
		wantReason string
		wantState  iamv1.OrgUserState
	}{
		{"a user whose checks all pass is ready and Active",
			iamv1.OrgUserSpec{}, userOutcome{organization: ok, identifiers: ok, password: ok, served: ok},
			metav1.ConditionTrue, iamv1.ReasonReconciled, iamv1.OrgUserStateActive},
		{"a user the OIDC server does not serve yet is not ready, and says it is waiting",
			iamv1.OrgUserSpec{}, userOutcome{organization: ok, identifiers: ok, password: ok, served: failed(iamv1.ReasonWaitingForServer, "x")},
			metav1.ConditionFalse, iamv1.ReasonWaitingForServer, iamv1.OrgUserStateActive},
		{"a disabled user is ready (it is as specified) and Disabled",
			iamv1.OrgUserSpec{Disabled: true}, userOutcome{organization: ok, identifiers: ok, password: ok, served: ok},
			metav1.ConditionTrue, iamv1.ReasonReconciled, iamv1.OrgUserStateDisabled},
		{"a user outside an organization is not ready",
			iamv1.OrgUserSpec{}, userOutcome{organization: failed(iamv1.ReasonOrganizationNotFound, "x")},
			metav1.ConditionFalse, iamv1.ReasonOrganizationNotFound, iamv1.OrgUserStateActive},
		{"a duplicate email comes before a missing password Secret",
			iamv1.OrgUserSpec{}, userOutcome{organization: ok, identifiers: failed(iamv1.ReasonDuplicateEmail, "x"),
				password: failed(iamv1.ReasonSecretNotFound, "y")},
			metav1.ConditionFalse, iamv1.ReasonDuplicateEmail, iamv1.OrgUserStateActive},
		{"a missing initial password Secret makes the user not ready",
			iamv1.OrgUserSpec{}, userOutcome{organization: ok, identifiers: ok, password: failed(iamv1.ReasonSecretNotFound, "y")},
			metav1.ConditionFalse, iamv1.ReasonSecretNotFound, iamv1.OrgUserStateActive},
		{"an unexpected error leaves the user not ready, reconciling",
			iamv1.OrgUserSpec{}, userOutcome{organization: ok, identifiers: ok, err: errors.New("conflict")},
			metav1.ConditionFalse, iamv1.ReasonReconciling, iamv1.OrgUserStateActive},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := &iamv1.OrgUser{ObjectMeta: metav1.ObjectMeta{Generation: 2}, Spec: tc.spec}
			setUserStatus(u, &tc.out, t0)
			c := meta.FindStatusCondition(u.Status.Conditions, iamv1.ConditionReady)
			if c.Status != tc.wantStatus || c.Reason != tc.wantReason || c.ObservedGeneration != 2 {
				t.Errorf("Ready = %s/%s gen %d (%s), want %s/%s gen 2", c.Status, c.Reason, c.ObservedGeneration, c.Message, tc.wantStatus, tc.wantReason)
			}
			if u.Status.State != tc.wantState {
				t.Errorf("state = %s, want %s", u.Status.State, tc.wantState)
			}
		})
	}
}
