package kubeauth

import (
	"slices"
	"testing"
)

// kube-apiserver tells who a switched administrator really is: their own
// organization is an extra attribute (kubectl org whoami shows it), absent
// for a token of the user's own organization.
func TestExtraAttributesNameTheOrganizationAndTheSwitchingAdministrator(t *testing.T) {
	own, err := authenticateUser(t, map[string]any{"org_handle": "acme", "org_id": "o-acme",
		"org_path": []string{"platform", "acme"}, "preferred_username": "alice"})
	if err != nil || own == nil {
		t.Fatalf("own token refused: %v", err)
	}
	extra := own.GetExtra()
	if got := extra[ExtraOrganization]; !slices.Equal(got, []string{"acme"}) {
		t.Errorf("%s = %v", ExtraOrganization, got)
	}
	if got := extra[ExtraOrganizationPath]; !slices.Equal(got, []string{"platform", "acme"}) {
		t.Errorf("%s = %v", ExtraOrganizationPath, got)
	}
	if got, ok := extra[ExtraAdministratorOf]; ok {
		t.Errorf("%s = %v on a token of the user's own organization", ExtraAdministratorOf, got)
	}

	switched, err := authenticateUser(t, map[string]any{"org_handle": "acme-eu", "preferred_username": "alice",
		"act": map[string]any{"sub": "u-alice", "org_handle": "acme", "org_id": "o-acme"}})
	if err != nil || switched == nil {
		t.Fatalf("switched token refused: %v", err)
	}
	if got := switched.GetExtra()[ExtraAdministratorOf]; !slices.Equal(got, []string{"acme"}) {
		t.Errorf("%s = %v, want [acme]", ExtraAdministratorOf, got)
	}
	if got := switched.GetExtra()[ExtraOrganization]; !slices.Equal(got, []string{"acme-eu"}) {
		t.Errorf("%s = %v, want [acme-eu]", ExtraOrganization, got)
	}
}
