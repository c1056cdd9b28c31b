package validation

import (
	"strings"
	"testing"
)

// check runs one table of a validator. wantErr is a fragment the error message
// must contain, or "" when the input is valid.
type check struct {
	name    string
	input   string
	wantErr string
}

func run(t *testing.T, validate func(string) error, cases []check) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := validate(tc.input)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("%q: want no error, got %q", tc.input, err)
			case tc.wantErr != "" && err == nil:
				t.Fatalf("%q: want an error containing %q, got none", tc.input, tc.wantErr)
			case tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr):
				t.Fatalf("%q: want an error containing %q, got %q", tc.input, tc.wantErr, err)
			}
		})
	}
}

func TestDNSLabel(t *testing.T) {
	run(t, DNSLabel, []check{
		{"a simple lowercase name is valid", "acme", ""},
		{"digits and inner hyphens are valid", "acme-eu-2", ""},
		{"a single character is valid", "a", ""},
		{"a name that starts with a digit is valid", "3m", ""},
		{"exactly 63 characters is valid", strings.Repeat("a", 63), ""},
		{"the empty string is refused", "", "the name is empty"},
		{"64 characters is too long", strings.Repeat("a", 64), "is 64 characters long; at most 63"},
		{"an uppercase letter is refused", "Acme", "must be lowercase"},
		{"a leading hyphen is refused", "-acme", "must start and end with a letter or digit"},
		{"a trailing hyphen is refused", "acme-", "must start and end with a letter or digit"},
		{"a dot is refused because labels have no dots", "acme.eu", `contains '.'`},
		{"an underscore is refused", "acme_eu", `contains '_'`},
		{"inner whitespace is refused", "ac me", "contains whitespace"},
		{"a trailing newline is refused", "acme\n", "contains whitespace"},
		{"a non-ASCII letter is refused", "acmé", `contains 'é'`},
		{"a Cyrillic lookalike letter is refused", "аcme", `contains 'а'`},
	})
}

func TestOrganizationName(t *testing.T) {
	run(t, OrganizationName, []check{
		{"an ordinary name is valid", "acme", ""},
		{"a name that merely contains kube is valid", "mykube-shop", ""},
		{"orgkeeper without a hyphen is not reserved", "orgkeeper", ""},
		{"default is reserved", "default", `"default" is reserved`},
		{"a kube- prefix is reserved", "kube-system", `cannot start with "kube-"`},
		{"an orgkeeper- prefix is reserved", "orgkeeper-system", `cannot start with "orgkeeper-"`},
		{"an invalid label is refused before the reserved check", "Default", "must be lowercase"},
		{"the empty string is refused", "", "the name is empty"},
	})
}

func TestDomain(t *testing.T) {
	run(t, Domain, []check{
		{"a two-label domain is valid", "acme.example", ""},
		{"a deeper domain is valid", "eu.mail.acme.example", ""},
		{"a punycode domain is valid", "xn--bcher-kva.example", ""},
		{"digits in inner labels are valid", "123.acme.example", ""},
		{"the empty string is refused", "", "the domain is empty"},
		{"a single label is refused", "localhost", "at least two labels"},
		{"an uppercase domain is refused", "ACME.example", "must be lowercase"},
		{"a trailing dot is refused", "acme.example.", "without the trailing dot"},
		{"a leading dot is refused", ".acme.example", "empty label"},
		{"two dots in a row are refused", "acme..example", "empty label"},
		{"a unicode domain is refused with a hint at punycode", "bücher.example", "punycode"},
		{"surrounding whitespace is refused", " acme.example", "whitespace"},
		{"a wildcard is refused", "*.acme.example", "wildcards are not allowed"},
		{"an email address is refused", "alice@acme.example", "email address"},
		{"a URL is refused", "https://acme.example", "it is a URL"},
		{"an IPv4 address is refused", "10.0.0.1", "IP address"},
		{"an IPv6 address is refused", "::1", "IP address"},
		{"a numeric top-level label is refused", "acme.123", "last label must start with a letter"},
		{"a label with a leading hyphen is refused", "-acme.example", `the label "-acme" must start and end`},
		{"a label of 64 characters is refused", strings.Repeat("a", 64) + ".example", "at most 63"},
		{"a name longer than 253 characters is refused", strings.Repeat(strings.Repeat("a", 60)+".", 5) + "example", "at most 253"},
	})
}

