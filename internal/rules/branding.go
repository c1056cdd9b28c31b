package rules

import (
	"fmt"
	"strings"

	"github.com/orgkeeper/orgkeeper/internal/validation"
)

// BrandingURL decides whether a branding URL (spec.branding.logoURL,
// faviconURL) can appear on the login pages: an https URL with a host
// (validation.HTTPSURL) without quotes, angle brackets or backslashes,
// which the pages' attributes and CSS must never receive even escaped.
// snapshot.Build keeps only values that pass (and reports the others as a
// Problem of the organization); the login pages check again with the same
// function, so a value cannot vanish from the page without a status saying
// so.
func BrandingURL(s string) error {
	if err := validation.HTTPSURL(s); err != nil {
		return err
	}
	if i := strings.IndexAny(s, "\"'<>\\"); i >= 0 {
		return fmt.Errorf("%q contains %q, which the login pages do not accept in a URL; percent-encode it (%%%02X)", s, s[i], s[i])
	}
	return nil
}
