package controller

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

// sharingTree is the subtree of "platform" (the registering organization):
//
//	platform
//	├── acme
//	│   ├── acme-eu
//	│   │   └── acme-eu-de
//	│   └── acme-us
//	├── globex
//	└── taken    (placed, but its namespace belongs to something else)
func sharingTree() []iamv1.Organization {
	orgs := []iamv1.Organization{
		st.Org("platform"),
		st.Org("acme", st.WithParent("platform")),
		st.Org("acme-eu", st.WithParent("acme")),
		st.Org("acme-eu-de", st.WithParent("acme-eu")),
		st.Org("acme-us", st.WithParent("acme")),
		st.Org("globex", st.WithParent("platform")),
		st.Org("taken", st.WithParent("platform")),
	}
	st.PlaceOrgs(orgs)
	orgs[6].Status.Namespace = ""
	return orgs[1:]
}

func TestResolveSharing(t *testing.T) {
	selected := func(include bool, orgs ...string) *iamv1.ApplicationSharing {
		return &iamv1.ApplicationSharing{Mode: iamv1.SharingModeSelected, Organizations: orgs, IncludeSubOrganizations: include}
	}
	cases := []struct {
		name        string
		sharing     *iamv1.ApplicationSharing
		registering string
		subtree     []iamv1.Organization
		want        []string
		wantReason  string // empty: the check passes
		wantInMsg   []string
	}{
		{"no sharing section shares with no other organization", nil, "platform", sharingTree(), nil, "", nil},
		{"mode None shares with no other organization, whatever the subtree",
			&iamv1.ApplicationSharing{Mode: iamv1.SharingModeNone}, "platform", sharingTree(), nil, "", nil},
		{"mode All shares with every descendant at every depth, not the registering organization itself",
			&iamv1.ApplicationSharing{Mode: iamv1.SharingModeAll}, "platform", sharingTree(),
			[]string{"acme", "acme-eu", "acme-eu-de", "acme-us", "globex"}, "", nil},
		{"mode All skips an organization that does not own its namespace",
			&iamv1.ApplicationSharing{Mode: iamv1.SharingModeAll}, "platform", sharingTree()[5:], nil, "", nil},
		{"mode All below a leaf shares with nobody else",
			&iamv1.ApplicationSharing{Mode: iamv1.SharingModeAll}, "platform/globex", nil, nil, "", nil},
		{"Selected shares with exactly the listed organizations",
			selected(false, "acme", "globex"), "platform", sharingTree(), []string{"acme", "globex"}, "", nil},
		{"Selected with includeSubOrganizations adds every descendant of the listed organizations",
			selected(true, "acme", "globex"), "platform", sharingTree(),
			[]string{"acme", "acme-eu", "acme-eu-de", "acme-us", "globex"}, "", nil},
		{"includeSubOrganizations reaches descendants of a listed organization at any depth, not its siblings",
			selected(true, "acme/acme-eu"), "platform", sharingTree(), []string{"acme-eu", "acme-eu-de"}, "", nil},
		{"a deeper organization is named by its path below the registering organization",
			selected(false, "acme/acme-eu/acme-eu-de"), "platform", sharingTree(), []string{"acme-eu-de"}, "", nil},
		{"a bare name never reaches below a direct child, so an organization created deeper under that name gets nothing",
			selected(false, "acme-eu"), "platform", sharingTree(), nil,
			iamv1.ReasonSharedOrganizationNotFound, []string{`"acme-eu"`, "direct child"}},
		{"listing the registering organization changes nothing without includeSubOrganizations",
			selected(false, "platform"), "platform", sharingTree(), nil, "", nil},
		{"listing the registering organization with includeSubOrganizations shares with its whole subtree",
			selected(true, "platform"), "platform", sharingTree(),
			[]string{"acme", "acme-eu", "acme-eu-de", "acme-us", "globex"}, "", nil},
		{"a listed organization that does not exist is reported, and the others are still shared with",
			selected(false, "acme", "initech", "hooli"), "platform", sharingTree(), []string{"acme"},
			iamv1.ReasonSharedOrganizationNotFound, []string{`"initech", "hooli"`, `"platform"`}},
		{"an organization outside the registering organization's subtree counts as not found",
			selected(false, "acme-eu", "globex"), "platform/acme", sharingTree()[1:4], []string{"acme-eu"},
			iamv1.ReasonSharedOrganizationNotFound, []string{"globex", `"acme"`}},
		{"a listed organization that does not own its namespace counts as not found",
			selected(false, "taken"), "platform", sharingTree(), nil,
			iamv1.ReasonSharedOrganizationNotFound, []string{"taken"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, c := resolveSharing(tc.sharing, strings.Split(tc.registering, "/"), tc.subtree)
			if !slices.Equal(got, tc.want) {
				t.Errorf("sharedWith = %v, want %v", got, tc.want)
			}
			if !c.ran {
				t.Fatal("the check did not run")
			}
			if tc.wantReason == "" {
				if !c.ok {
					t.Errorf("check failed: %s: %s", c.reason, c.message)
				}
				return
			}
			if c.ok || c.reason != tc.wantReason {
				t.Errorf("check = ok %v, %s; want failed with %s", c.ok, c.reason, tc.wantReason)
			}
			for _, s := range tc.wantInMsg {
				if !strings.Contains(c.message, s) {
					t.Errorf("message %q does not mention %q", c.message, s)
				}
			}
		})
	}
}

