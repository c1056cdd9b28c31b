package snapshot_test

import (
	"testing"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
)

func TestAcceptsRedirectURI(t *testing.T) {
	web := &snapshot.Client{Type: iamv1.ClientTypeConfidential, RedirectURIs: []string{"https://portal.example/callback", "http://127.0.0.1/cb"}}
	native := &snapshot.Client{Type: iamv1.ClientTypePublic, RedirectURIs: []string{"http://127.0.0.1/callback", "http://[::1]/callback"}}
	for _, c := range []struct {
		name   string
		client *snapshot.Client
		uri    string
		want   bool
	}{
		{"a registered URI is accepted", web, "https://portal.example/callback", true},
		{"a trailing slash is not", web, "https://portal.example/callback/", false},
		{"a confidential client's loopback URI takes no other port", web, "http://127.0.0.1:8080/cb", false},
		{"a native client's loopback URI takes any port", native, "http://127.0.0.1:49152/callback", true},
		{"the IPv6 loopback too", native, "http://[::1]:49152/callback", true},
		{"but not another path", native, "http://127.0.0.1:49152/other", false},
		{"nor the other loopback literal than registered", &snapshot.Client{Type: iamv1.ClientTypePublic, RedirectURIs: []string{"http://127.0.0.1/callback"}}, "http://[::1]:1/callback", false},
		{"nor localhost", native, "http://localhost:49152/callback", false},
		{"a port that is not digits is not", native, "http://127.0.0.1:x/callback", false},
		{"a client that no longer exists accepts nothing", nil, "https://portal.example/callback", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.client.AcceptsRedirectURI(c.uri); got != c.want {
				t.Fatalf("AcceptsRedirectURI(%q) = %v", c.uri, got)
			}
		})
	}
}
