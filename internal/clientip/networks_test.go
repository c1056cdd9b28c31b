package clientip

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestParseNetworks(t *testing.T) {
	got, err := ParseNetworks("--upstream-allowed-networks", " 10.20.0.0/16, 192.168.7.8 ,fd00::/8,10.1.2.3/8,")
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16"), netip.MustParsePrefix("192.168.7.8/32"),
		netip.MustParsePrefix("fd00::/8"), netip.MustParsePrefix("10.0.0.0/8")}
	if !slices.Equal(got, want) {
		t.Fatalf("parseNetworks = %v, want %v", got, want)
	}
	if got, err := ParseNetworks("--upstream-allowed-networks", ""); err != nil || len(got) != 0 {
		t.Fatalf("empty list: %v, %v", got, err)
	}
	for _, bad := range []string{"10.0.0.0/33", "corp.example.com", "10.0.0/8"} {
		if _, err := ParseNetworks("--upstream-allowed-networks", bad); err == nil || !strings.Contains(err.Error(), "--upstream-allowed-networks") {
			t.Errorf("%q: %v, want an error naming the flag", bad, err)
		}
	}
}