func TestHTTPSURL(t *testing.T) {
	run(t, HTTPSURL, []check{
		{"an https URL with a path is valid", "https://cdn.acme.example/logo.svg", ""},
		{"an https URL with a port, query and fragment is valid", "https://cdn.acme.example:8443/logo.svg?v=2#icon", ""},
		{"an https URL on an IP address is valid", "https://192.0.2.1/logo.png", ""},
		{"an uppercase scheme is accepted as https", "HTTPS://cdn.acme.example/logo.svg", ""},
		{"the empty string is refused", "", "the URL is empty"},
		{"plain http is refused", "http://cdn.acme.example/logo.svg", "must use https"},
		{"a data URL is refused", "data:image/png;base64,AAAA", "must use https"},
		{"a javascript URL is refused", "javascript:alert(1)", "must use https"},
		{"a relative path is refused", "/logo.svg", "not an absolute URL"},
		{"a scheme-relative URL is refused", "//cdn.acme.example/logo.svg", "not an absolute URL"},
		{"a host without scheme is refused", "cdn.acme.example/logo.svg", "not an absolute URL"},
		{"user information before the host is refused", "https://evil.example@cdn.acme.example/logo.svg", "user name or password"},
		{"an empty host is refused", "https:///logo.svg", "has no host"},
		{"a port without host is refused", "https://:443/logo.svg", "has no host"},
		{"inner whitespace is refused", "https://cdn.acme.example/my logo.svg", "whitespace"},
		{"surrounding whitespace is refused", " https://cdn.acme.example/logo.svg", "whitespace"},
		{"a unicode host is refused", "https://bücher.example/logo.svg", "non-ASCII"},
		{"a URL longer than 2048 characters is refused", "https://cdn.acme.example/" + strings.Repeat("a", 2048), "at most 2048"},
	})
}

func TestIssuerURL(t *testing.T) {
	t.Run("without loopback http", func(t *testing.T) {
		run(t, func(s string) error { return IssuerURL(s, false) }, []check{
			{"an https issuer is valid", "https://acme.okta.example", ""},
			{"an https issuer on localhost is valid", "https://localhost:8443", ""},
			{"plain http on 127.0.0.1 is refused", "http://127.0.0.1:5556/dex", "must use https"},
			{"plain http elsewhere is refused", "http://acme.okta.example", "must use https"},
			{"a fragment is refused", "https://acme.okta.example#top", "must not have a fragment"},
		})
	})
	run(t, func(s string) error { return IssuerURL(s, true) }, []check{
		{"an https issuer is valid", "https://acme.okta.example", ""},
		{"an https issuer with a path is valid", "https://login.example/tenants/acme/v2.0", ""},
		{"plain http on 127.0.0.1 is valid for development", "http://127.0.0.1:5556/dex", ""},
		{"plain http on localhost is valid for development", "http://localhost:8080", ""},
		{"plain http on the IPv6 loopback is valid for development", "http://[::1]:8080", ""},
		{"plain http elsewhere is refused", "http://acme.okta.example", "plain http is allowed only on"},
		{"plain http on a lookalike of localhost is refused", "http://localhost.evil.example", "plain http is allowed only on"},
		{"another scheme is refused", "ftp://acme.okta.example", "must use https"},
		{"a query is refused", "https://acme.okta.example?tenant=acme", "must not have a query"},
		{"an empty query is refused", "https://acme.okta.example?", "must not have a query"},
		{"a fragment is refused", "https://acme.okta.example#top", "must not have a fragment"},
		{"user information is refused", "https://admin:secret@acme.okta.example", "user name or password"},
		{"the empty string is refused", "", "the URL is empty"},
	})
}

