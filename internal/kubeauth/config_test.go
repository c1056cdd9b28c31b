package kubeauth

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	apiserverv1 "k8s.io/apiserver/pkg/apis/apiserver/v1"
	"sigs.k8s.io/yaml"

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
		"certificateAuthority: PEM",
	} {
		if !strings.Contains(y, want) {
			t.Errorf("the configuration lacks %q:\n%s", want, y)
		}
	}
	a, err := Authenticator(Options{IssuerURL: "https://login.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if want := ": '" + rules.KubePrefix + "' + claims.org_handle + ':' + claims.preferred_username.lowerAscii()"; !strings.HasSuffix(a.ClaimMappings.Username.Expression, want) {
		t.Errorf("the username expression %q does not end in %q", a.ClaimMappings.Username.Expression, want)
	}
	if rules.KubeUser("acme", "Alice") != rules.KubePrefix+"acme:alice" {
		t.Error("rules.KubeUser no longer matches the username expression")
	}
	if _, err := ConfigurationYAML(Options{}); err == nil {
		t.Error("no issuer URL must be an error")
	}
}

// TestDocumentedConfigurationIsTheGeneratedOne: docs/kubectl.md shows the
// configuration for a cluster; it must say what kubeauth (and so dev, and
// the RBAC names) says.
func TestDocumentedConfigurationIsTheGeneratedOne(t *testing.T) {
	doc, err := os.ReadFile("../../docs/kubectl.md")
	if err != nil {
		t.Fatal(err)
	}
	const start = "```yaml\napiVersion: apiserver.config.k8s.io/v1\n"
	i := strings.Index(string(doc), start)
	if i < 0 {
		t.Fatal("docs/kubectl.md shows no AuthenticationConfiguration")
	}
	block := string(doc)[i+len("```yaml\n"):]
	block = block[:strings.Index(block, "```")]
	var documented apiserverv1.AuthenticationConfiguration
	if err := yaml.UnmarshalStrict([]byte(block), &documented); err != nil {
		t.Fatalf("the documented configuration does not parse: %v", err)
	}
	want, err := Configuration(Options{IssuerURL: "https://login.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, &documented); diff != "" {
		t.Errorf("docs/kubectl.md differs from kubeauth.Configuration (-generated +documented):\n%s", diff)
	}
}
