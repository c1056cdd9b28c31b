package rules

import "strings"

// PublicMailDomains are the domains of public mail providers built in: an
// organization that signs itself up with an address at one of them does
// not claim the domain (every customer of the provider has one), and its
// users are routed by organization handle instead. The list is short on
// purpose; an installation extends or replaces it (--signup-public-mail-domains).
var PublicMailDomains = []string{
	"aol.com", "fastmail.com", "gmail.com", "googlemail.com", "gmx.com", "gmx.de", "gmx.net",
	"hotmail.com", "icloud.com", "live.com", "mac.com", "mail.com", "mail.ru", "me.com",
	"msn.com", "outlook.com", "proton.me", "protonmail.com", "qq.com", "web.de",
	"yahoo.com", "yandex.com", "yandex.ru", "zoho.com", "163.com", "126.com",
}

// SignupDomainClaim is the domain an organization signed up by the admin
// with this email claims, or "" when the address is at a public mail
// provider (public, compared without case, also matching its subdomains)
// or has no domain.
func SignupDomainClaim(email string, public []string) string {
	_, domain, ok := strings.Cut(email, "@")
	domain = strings.TrimSuffix(strings.ToLower(domain), ".")
	if !ok || domain == "" {
		return ""
	}
	for _, p := range public {
		p = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(p)), ".")
		if p != "" && (domain == p || strings.HasSuffix(domain, "."+p)) {
			return ""
		}
	}
	return domain
}
