package v1alpha1_test

import (
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Structural names (issue 6 item 5): sharing references are paths below the
// registering organization, and application roles name a client ID.
var _ = Describe("CRD validation of structural names", func() {
	BeforeEach(func() {
		err := k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "crd-tests"}})
		if !apierrors.IsAlreadyExists(err) {
			Expect(err).NotTo(HaveOccurred())
		}
	})

	sharing := func(ref string) string {
		return fmt.Sprintf(`apiVersion: iam.orgkeeper.io/v1alpha1
kind: SharedApplication
metadata: {name: portal}
spec:
  displayName: Portal
  redirectURIs: [https://portal.example/callback]
  sharing: {mode: Selected, organizations: [%q]}
`, ref)
	}
	roles := func(app string) string {
		return fmt.Sprintf(`apiVersion: iam.orgkeeper.io/v1alpha1
kind: OrgUser
metadata: {name: alice}
spec:
  email: alice@acme.example
  applicationRoles: [{application: %q, roles: [buyer]}]
`, app)
	}

	DescribeTable("accepts",
		func(doc string) { Expect(apply(doc)).To(Succeed()) },
		Entry("a sharing reference to a direct child", sharing("acme")),
		Entry("a sharing reference by path below the registering organization", sharing("acme/acme-eu/acme-eu-west")),
		Entry("application roles of a root application", roles("portal")),
		Entry("application roles of an organization's application by its client ID", roles("acme/portal")),
	)

	DescribeTable("refuses, naming the field",
		func(doc, field string) {
			err := apply(doc)
			Expect(err).To(HaveOccurred(), "the API server accepted:\n%s", doc)
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want an Invalid error, got %v", err)
			Expect(err.Error()).To(ContainSubstring(field))
		},
		Entry("a sharing path with an empty segment", sharing("acme//acme-eu"), "spec.sharing.organizations"),
		Entry("a sharing path that starts with '/'", sharing("/acme"), "spec.sharing.organizations"),
		Entry("a sharing path with upper case", sharing("acme/ACME-EU"), "spec.sharing.organizations"),
		Entry("a sharing reference longer than 255 characters", sharing(fmt.Sprintf("%0256d", 0)), "spec.sharing.organizations"),
		Entry("an application reference with two organizations", roles("acme/eu/portal"), "spec.applicationRoles[0].application"),
		Entry("an application reference ending in '/'", roles("acme/"), "spec.applicationRoles[0].application"),
	)
})
