package connector

import (
	"net/netip"
	"testing"
)

func TestPublicAddress(t *testing.T) {
	for _, c := range []struct {
		addr string
		want bool
	}{
		{"8.8.8.8", true},
		{"1.1.1.1", true},
		{"2606:4700:4700::1111", true},
		{"::ffff:8.8.8.8", true},
		{"10.1.2.3", false},
		{"172.16.0.1", false},
		{"192.168.1.1", false},
		{"127.0.0.1", false},
		{"127.8.9.10", false},
		{"::1", false},
		{"169.254.169.254", false}, // cloud metadata
		{"fe80::1", false},
		{"fc00::1", false},
		{"fd12:3456::1", false},
		{"100.64.0.1", false},
		{"0.0.0.0", false},
		{"0.1.2.3", false},
		{"::", false},
		{"224.0.0.1", false},
		{"ff02::1", false},
		{"::ffff:10.0.0.1", false},
		{"::ffff:127.0.0.1", false},
		{"64:ff9b::a00:1", false}, // NAT64 of 10.0.0.1
		{"2002:a00:1::", false},   // 6to4 of 10.0.0.1
		{"198.18.0.1", false},
		{"192.0.0.8", false},
		{"240.0.0.1", false},
		{"255.255.255.255", false},
	} {
		if got := publicAddress(netip.MustParseAddr(c.addr)); got != c.want {
			t.Errorf("publicAddress(%s) = %v, want %v", c.addr, got, c.want)
		}
	}
}

func TestPermitsAddress(t *testing.T) {
	cfg := Config{AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16")}}
	for _, c := range []struct {
		addr string
		want bool
	}{
		{"8.8.8.8", true},
		{"10.20.3.4", true},
		{"::ffff:10.20.3.4", true},
		{"10.21.0.1", false},
		{"127.0.0.1", false},
		{"169.254.169.254", false},
	} {
		if got := cfg.permitsAddress(netip.MustParseAddr(c.addr)); got != c.want {
			t.Errorf("permitsAddress(%s) = %v, want %v", c.addr, got, c.want)
		}
	}
	dev := Config{AllowLoopbackHTTP: true}
	if !dev.permitsAddress(netip.MustParseAddr("::1")) || dev.permitsAddress(netip.MustParseAddr("192.168.0.1")) {
		t.Error("AllowLoopbackHTTP allows loopback, and only loopback")
	}
}
