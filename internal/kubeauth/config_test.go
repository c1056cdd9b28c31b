package kubeauth

import (
	"strings"
	"testing"

	"github.com/orgkeeper/orgkeeper/internal/rules"
)

// TestConfigurationNamesAgreeWithTheRBAC: the names in the configuration
// are built from the prefix the operator's RoleBindings use.
func TestConfigurationNamesAgreeWithTheRBAC(t *testing.T) {
	b, err := ConfigurationYAML(Options{IssuerURL: "https://login.example.com", CA: []byte("PEM")})
	if err != nil {
		t.Fatal(err)
	}
	y := string(b)
	for _, want := range []string{
		"apiVersion: apiserver.config.k8s.io/v1",
		"kind: AuthenticationConfiguration",
		"url: https://login.example.com",
		"- kubernetes",
		"prefix: '" + rules.KubePrefix + "'",
		`expression: '''` + rules.KubePrefix + `'' + claims.org_handle + '':'' + claims.preferred_username.lowerAscii()'`,
		"certificateAuthority: PEM",
	} {
		if !strings.Contains(y, want) {
			t.Errorf("the configuration lacks %q:\n%s", want, y)
		}
	}
	if rules.KubeUser("acme", "Alice") != rules.KubePrefix+"acme:alice" {
		t.Error("rules.KubeUser no longer matches the username expression")
	}
	if _, err := ConfigurationYAML(Options{}); err == nil {
		t.Error("no issuer URL must be an error")
	}
}
