package main

import (
	"strings"
	"testing"
)

func TestHelpDescribesEveryCommand(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"login", "--help"}, {"logout", "--help"}, {"whoami", "--help"},
		{"tree", "--help"}, {"invite", "--help"}, {"switch", "--help"}} {
		root := newRootCommand()
		var buf strings.Builder
		root.SetOut(&buf)
		root.SetArgs(args)
		if err := root.Execute(); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if !strings.Contains(buf.String(), "Usage:") || !strings.Contains(buf.String(), "kubectl org") {
			t.Errorf("%v printed no usage:\n%s", args, buf.String())
		}
	}
}

func TestUserObjectName(t *testing.T) {
	for email, want := range map[string]string{
		"bob@acme.example":             "bob",
		"Carol.Jones@acme.example":     "carol-jones",
		"--x__y@acme.example":          "x-y",
		"@acme.example":                "user",
		strings.Repeat("a", 80) + "@x": strings.Repeat("a", 63),
	} {
		if got := userObjectName(email); got != want {
			t.Errorf("userObjectName(%q) = %q, want %q", email, got, want)
		}
	}
}

func TestLoginFlagsGivenOnTheCommandLineWinOverTheKubeconfigs(t *testing.T) {
	o, err := parseLoginArgs([]string{"--issuer-url=https://login.example", "--organization=acme", "--organization=acme-eu", "--no-browser=true"})
	if err != nil {
		t.Fatal(err)
	}
	if o.issuer != "https://login.example" || o.organization != "acme-eu" || !o.noBrowser || o.clientID != "kubernetes" {
		t.Errorf("parsed %+v", o)
	}
	if _, err := parseLoginArgs([]string{"--no-such-flag"}); err == nil {
		t.Error("an unknown argument in the kubeconfig must be reported")
	}
}
