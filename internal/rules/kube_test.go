package rules

import "testing"

func TestKubeNames(t *testing.T) {
	for _, tc := range []struct {
		name, got, want string
	}{
		{"a group claim value gets the prefix", KubeGroup("purchasing"), "orgkeeper:purchasing"},
		{"the admin group gets the prefix too, so no claim value maps onto it but the issuer's own", KubeGroup(AdminGroup("acme")), "orgkeeper:orgkeeper:org:acme:admins"},
		{"a group that looks like a system group stays under the prefix", KubeGroup("system:masters"), "orgkeeper:system:masters"},
		{"a user is qualified by the organization", KubeUser("acme", "alice@acme.example"), "orgkeeper:acme:alice@acme.example"},
		{"the username is lower-cased in ASCII, as CEL's lowerAscii does", KubeUser("acme", "Alice@ACME.example"), "orgkeeper:acme:alice@acme.example"},
		{"non-ASCII letters are left alone, as lowerAscii leaves them", KubeUser("acme", "ÉLODIE"), "orgkeeper:acme:Élodie"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Fatalf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
	if KubeUser("acme", "alice@acme.example") == KubeUser("globex", "alice@acme.example") {
		t.Fatal("the same username in two organizations must be two Kubernetes users")
	}
}
