package clientip_test

import (
	"testing"

	"github.com/orgkeeper/orgkeeper/internal/clientip"
)

func TestBucket(t *testing.T) {
	for addr, want := range map[string]string{
		"192.0.2.1":              "192.0.2.1",
		"::ffff:192.0.2.1":       "192.0.2.1",
		"2001:db8:1:2::1":        "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::abc": "2001:db8:1:2::/64",
		"fe80::1%eth0":           "fe80::/64",
		"not an address":         "not an address",
	} {
		if got := clientip.Bucket(addr); got != want {
			t.Errorf("Bucket(%q) = %q, want %q", addr, got, want)
		}
	}
}