func TestSetAppConditions(t *testing.T) {
	ok := passed(iamv1.ReasonReconciled, "fine")
	cases := []struct {
		name            string
		out             appOutcome
		wantReady       metav1.ConditionStatus
		wantReadyReason string
		wantSecret      metav1.ConditionStatus
		wantSecretWhy   string
	}{
		{"everything in place makes the application ready",
			appOutcome{organization: ok, secret: ok, sharing: ok, served: ok},
			metav1.ConditionTrue, iamv1.ReasonReconciled, metav1.ConditionTrue, iamv1.ReasonReconciled},
		{"an application the OIDC server does not serve yet waits for it",
			appOutcome{organization: ok, secret: ok, sharing: ok, served: failed(iamv1.ReasonWaitingForServer, "x")},
			metav1.ConditionFalse, iamv1.ReasonWaitingForServer, metav1.ConditionTrue, iamv1.ReasonReconciled},
		{"outside an organization's namespace, both conditions say so",
			appOutcome{organization: failed(iamv1.ReasonOrganizationNotFound, "no org")},
			metav1.ConditionFalse, iamv1.ReasonOrganizationNotFound, metav1.ConditionFalse, iamv1.ReasonOrganizationNotFound},
		{"a missing referenced Secret makes SecretFound and Ready false",
			appOutcome{organization: ok, secret: failed(iamv1.ReasonSecretNotFound, "missing"), sharing: ok},
			metav1.ConditionFalse, iamv1.ReasonSecretNotFound, metav1.ConditionFalse, iamv1.ReasonSecretNotFound},
		{"a missing shared organization makes Ready false while the secret is found",
			appOutcome{organization: ok, secret: ok, sharing: failed(iamv1.ReasonSharedOrganizationNotFound, "hooli")},
			metav1.ConditionFalse, iamv1.ReasonSharedOrganizationNotFound, metav1.ConditionTrue, iamv1.ReasonReconciled},
		{"the secret problem comes before the sharing problem",
			appOutcome{organization: ok, secret: failed(iamv1.ReasonSecretConflict, "x"), sharing: failed(iamv1.ReasonSharedOrganizationNotFound, "y")},
			metav1.ConditionFalse, iamv1.ReasonSecretConflict, metav1.ConditionFalse, iamv1.ReasonSecretConflict},
		{"an unexpected error leaves Ready false, reconciling",
			appOutcome{organization: ok, secret: ok, err: errors.New("etcd is away")},
			metav1.ConditionFalse, iamv1.ReasonReconciling, metav1.ConditionTrue, iamv1.ReasonReconciled},
		{"a pass that has not checked the secret yet is unknown",
			appOutcome{organization: ok},
			metav1.ConditionUnknown, iamv1.ReasonReconciling, metav1.ConditionUnknown, iamv1.ReasonReconciling},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			app := &iamv1.SharedApplication{ObjectMeta: metav1.ObjectMeta{Generation: 3}}
			setAppConditions(app, &tc.out)
			ready := meta.FindStatusCondition(app.Status.Conditions, iamv1.ConditionReady)
			secret := meta.FindStatusCondition(app.Status.Conditions, iamv1.ConditionSecretFound)
			if ready.Status != tc.wantReady || ready.Reason != tc.wantReadyReason {
				t.Errorf("Ready = %s/%s (%s), want %s/%s", ready.Status, ready.Reason, ready.Message, tc.wantReady, tc.wantReadyReason)
			}
			if secret.Status != tc.wantSecret || secret.Reason != tc.wantSecretWhy {
				t.Errorf("SecretFound = %s/%s (%s), want %s/%s", secret.Status, secret.Reason, secret.Message, tc.wantSecret, tc.wantSecretWhy)
			}
			if ready.ObservedGeneration != 3 || secret.ObservedGeneration != 3 {
				t.Error("conditions must carry the object's generation")
			}
		})
	}
}

func TestClientSecretFormat(t *testing.T) {
	s, err := newClientSecret(strings.NewReader(strings.Repeat("\xff", clientSecretBytes)))
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != 43 || !validClientSecret([]byte(s)) {
		t.Fatalf("secret %q: want 43 characters of base64url", s)
	}
	if _, err := newClientSecret(strings.NewReader("short")); err == nil {
		t.Fatal("a random source that runs dry must fail, not give a weak secret")
	}
	for _, tc := range []struct {
		name  string
		value string
		valid bool
	}{
		{"a generated secret is valid", s, true},
		{"an empty value is not", "", false},
		{"a short value is not", "abc", false},
		{"padded or non-base64url text is not", strings.Repeat("a", 42) + "=", false},
		{"a longer base64url value is", strings.Repeat("A", 64), true},
	} {
		if validClientSecret([]byte(tc.value)) != tc.valid {
			t.Errorf("%s: validClientSecret(%q) = %v", tc.name, tc.value, !tc.valid)
		}
	}
}
