package rules

import (
	"slices"
	"strings"
	"testing"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
)

func TestDecideSwitch(t *testing.T) {
	acme := []string{"platform", "acme"}
	eu := []string{"platform", "acme", "acme-eu"}
	west := []string{"platform", "acme", "acme-eu", "acme-eu-west"}
	allowed := func(r SwitchRequest) SwitchRequest { return r }
	base := SwitchRequest{UserPath: acme, Admin: true, Target: "acme-eu", TargetPath: eu, Shared: true,
		TargetMFA: iamv1.MFAOptional, AMR: []string{"pwd"}}
	for _, c := range []struct {
		name string
		edit func(SwitchRequest) SwitchRequest
		want SwitchRefusal
	}{
		{"an admin switches into a child organization it administers", allowed, SwitchAllowed},
		{"an admin switches into a grandchild", func(r SwitchRequest) SwitchRequest {
			r.Target, r.TargetPath = "acme-eu-west", west
			return r
		}, SwitchAllowed},
		{"an admin of the root switches anywhere below it", func(r SwitchRequest) SwitchRequest {
			r.UserPath = []string{"platform"}
			return r
		}, SwitchAllowed},
		{"a user who is not an admin is refused", func(r SwitchRequest) SwitchRequest {
			r.Admin = false
			return r
		}, SwitchNotAdmin},
		{"a user who is not an admin is refused before anything about the target is said", func(r SwitchRequest) SwitchRequest {
			r.Admin, r.TargetPath, r.Shared = false, nil, false
			return r
		}, SwitchNotAdmin},
		{"a user without an organization path is refused", func(r SwitchRequest) SwitchRequest {
			r.UserPath = nil
			return r
		}, SwitchNotAdmin},
		{"the admin's own organization is refused: the token is already for it", func(r SwitchRequest) SwitchRequest {
			r.Target, r.TargetPath = "acme", acme
			return r
		}, SwitchSameOrganization},
		{"an ancestor is refused", func(r SwitchRequest) SwitchRequest {
			r.Target, r.TargetPath = "platform", []string{"platform"}
			return r
		}, SwitchNotBelow},
		{"a sibling is refused", func(r SwitchRequest) SwitchRequest {
			r.Target, r.TargetPath = "globex", []string{"platform", "globex"}
			return r
		}, SwitchNotBelow},
		{"a child of a sibling is refused", func(r SwitchRequest) SwitchRequest {
			r.Target, r.TargetPath = "globex-eu", []string{"platform", "globex", "globex-eu"}
			return r
		}, SwitchNotBelow},
		{"an organization that merely shares a name prefix is refused", func(r SwitchRequest) SwitchRequest {
			r.UserPath = []string{"platform", "acme-eu"}
			r.Target, r.TargetPath = "x", []string{"platform", "acme", "x"}
			return r
		}, SwitchNotBelow},
		{"an organization that does not exist is refused as one outside the subtree", func(r SwitchRequest) SwitchRequest {
			r.Target, r.TargetPath = "nowhere", nil
			return r
		}, SwitchNotBelow},
		{"a descendant the application is not shared with is refused", func(r SwitchRequest) SwitchRequest {
			r.Shared = false
			return r
		}, SwitchNotShared},
		{"a suspended descendant is refused", func(r SwitchRequest) SwitchRequest {
			r.TargetSuspended = true
			return r
		}, SwitchSuspended},
		{"a descendant that requires MFA is refused for a password-only sign-in", func(r SwitchRequest) SwitchRequest {
			r.TargetMFA = iamv1.MFARequired
			return r
		}, SwitchSecondFactorRequired},
		{"a descendant that requires MFA is allowed for a sign-in with a one-time code", func(r SwitchRequest) SwitchRequest {
			r.TargetMFA, r.AMR = iamv1.MFARequired, []string{"pwd", "otp"}
			return r
		}, SwitchAllowed},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := c.edit(base)
			d := DecideSwitch(r)
			if d.Refusal != c.want {
				t.Fatalf("DecideSwitch(%+v) = %v (%q), want %v", r, d.Refusal, d.Message, c.want)
			}
			if d.Allowed() != (c.want == SwitchAllowed) {
				t.Fatalf("Allowed() = %v", d.Allowed())
			}
			if !d.Allowed() && !strings.Contains(d.Message, " ") {
				t.Fatalf("message %q", d.Message)
			}
		})
	}
}

func TestSwitchGroupsAreTheTargetsAdminGroupOnly(t *testing.T) {
	if got := SwitchGroups([]string{"platform", "acme", "acme-eu"}); !slices.Equal(got, []string{"orgkeeper:org:acme-eu:admins"}) {
		t.Fatalf("SwitchGroups = %v", got)
	}
	if got := SwitchGroups(nil); got == nil || len(got) != 0 {
		t.Fatalf("SwitchGroups(nil) = %#v, want an empty list", got)
	}
}
