package validation

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits shared with the CRD schemas in api/v1alpha1.
const (
	// MaxLabelLength is the longest DNS label (RFC 1123).
	MaxLabelLength = 63
	// MaxDomainLength is the longest DNS name (RFC 1123).
	MaxDomainLength = 253
	// MaxURLLength is the longest URL the API accepts.
	MaxURLLength = 2048
	// MaxEmailLength is the longest email address (RFC 5321 path limit).
	MaxEmailLength = 254
	// MaxEmailLocalLength is the longest part before the '@' (RFC 5321).
	MaxEmailLocalLength = 64
)

// loopbackHosts are the hosts on which plain http redirect URIs and issuers are
// accepted, for development and for native apps (RFC 8252 section 7.3).
var loopbackHosts = map[string]bool{"127.0.0.1": true, "::1": true, "localhost": true}

// dangerousSchemes are never acceptable as a redirect target: a browser would
// run or reveal something instead of handing the code to an application.
var dangerousSchemes = map[string]bool{
	"javascript": true, "vbscript": true, "data": true, "file": true,
	"blob": true, "about": true, "filesystem": true,
}

// reservedOrganizationPrefixes cannot start an organization's name, because the
// name is also the organization's namespace.
var reservedOrganizationPrefixes = []string{"kube-", "orgkeeper-"}

var (
	colorPattern = regexp.MustCompile(`^#[0-9A-Fa-f]{6}$`)
	// emailLocalAtom is one dot-separated part of an unquoted local part
	// (RFC 5322 atext, without the backtick). The CRD rule for OrgUser
	// spec.email uses the same character set.
	emailLocalAtom = regexp.MustCompile(`^[A-Za-z0-9!#$%&'*+/=?^_{|}~-]+$`)
)

// DNSLabel checks that name is an RFC 1123 DNS label: 1 to 63 lowercase
// letters, digits or '-', starting and ending with a letter or digit. Names of
// organizations, applications and identity providers must be labels.
func DNSLabel(name string) error {
	if name == "" {
		return errors.New("the name is empty; it must be 1 to 63 lowercase letters, digits or '-'")
	}
	if problem := labelProblem(name); problem != "" {
		return fmt.Errorf("%s is not a valid name: it %s", quote(name), problem)
	}
	return nil
}

// OrganizationName checks that name can name an organization: a DNS label (it
// is also the organization's namespace) that Kubernetes or Orgkeeper do not
// reserve: "default", "kube-*" and "orgkeeper-*".
func OrganizationName(name string) error {
	if err := DNSLabel(name); err != nil {
		return err
	}
	if name == "default" {
		return errors.New(`"default" is reserved and cannot name an organization; choose another name`)
	}
	for _, prefix := range reservedOrganizationPrefixes {
		if strings.HasPrefix(name, prefix) {
			return fmt.Errorf("%s is reserved: organization names cannot start with %q; choose another name", quote(name), prefix)
		}
	}
	return nil
}

// Domain checks that d is a lowercase DNS name with at least two labels, such
// as acme.example, written without a trailing dot. Internationalized domains
// must be given in their punycode (xn--) form.
func Domain(d string) error {
	if d == "" {
		return errors.New("the domain is empty; give a DNS name such as acme.example")
	}
	if problem := domainProblem(d); problem != "" {
		return fmt.Errorf("%s is not a valid domain: %s", quote(d), problem)
	}
	return nil
}

// domainProblem says what is wrong with d, or returns "" when d is a valid
// lowercase DNS name with at least two labels.
func domainProblem(d string) string {
	switch {
	case !isASCII(d):
		return "it contains non-ASCII characters; write internationalized domains in their punycode (xn--) form"
	case strings.IndexFunc(d, unicode.IsSpace) >= 0:
		return "it contains whitespace"
	case strings.ToLower(d) != d:
		return "it must be lowercase"
	case strings.HasPrefix(d, "*"):
		return "wildcards are not allowed; list each domain"
	case strings.Contains(d, "@"):
		return "it is an email address; give only the part after '@'"
	case strings.Contains(d, "://"):
		return "it is a URL; give only the host name"
	case net.ParseIP(d) != nil:
		return "it is an IP address; a domain name is required"
	case strings.HasSuffix(d, "."):
		return "it ends with a dot; write it without the trailing dot"
	case len(d) > MaxDomainLength:
		return fmt.Sprintf("it is %d characters long; at most %d are allowed", len(d), MaxDomainLength)
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return "it needs at least two labels, such as acme.example"
	}
	for _, label := range labels {
		if label == "" {
			return "it has an empty label (two dots in a row, or a leading dot)"
		}
		if problem := labelProblem(label); problem != "" {
			return fmt.Sprintf("the label %s %s", quote(label), problem)
		}
	}
	if tld := labels[len(labels)-1]; tld[0] < 'a' || tld[0] > 'z' {
		return "its last label must start with a letter"
	}
	return ""
}

