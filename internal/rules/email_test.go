package rules

import (
	"testing"
)

func TestEmailVerified(t *testing.T) {
	holders := map[string][]string{
		"acme.example":    {"platform", "acme"},
		"eu.acme.example": {"platform", "acme", "acme-eu"},
		"globex.example":  {"platform", "globex"},
	}
	holder := func(d string) []string { return holders[d] }
	acme := []string{"platform", "acme"}
	cases := []struct {
		name         string
		spec         bool
		email        string
		path         []string
		want         bool
		wantUnverify string
	}{
		{"an asserted email at the organization's own verified domain is verified", true, "a@acme.example", acme, true, ""},
		{"an asserted email at a descendant's verified domain is verified", true, "a@EU.acme.example", acme, true, ""},
		{"an asserted email at a sibling's domain is not", true, "a@globex.example", acme, false, "globex.example"},
		{"an asserted email at an ancestor's domain is not", true, "a@acme.example", []string{"platform", "acme", "acme-eu"}, false, "acme.example"},
		{"an asserted email at a domain nobody holds is not", true, "a@gmail.example", acme, false, "gmail.example"},
		{"an email the admin did not assert is not verified, and nothing is reported", false, "a@acme.example", acme, false, ""},
		{"an address without a domain is not verified", true, "nobody", acme, false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, d := EmailVerified(c.spec, c.email, c.path, holder)
			if got != c.want || d != c.wantUnverify {
				t.Fatalf("EmailVerified = %v, %q; want %v, %q", got, d, c.want, c.wantUnverify)
			}
		})
	}
}

func TestSameEmailFoldsASCIICaseOnly(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"ina@acme.example", "ina@acme.example", true},
		{"Ina@ACME.example", "ina@acme.example", true},
		{"ina@acme.example", "ina@acme.example.", false},
		{"ina@acme.example", "inb@acme.example", false},
		{"ina@acme.\u017fite", "ina@acme.site", false},       // long s, which Unicode folds to s
		{"ina@\u212Acme.example", "ina@kcme.example", false}, // Kelvin sign, which Unicode folds to k
		{"", "", false},
	} {
		if got := SameEmail(c.a, c.b); got != c.want {
			t.Errorf("SameEmail(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}
