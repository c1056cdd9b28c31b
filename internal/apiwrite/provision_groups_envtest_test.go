package apiwrite

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/connector"
	"github.com/orgkeeper/orgkeeper/internal/login"
	"github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

var _ = Describe("Upstream groups on later sign-ins", func() {
	sync := func(ns, name, subject string, groups ...string) {
		GinkgoHelper()
		_, err := startWriter().Provision(envCtx, login.ProvisionRequest{
			Action: login.ProvisionSync, Namespace: ns, UserName: name, IdentityProvider: "corp",
			Identity: connector.Identity{Subject: subject, Email: subject + "@" + ns + ".example", EmailVerified: true, Groups: groups},
		})
		Expect(err).NotTo(HaveOccurred())
	}

	It("follow the provider's groups for a user it created, without reserved names", func() {
		Expect(k8s.Create(envCtx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "prov-groups"}})).To(Succeed())
		_, err := startWriter().Provision(envCtx, login.ProvisionRequest{
			Action: login.ProvisionCreate, Namespace: "prov-groups", IdentityProvider: "corp",
			Identity: connector.Identity{Subject: "kim", Email: "kim@prov-groups.example", EmailVerified: true, Groups: []string{"staff"}},
		})
		Expect(err).NotTo(HaveOccurred())
		name := FederatedUserName("", "corp", "kim")
		sync("prov-groups", name, "kim", "staff", "architects", "orgkeeper:org:prov-groups:admins", "System:Masters")
		u := &iamv1.OrgUser{}
		Expect(k8s.Get(envCtx, client.ObjectKey{Namespace: "prov-groups", Name: name}, u)).To(Succeed())
		Expect(u.Spec.Groups).To(Equal([]string{"staff", "architects"}))
	})

	It("leave the groups of a linked user, which its administrators manage, as they are", func() {
		Expect(k8s.Create(envCtx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "prov-linked"}})).To(Succeed())
		u := snapshottest.ForCreate(snapshottest.User("prov-linked", "lee", "lee@prov-linked.example", snapshottest.WithGroups("finance")))
		Expect(k8s.Create(envCtx, u)).To(Succeed())
		sync("prov-linked", "lee", "lee", "engineering")
		Expect(k8s.Get(envCtx, client.ObjectKeyFromObject(u), u)).To(Succeed())
		Expect(u.Spec.Groups).To(Equal([]string{"finance"}))
	})
})
