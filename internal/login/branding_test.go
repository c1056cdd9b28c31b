package login

import (
	"strings"
	"testing"
)

func TestBrandForKeepsOnlyValidValues(t *testing.T) {
	for _, tc := range []struct {
		name     string
		in       brandingInput
		wantCSS  string
		wantLogo string
	}{
		{
			name:    "valid colours are used, upper-cased, with readable text on the primary colour",
			in:      brandingInput{PrimaryColor: "#0b5fff", BackgroundColor: "#FFFFFF", TextColor: "#111111"},
			wantCSS: "--ok-primary:#0B5FFF;--ok-on-primary:#FFFFFF;--ok-bg:#FFFFFF;--ok-text:#111111;",
		},
		{
			name:    "a light primary colour gets black text",
			in:      brandingInput{PrimaryColor: "#FFEE00", BackgroundColor: "#FFFFFF", TextColor: "#111111"},
			wantCSS: "--ok-primary:#FFEE00;--ok-on-primary:#000000;",
		},
		{
			name:    "a CSS injection attempt in a colour falls back to the default",
			in:      brandingInput{PrimaryColor: "red;}body{background:url(https://evil.example/x)", BackgroundColor: "#fff", TextColor: "expression(alert(1))"},
			wantCSS: "--ok-primary:" + defaultPrimary + ";--ok-on-primary:#FFFFFF;--ok-bg:" + defaultBackground + ";--ok-text:" + defaultText + ";",
		},
		{
			name:     "an https logo is kept",
			in:       brandingInput{LogoURL: "https://cdn.acme.example/logo.svg"},
			wantLogo: "https://cdn.acme.example/logo.svg",
		},
		{
			name: "a javascript: or http logo is dropped",
			in:   brandingInput{LogoURL: "javascript:alert(1)", FaviconURL: "http://cdn.acme.example/f.ico"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := brandFor(orgView{Name: "acme", Branding: tc.in})
			if !strings.Contains(string(b.CSS), tc.wantCSS) {
				t.Errorf("CSS %q does not contain %q", b.CSS, tc.wantCSS)
			}
			if strings.ContainsAny(string(b.CSS), "(){}\"'<>") {
				t.Errorf("CSS %q contains characters outside #RRGGBB declarations", b.CSS)
			}
			if b.LogoURL != tc.wantLogo {
				t.Errorf("logo %q, want %q", b.LogoURL, tc.wantLogo)
			}
			if tc.wantLogo == "" && b.FaviconURL != "" {
				t.Errorf("favicon %q kept", b.FaviconURL)
			}
		})
	}
}

func TestIsHexColorAcceptsExactlySixHexDigits(t *testing.T) {
	for s, want := range map[string]bool{
		"#0B5FFF": true, "#abcdef": true, "#FFF": false, "0B5FFF": false,
		"#0B5FFG": false, "#0B5FFF;": false, "": false, "#0B5FF\n": false,
	} {
		if got := isHexColor(s); got != want {
			t.Errorf("isHexColor(%q) = %v, want %v", s, got, want)
		}
	}
}