// labelProblem says what keeps s from being an RFC 1123 DNS label, or
// returns "" when it is one. s is not empty.
func labelProblem(s string) string {
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-':
		case r >= 'A' && r <= 'Z':
			return "must be lowercase"
		case unicode.IsSpace(r):
			return "contains whitespace"
		default:
			return fmt.Sprintf("contains %q; only lowercase letters, digits and '-' are allowed", r)
		}
	}
	if s[0] == '-' || s[len(s)-1] == '-' {
		return "must start and end with a letter or digit"
	}
	if len(s) > MaxLabelLength {
		return fmt.Sprintf("is %d characters long; at most %d are allowed", len(s), MaxLabelLength)
	}
	return ""
}

// HTTPSURL checks that s is an absolute https URL with a host and without a
// user name or password, such as https://cdn.acme.example/logo.svg.
func HTTPSURL(s string) error {
	u, err := parseURL(s)
	if err != nil {
		return err
	}
	if u.Scheme != "https" {
		return fmt.Errorf("%s must use https (found %q)", quote(s), u.Scheme+":")
	}
	return requireHost(s, u)
}

// IssuerURL checks that s can be an OpenID Connect issuer: an https URL with a
// host, without user name, query or fragment (OpenID Connect Discovery 1.0,
// section 2). With allowLoopbackHTTP, plain http on a loopback host
// (127.0.0.1, [::1], localhost) is accepted too, for development: Orgkeeper's
// own --issuer-url allows it, upstream identity providers do not.
func IssuerURL(s string, allowLoopbackHTTP bool) error {
	u, err := parseURL(s)
	if err != nil {
		return err
	}
	switch {
	case u.Scheme == "http" && !allowLoopbackHTTP:
		return fmt.Errorf("%s must use https", quote(s))
	case u.Scheme == "http" && !loopbackHosts[u.Hostname()]:
		return fmt.Errorf("%s must use https; plain http is allowed only on 127.0.0.1, [::1] or localhost", quote(s))
	case u.Scheme != "https" && u.Scheme != "http":
		return fmt.Errorf("%s must use https (found %q)", quote(s), u.Scheme+":")
	case u.RawQuery != "" || u.ForceQuery:
		return fmt.Errorf("%s must not have a query ('?'); an issuer is a plain URL", quote(s))
	case strings.Contains(s, "#"):
		return fmt.Errorf("%s must not have a fragment ('#'); an issuer is a plain URL", quote(s))
	}
	return requireHost(s, u)
}

// parseURL checks what every absolute URL needs (printable ASCII, a scheme,
// no user information) and returns it parsed.
func parseURL(s string) (*url.URL, error) {
	if problem := urlTextProblem(s); problem != "" {
		return nil, errors.New(problem)
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%s is not a valid URL", quote(s))
	}
	switch {
	case u.Scheme == "":
		return nil, fmt.Errorf("%s is not an absolute URL; write it with its scheme, such as https://%s", quote(s), strings.TrimPrefix(s, "//"))
	case u.User != nil:
		return nil, fmt.Errorf("%s must not contain a user name or password (the part before '@')", quote(s))
	}
	return u, nil
}

// requireHost refuses a web URL without a host, such as https:///path or
// https://:443/.
func requireHost(s string, u *url.URL) error {
	if u.Hostname() == "" {
		return fmt.Errorf("%s has no host; write it as %s://host/path", quote(s), u.Scheme)
	}
	return nil
}

// urlTextProblem checks the characters of a URL, before parsing.
func urlTextProblem(s string) string {
	switch {
	case s == "":
		return "the URL is empty"
	case strings.TrimSpace(s) != s:
		return fmt.Sprintf("%s starts or ends with whitespace", quote(s))
	case len(s) > MaxURLLength:
		return fmt.Sprintf("the URL is %d characters long; at most %d are allowed", len(s), MaxURLLength)
	}
	for _, r := range s {
		if r <= ' ' || r > '~' {
			return fmt.Sprintf("%s contains whitespace, control or non-ASCII characters; percent-encode them", quote(s))
		}
	}
	return ""
}