func TestRedirectURI(t *testing.T) {
	for _, client := range []struct {
		kind   string
		public bool
	}{{"a confidential client", false}, {"a public client", true}} {
		t.Run(client.kind, func(t *testing.T) {
			customSchemeErr := "only Public clients (native apps) may use"
			if client.public {
				customSchemeErr = ""
			}
			run(t, func(s string) error { return RedirectURI(s, client.public) }, []check{
				{"an https URI is valid", "https://portal.example/callback", ""},
				{"an https URI with a query is valid", "https://portal.example/callback?tenant=acme", ""},
				{"http on 127.0.0.1 with a port is valid", "http://127.0.0.1:9090/callback", ""},
				{"http on the IPv6 loopback is valid", "http://[::1]:9090/callback", ""},
				{"http on localhost is valid", "http://localhost/callback", ""},
				{"a reverse-domain custom scheme is valid only for public clients", "com.example.app:/oauth2redirect", customSchemeErr},
				{"a custom scheme with an authority is valid only for public clients", "myapp://callback", customSchemeErr},
				{"http on a public host is refused", "http://portal.example/callback", "must use https"},
				{"http on a host that starts with 127 is refused", "http://127.0.0.1.evil.example/callback", "must use https"},
				{"http on another loopback address is refused", "http://127.0.0.2/callback", "must use https"},
				{"a fragment is refused", "https://portal.example/callback#done", "must not contain a fragment"},
				{"an empty fragment is refused", "https://portal.example/callback#", "must not contain a fragment"},
				{"user information is refused", "https://portal.example@evil.example/callback", "user name or password"},
				{"a javascript URI is refused", "javascript:alert(document.cookie)", "never allowed"},
				{"a data URI is refused", "data:text/html,<script>alert(1)</script>", "never allowed"},
				{"a file URI is refused", "file:///etc/passwd", "never allowed"},
				{"a relative URI is refused", "/callback", "is not absolute"},
				{"an uppercase scheme is refused", "HTTPS://portal.example/callback", "lowercase scheme"},
				{"https without a host is refused", "https:/callback", "has no host"},
				{"the empty string is refused", "", "the URL is empty"},
				{"inner whitespace is refused", "https://portal.example/call back", "whitespace"},
				{"a trailing newline is refused", "https://portal.example/callback\n", "whitespace"},
				{"a unicode path is refused", "https://portal.example/résumé", "non-ASCII"},
				{"a URI longer than 2048 characters is refused", "https://portal.example/" + strings.Repeat("a", 2048), "at most 2048"},
			})
		})
	}
}

func TestColor(t *testing.T) {
	run(t, Color, []check{
		{"six uppercase hexadecimal digits are valid", "#0B5FFF", ""},
		{"six lowercase hexadecimal digits are valid", "#0b5fff", ""},
		{"the empty string is refused", "", "the color is empty"},
		{"a three-digit short form is refused with the long form", "#FFF", "such as #FFFFFF"},
		{"a missing hash is refused with a hint", "0B5FFF", "missing its '#'"},
		{"an alpha channel is refused", "#0B5FFF80", "not a color"},
		{"a non-hexadecimal digit is refused", "#0B5FFG", "not a color"},
		{"a color name is refused", "blue", "not a color"},
		{"an rgb() expression is refused", "rgb(0,0,255)", "not a color"},
		{"surrounding whitespace is refused", " #0B5FFF", "not a color"},
		{"a trailing newline is refused", "#0B5FFF\n", "not a color"},
		{"fullwidth digits are refused", "#０B5FFF", "not a color"},
	})
}

