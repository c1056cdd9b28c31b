package rules

import "testing"

func TestBrandingURL(t *testing.T) {
	for _, c := range []struct {
		name string
		url  string
		ok   bool
	}{
		{"an https URL with a host is usable", "https://cdn.acme.example/logo.svg", true},
		{"a query string is usable", "https://cdn.acme.example/logo.svg?v=2&x=%22", true},
		{"plain http is not", "http://cdn.acme.example/logo.svg", false},
		{"a double quote is not, though schema validation accepts it", `https://cdn.acme.example/a"b.svg`, false},
		{"a single quote is not", "https://cdn.acme.example/a'b.svg", false},
		{"angle brackets are not", "https://cdn.acme.example/<b>.svg", false},
		{"a backslash is not", `https://cdn.acme.example/a\b.svg`, false},
		{"no host is not", "https:///logo.svg", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := BrandingURL(c.url); (err == nil) != c.ok {
				t.Fatalf("BrandingURL(%q) = %v", c.url, err)
			}
		})
	}
}