// RedirectURI checks a redirect URI of an OIDC client (RFC 6749 section 3.1.2,
// RFC 8252 for native apps). Every client may use https, and plain http on a
// loopback host (127.0.0.1, [::1], localhost). A public client may also use a
// private-use scheme such as com.example.app:/callback. Fragments, user
// information and schemes a browser would execute (javascript:, data:, ...)
// are always refused.
func RedirectURI(s string, public bool) error {
	if problem := urlTextProblem(s); problem != "" {
		return errors.New(problem)
	}
	if strings.Contains(s, "#") {
		return fmt.Errorf("%s must not contain a fragment ('#'); redirect URIs are matched exactly and fragments are not allowed", quote(s))
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%s is not a valid URI", quote(s))
	}
	if u.Scheme == "" {
		return fmt.Errorf("%s is not absolute; write it with its scheme, such as https://app.example/callback", quote(s))
	}
	if !strings.HasPrefix(s, u.Scheme+":") {
		return fmt.Errorf("%s must have a lowercase scheme (%s)", quote(s), u.Scheme+":")
	}
	if u.User != nil {
		return fmt.Errorf("%s must not contain a user name or password (the part before '@')", quote(s))
	}
	switch u.Scheme {
	case "https":
		return requireHost(s, u)
	case "http":
		if !loopbackHosts[u.Hostname()] {
			return fmt.Errorf("%s must use https; plain http is allowed only on 127.0.0.1, [::1] or localhost", quote(s))
		}
		return nil
	}
	if dangerousSchemes[u.Scheme] {
		return fmt.Errorf("%s uses the scheme %q, which is never allowed in a redirect URI", quote(s), u.Scheme+":")
	}
	if !public {
		return fmt.Errorf("%s uses the custom scheme %q, which only Public clients (native apps) may use; a Confidential client needs https, or http on 127.0.0.1, [::1] or localhost", quote(s), u.Scheme+":")
	}
	return nil
}

// Color checks that s is a color in the form #RRGGBB, such as #0B5FFF.
func Color(s string) error {
	if colorPattern.MatchString(s) {
		return nil
	}
	switch {
	case s == "":
		return errors.New("the color is empty; give it as #RRGGBB, such as #0B5FFF")
	case len(s) == 4 && colorPattern.MatchString("#"+strings.Repeat(s[1:], 2)):
		return fmt.Errorf("%s is a short color; write all six digits, such as #%c%c%c%c%c%c", quote(s), s[1], s[1], s[2], s[2], s[3], s[3])
	case !strings.HasPrefix(s, "#") && colorPattern.MatchString("#"+s):
		return fmt.Errorf("%s is missing its '#'; write it as #%s", quote(s), s)
	}
	return fmt.Errorf("%s is not a color; give it as #RRGGBB with six hexadecimal digits, such as #0B5FFF", quote(s))
}

// Email checks that s is a plain email address such as alice@acme.example: an
// unquoted ASCII local part of at most 64 characters, '@', and a domain of at
// least two labels (any case). Display names ("Alice <alice@...>"), quoted
// local parts, IP-address domains and internationalized addresses are refused.
func Email(s string) error {
	_, err := splitEmail(s)
	return err
}

// EmailDomain checks email like Email and returns its domain in lower case,
// the form in which organizations claim domains.
func EmailDomain(email string) (string, error) {
	return splitEmail(email)
}

// splitEmail validates s and returns its lower-cased domain.
func splitEmail(s string) (string, error) {
	switch {
	case s == "":
		return "", errors.New("the email address is empty")
	case strings.TrimSpace(s) != s:
		return "", fmt.Errorf("%s starts or ends with whitespace", quote(s))
	case strings.ContainsAny(s, "<>"):
		return "", fmt.Errorf("%s is not a plain email address; give only the address, such as alice@acme.example", quote(s))
	case strings.IndexFunc(s, unicode.IsSpace) >= 0:
		return "", fmt.Errorf("%s contains whitespace", quote(s))
	case !isASCII(s):
		return "", fmt.Errorf("%s contains non-ASCII characters; only ASCII email addresses are supported", quote(s))
	case len(s) > MaxEmailLength:
		return "", fmt.Errorf("the email address is %d characters long; at most %d are allowed", len(s), MaxEmailLength)
	case strings.Count(s, "@") != 1:
		return "", fmt.Errorf("%s is not an email address: it must contain exactly one '@', such as alice@acme.example", quote(s))
	}
	local, domain, _ := strings.Cut(s, "@")
	if problem := emailLocalProblem(local); problem != "" {
		return "", fmt.Errorf("%s is not a valid email address: %s", quote(s), problem)
	}
	if domain == "" {
		return "", fmt.Errorf("%s is not a valid email address: nothing follows the '@'", quote(s))
	}
	domain = strings.ToLower(domain)
	if err := Domain(domain); err != nil {
		return "", fmt.Errorf("%s is not a valid email address: %w", quote(s), err)
	}
	return domain, nil
}

// emailLocalProblem says what is wrong with the part before the '@'.
func emailLocalProblem(local string) string {
	switch {
	case local == "":
		return "nothing precedes the '@'"
	case len(local) > MaxEmailLocalLength:
		return fmt.Sprintf("the part before '@' is %d characters long; at most %d are allowed", len(local), MaxEmailLocalLength)
	case strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") || strings.Contains(local, ".."):
		return "the part before '@' must not start or end with a dot or contain two dots in a row"
	}
	for _, atom := range strings.Split(local, ".") {
		if !emailLocalAtom.MatchString(atom) {
			return "the part before '@' may contain only letters, digits and !#$%&'*+/=?^_{|}~.-"
		}
	}
	return ""
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// quote quotes s for an error message, shortening very long input so that a
// hostile value cannot flood logs and events.
func quote(s string) string {
	const max = 80
	if len(s) <= max {
		return fmt.Sprintf("%q", s)
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%q...", s[:cut])
}