func TestEmail(t *testing.T) {
	run(t, Email, []check{
		{"a plain address is valid", "alice@acme.example", ""},
		{"plus addressing and dots are valid", "alice.liddell+portal@acme.example", ""},
		{"an apostrophe in the local part is valid", "o'brien@acme.example", ""},
		{"an uppercase address is valid", "Alice@ACME.example", ""},
		{"a subdomain is valid", "alice@eu.acme.example", ""},
		{"the empty string is refused", "", "the email address is empty"},
		{"a missing '@' is refused", "alice.acme.example", "exactly one '@'"},
		{"two '@' are refused", "alice@acme@example", "exactly one '@'"},
		{"an empty local part is refused", "@acme.example", "nothing precedes the '@'"},
		{"an empty domain is refused", "alice@", "nothing follows the '@'"},
		{"a single-label domain is refused", "alice@localhost", "at least two labels"},
		{"an IP-address domain is refused", "alice@192.0.2.1", "IP address"},
		{"a bracketed IP literal is refused", "alice@[192.0.2.1]", "is not a valid domain"},
		{"a leading dot in the local part is refused", ".alice@acme.example", "must not start or end with a dot"},
		{"two dots in a row in the local part are refused", "alice..l@acme.example", "two dots in a row"},
		{"a quoted local part is refused", `"alice"@acme.example`, "may contain only"},
		{"a display-name form is refused", "Alice <alice@acme.example>", "not a plain email address"},
		{"surrounding whitespace is refused", " alice@acme.example", "whitespace"},
		{"inner whitespace is refused", "alice @acme.example", "whitespace"},
		{"a trailing newline is refused", "alice@acme.example\n", "whitespace"},
		{"a non-ASCII local part is refused", "jörg@acme.example", "non-ASCII"},
		{"a unicode domain is refused", "alice@bücher.example", "non-ASCII"},
		{"a local part of 65 characters is refused", strings.Repeat("a", 65) + "@acme.example", "at most 64"},
		{"an address longer than 254 characters is refused", "alice@" + strings.Repeat("a", 60) + "." + strings.Repeat("b", 60) + "." + strings.Repeat("c", 60) + "." + strings.Repeat("d", 60) + ".example", "at most 254"},
		{"a domain with a trailing dot is refused", "alice@acme.example.", "trailing dot"},
	})
}

func TestEmailDomain(t *testing.T) {
	cases := []struct {
		name    string
		email   string
		want    string
		wantErr string
	}{
		{"the domain of a lowercase address is returned as is", "alice@acme.example", "acme.example", ""},
		{"the domain is lower-cased", "Alice@ACME.Example", "acme.example", ""},
		{"only the domain is lower-cased, whatever the local part", "ALICE@eu.acme.example", "eu.acme.example", ""},
		{"an invalid address gives an error and no domain", "alice@@acme.example", "", "exactly one '@'"},
		{"the empty string gives an error and no domain", "", "", "empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := EmailDomain(tc.email)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("EmailDomain(%q) error = %v, want one containing %q", tc.email, err, tc.wantErr)
				}
				if got != "" {
					t.Fatalf("EmailDomain(%q) = %q with an error, want no domain", tc.email, got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("EmailDomain(%q) = %q, %v; want %q, nil", tc.email, got, err, tc.want)
			}
		})
	}
}

func TestLongInputIsShortenedInMessages(t *testing.T) {
	long := strings.Repeat("é", 5000)
	for name, err := range map[string]error{
		"DNSLabel":    DNSLabel(long),
		"Domain":      Domain(long),
		"HTTPSURL":    HTTPSURL(long),
		"RedirectURI": RedirectURI(long, true),
		"Email":       Email(long),
		"Color":       Color(long),
	} {
		if err == nil {
			t.Errorf("%s accepted a 10000-byte string", name)
			continue
		}
		if len(err.Error()) > 400 {
			t.Errorf("%s: the message is %d bytes long; long input must be shortened: %.100s", name, len(err.Error()), err)
		}
	}
}
