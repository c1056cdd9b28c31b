package v1alpha1_test

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/orgkeeper/orgkeeper/config"
)

// apply creates the object written in YAML and returns the API server's error.
func apply(doc string) error {
	u := &unstructured.Unstructured{}
	Expect(yaml.Unmarshal([]byte(doc), &u.Object)).To(Succeed())
	if u.GetNamespace() == "" {
		u.SetNamespace("crd-tests")
	}
	return k8s.Create(ctx, u, client.DryRunAll)
}

const orgHeader = `apiVersion: iam.orgkeeper.io/v1alpha1
kind: Organization
metadata: {name: %s}
spec:
`

func org(name, spec string) string {
	return strings.Replace(orgHeader, "%s", name, 1) + spec
}

var _ = Describe("CRD validation", func() {
	BeforeEach(func() {
		err := k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "crd-tests"}})
		if !apierrors.IsAlreadyExists(err) {
			Expect(err).NotTo(HaveOccurred())
		}
	})

	DescribeTable("refuses bad YAML with a message that names the field",
		func(doc string, wantField, wantWhy string) {
			err := apply(doc)
			Expect(err).To(HaveOccurred(), "the API server accepted:\n%s", doc)
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want an Invalid error, got %v", err)
			Expect(err.Error()).To(ContainSubstring(wantField))
			Expect(err.Error()).To(ContainSubstring(wantWhy))
		},
		Entry("an organization without a display name", org("acme", "  description: x\n"), "spec.displayName", "Required"),
		Entry("a reserved organization name", org("kube-acme", "  displayName: A\n"), "metadata.name", "reserved"),
		Entry("the name default", org("default", "  displayName: A\n"), "metadata.name", "reserved"),
		Entry("an orgkeeper- name", org("orgkeeper-x", "  displayName: A\n"), "metadata.name", "reserved"),
		Entry("an organization name that is not a DNS label", org("acme.corp", "  displayName: A\n"), "metadata.name", "DNS label"),
		Entry("an upper-case domain", org("acme", "  displayName: A\n  domains: [ACME.example]\n"), "spec.domains[0]", "should match"),
		Entry("a domain without a dot", org("acme", "  displayName: A\n  domains: [localhost]\n"), "spec.domains[0]", "should match"),
		Entry("a colour that is not #RRGGBB", org("acme", "  displayName: A\n  branding: {primaryColor: red}\n"), "spec.branding.primaryColor", "should match"),
		Entry("a logo served over http", org("acme", "  displayName: A\n  branding: {logoURL: 'http://cdn.example/logo.svg'}\n"), "spec.branding.logoURL", "https"),
		Entry("an unknown deletion policy", org("acme", "  displayName: A\n  deletionPolicy: Orphan\n"), "spec.deletionPolicy", "Unsupported value"),
		Entry("an unknown MFA policy", org("acme", "  displayName: A\n  login: {mfa: Sometimes}\n"), "spec.login.mfa", "Unsupported value"),
		Entry("an admin of an unknown kind", org("acme", "  displayName: A\n  admins: [{kind: ServiceAccount, name: x}]\n"), "spec.admins[0].kind", "Unsupported value"),
		Entry("an unknown domain verification mode", org("acme", "  displayName: A\n  domainVerification: Email\n"), "spec.domainVerification", "Unsupported value"),
		Entry("a public client with client_credentials", `apiVersion: iam.orgkeeper.io/v1alpha1
kind: SharedApplication
metadata: {name: spa}
spec:
  displayName: SPA
  clientType: Public
  redirectURIs: [https://spa.example/callback]
  grantTypes: [authorization_code, client_credentials]
`, "spec", "client_credentials"),
		Entry("an unknown grant type", `apiVersion: iam.orgkeeper.io/v1alpha1
kind: SharedApplication
metadata: {name: app}
spec:
  displayName: App
  redirectURIs: [https://app.example/callback]
  grantTypes: [authorization_code, password]
`, "spec.grantTypes[1]", "Unsupported value"),
		Entry("an OrgUser without an email", `apiVersion: iam.orgkeeper.io/v1alpha1
kind: OrgUser
metadata: {name: alice}
spec:
  displayName: Alice
`, "spec.email", "Required"),
		Entry("an identity provider with a plain-http issuer", `apiVersion: iam.orgkeeper.io/v1alpha1
kind: IdentityProvider
metadata: {name: okta}
spec:
  displayName: Okta
  type: OIDC
  oidc:
    issuer: http://okta.example
    clientID: orgkeeper
    clientSecretRef: {name: s, key: k}
`, "spec.oidc.issuer", "https"),
	)

	It("accepts every object in config/samples", func() {
		err := fs.WalkDir(config.SampleFiles, "samples", func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			raw, err := fs.ReadFile(config.SampleFiles, path)
			if err != nil {
				return err
			}
			dec := k8syaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096)
			for {
				u := &unstructured.Unstructured{}
				if err := dec.Decode(&u.Object); errors.Is(err, io.EOF) {
					return nil
				} else if err != nil {
					return err
				}
				if len(u.Object) == 0 {
					continue
				}
				ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: u.GetNamespace()}}
				if err := k8s.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
					return err
				}
				Expect(k8s.Create(ctx, u, client.DryRunAll)).To(Succeed(), "%s: %s %s", path, u.GetKind(), u.GetName())
			}
		})
		Expect(err).NotTo(HaveOccurred())
	})
})
