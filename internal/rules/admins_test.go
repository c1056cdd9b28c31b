package rules

import "testing"

func TestAdminGroupIsReservedAndPerOrganization(t *testing.T) {
	if got := AdminGroup("acme"); got != "orgkeeper:org:acme:admins" {
		t.Fatalf("AdminGroup = %q", got)
	}
	if AdminGroup("acme") == AdminGroup("acme-eu") {
		t.Fatal("two organizations share an admin group")
	}
}
