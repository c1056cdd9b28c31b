package rules

import (
	"testing"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
)

func TestAMRSatisfies(t *testing.T) {
	for _, c := range []struct {
		name   string
		policy iamv1.MFAPolicy
		amr    []string
		want   bool
	}{
		{"a password sign-in satisfies an optional policy", iamv1.MFAOptional, []string{"pwd"}, true},
		{"a password sign-in satisfies a disabled policy", iamv1.MFADisabled, []string{"pwd"}, true},
		{"a password sign-in does not satisfy a required policy", iamv1.MFARequired, []string{"pwd"}, false},
		{"a federated sign-in does not satisfy a required policy", iamv1.MFARequired, []string{"fed"}, false},
		{"no methods at all do not satisfy a required policy", iamv1.MFARequired, nil, false},
		{"password and one-time code satisfy a required policy", iamv1.MFARequired, []string{"pwd", "otp"}, true},
		{"a hardware key satisfies a required policy", iamv1.MFARequired, []string{"hwk"}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := AMRSatisfies(c.policy, c.amr); got != c.want {
				t.Fatalf("AMRSatisfies(%s, %v) = %v", c.policy, c.amr, got)
			}
		})
	}
}
