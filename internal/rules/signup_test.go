package rules

import "testing"

func TestSignupDomainClaim(t *testing.T) {
	for _, tc := range []struct {
		email  string
		public []string
		want   string
	}{
		{"ann@acme.example", PublicMailDomains, "acme.example"},
		{"ann@ACME.Example", PublicMailDomains, "acme.example"},
		{"ann@gmail.com", PublicMailDomains, ""},
		{"ann@GMail.COM", PublicMailDomains, ""},
		{"ann@eu.yahoo.com", PublicMailDomains, ""},
		{"ann@notgmail.com", PublicMailDomains, "notgmail.com"},
		{"ann@gmail.com", nil, "gmail.com"},
		{"ann@corp.example", []string{" Corp.Example. "}, ""},
		{"no-at-sign", PublicMailDomains, ""},
		{"ann@", PublicMailDomains, ""},
	} {
		if got := SignupDomainClaim(tc.email, tc.public); got != tc.want {
			t.Errorf("SignupDomainClaim(%q, %v) = %q, want %q", tc.email, len(tc.public), got, tc.want)
		}
	}
}
