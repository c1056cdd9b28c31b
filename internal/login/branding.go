package login

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"

	"github.com/orgkeeper/orgkeeper/internal/rules"
)

// Built-in colours, used where an organization's value is missing or not a
// valid #RRGGBB (the snapshot validates too; this is the second line,
// because the values end up in CSS).
const (
	defaultPrimary    = "#2F4F7F"
	defaultBackground = "#F7F7F8"
	defaultText       = "#1F2328"
)

// brand is what a page shows of an organization.
type brand struct {
	// Name is the display name (escaped by html/template where used).
	Name       string
	LogoURL    string
	FaviconURL string
	// CSS holds only custom property declarations built from validated
	// colours, for the nonce-protected style element.
	CSS template.CSS
}

// isHexColor reports whether s is exactly #RRGGBB.
func isHexColor(s string) bool {
	if len(s) != 7 || s[0] != '#' {
		return false
	}
	for _, c := range s[1:] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// httpsURL returns s when it is an absolute https URL, else "".
// The rule is rules.BrandingURL, which the snapshot applies too (reporting
// a refused value in the organization's status), so nothing the snapshot
// keeps vanishes here.
func httpsURL(s string) string {
	if s == "" || rules.BrandingURL(s) != nil {
		return ""
	}
	return s
}

func colorOr(s, fallback string) string {
	if isHexColor(s) {
		return strings.ToUpper(s)
	}
	return fallback
}

// onColor picks black or white text for a background, whichever has the
// higher contrast (WCAG relative luminance).
func onColor(bg string) string {
	lin := func(hex string) float64 {
		v, _ := strconv.ParseUint(hex, 16, 8)
		c := float64(v) / 255
		if c <= 0.03928 {
			return c / 12.92
		}
		return math.Pow((c+0.055)/1.055, 2.4)
	}
	l := 0.2126*lin(bg[1:3]) + 0.7152*lin(bg[3:5]) + 0.0722*lin(bg[5:7])
	// Contrast with white: 1.05/(l+0.05); with black: (l+0.05)/0.05.
	if 1.05/(l+0.05) >= (l+0.05)/0.05 {
		return "#FFFFFF"
	}
	return "#000000"
}

// brandFor turns an organization's effective branding into page values.
// Nothing that fails validation reaches the page.
func brandFor(o orgView) brand {
	b := o.Branding
	primary := colorOr(b.PrimaryColor, defaultPrimary)
	bg := colorOr(b.BackgroundColor, defaultBackground)
	text := colorOr(b.TextColor, defaultText)
	name := o.DisplayName
	if name == "" {
		name = o.Name
	}
	return brand{
		Name:       name,
		LogoURL:    httpsURL(b.LogoURL),
		FaviconURL: httpsURL(b.FaviconURL),
		CSS:        template.CSS(fmt.Sprintf("--ok-primary:%s;--ok-on-primary:%s;--ok-bg:%s;--ok-text:%s;", primary, onColor(primary), bg, text)),
	}
}

// neutralBrand is used before an organization is known.
func neutralBrand() brand {
	return brandFor(orgView{DisplayName: "Sign in"})
}
