package rules

import "testing"

func TestClientID(t *testing.T) {
	cases := []struct {
		name                   string
		root, registering, app string
		want                   string
	}{
		{"an application of the root organization keeps its name", "platform", "platform", "portal", "portal"},
		{"an application of another organization is qualified by it", "platform", "acme", "portal", "acme/portal"},
		{"a deeper organization qualifies with its own name only", "platform", "acme-eu", "portal", "acme-eu/portal"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := ClientID(c.root, c.registering, c.app); got != c.want {
				t.Fatalf("ClientID = %q, want %q", got, c.want)
			}
		})
	}
}

func TestNoOrganizationCanRegisterTheClientIDOfAnother(t *testing.T) {
	// Whatever a sub-organization names its application, its client ID
	// differs from every root application's and from every other
	// organization's.
	root := ClientID("platform", "platform", "portal")
	for _, org := range []string{"acme", "globex", "portal"} {
		for _, name := range []string{"portal", "acme", "acme-portal"} {
			if id := ClientID("platform", org, name); id == root {
				t.Errorf("organization %q registering %q gets the root's client ID %q", org, name, id)
			}
		}
	}
	if ClientID("platform", "acme", "eu-portal") == ClientID("platform", "acme-eu", "portal") {
		t.Error("two organizations get the same client ID")
	}
}
