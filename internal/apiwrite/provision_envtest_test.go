package apiwrite

import (
	"strings"
	"sync"

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

var _ = Describe("Provisioning users who sign in through an upstream provider", func() {
	newOrg := func(ns string) {
		GinkgoHelper()
		Expect(k8s.Create(envCtx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	}
	create := func(ns, subject string) login.ProvisionRequest {
		return login.ProvisionRequest{
			Action: login.ProvisionCreate, Namespace: ns, IdentityProvider: "corp",
			Identity: connector.Identity{Subject: subject,
				Email: subject + "@" + ns + ".example", EmailVerified: true, Name: "Pat Doe", GivenName: "Pat", FamilyName: "Doe",
				Groups: []string{"staff"}},
			DefaultRoles: []string{"member"},
		}
	}

	It("creates one OrgUser when two first sign-ins of one person race", func() {
		newOrg("prov-race")
		a, b := startWriter(), startWriter()
		const n = 8
		ids := make([]string, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			w := a
			if i%2 == 1 {
				w = b
			}
			wg.Go(func() {
				var res login.ProvisionResult
				res, errs[i] = w.Provision(envCtx, create("prov-race", "pat"))
				ids[i] = res.UserID
			})
		}
		wg.Wait()
		for i := range n {
			Expect(errs[i]).NotTo(HaveOccurred())
			Expect(ids[i]).To(Equal(ids[0]), "every sign-in gets the same user")
		}
		users := &iamv1.OrgUserList{}
		Expect(k8s.List(envCtx, users, client.InNamespace("prov-race"))).To(Succeed())
		Expect(users.Items).To(HaveLen(1))
		u := users.Items[0]
		Expect(string(u.UID)).To(Equal(ids[0]))
		Expect(u.Name).To(Equal(FederatedUserName("", "corp", "pat")))
		Expect(u.Labels).To(HaveKeyWithValue(IdentityProviderLabel, "corp"))
		Expect(u.Spec.Email).To(Equal("pat@prov-race.example"))
		Expect(u.Spec.Roles).To(Equal([]string{"member"}))
		Expect(u.Spec.Groups).To(Equal([]string{"staff"}))
		Expect(u.Spec.GivenName).To(Equal("Pat"))
		Expect(u.Status.FederatedIdentities).To(Equal([]iamv1.FederatedIdentity{{IdentityProvider: "corp", Subject: "pat"}}))
	})

	It("does not link a person to a user an admin pre-created under their just-in-time name", func() {
		newOrg("prov-squat")
		w := startWriter()
		// An org admin guesses the name (it is derived from provider and
		// subject) and prepares the account with a password of their own.
		squat := snapshottest.ForCreate(snapshottest.User("prov-squat", FederatedUserName("", "corp", "pat"), "pat@prov-squat.example",
			snapshottest.WithRoles("admin")))
		squat.Labels = map[string]string{IdentityProviderLabel: "corp"}
		Expect(k8s.Create(envCtx, squat)).To(Succeed())

		_, err := w.Provision(envCtx, create("prov-squat", "pat"))
		Expect(err).To(MatchError(ContainSubstring("was not made by a sign-in")))
		got := &iamv1.OrgUser{}
		Expect(k8s.Get(envCtx, client.ObjectKeyFromObject(squat), got)).To(Succeed())
		Expect(got.Status.FederatedIdentities).To(BeEmpty(), "the identity is not linked")
	})

	It("links an existing OrgUser by adding the identity to its status, keeping what is there", func() {
		newOrg("prov-link")
		u := snapshottest.ForCreate(snapshottest.User("prov-link", "alice", "alice@prov-link.example"))
		Expect(k8s.Create(envCtx, u)).To(Succeed())
		before := u.DeepCopy()
		u.Status.FederatedIdentities = []iamv1.FederatedIdentity{{IdentityProvider: "other", Organization: "platform", Subject: "a1"}}
		Expect(k8s.Status().Patch(envCtx, u, client.MergeFrom(before))).To(Succeed())

		w := startWriter()
		req := login.ProvisionRequest{Action: login.ProvisionLink, Namespace: "prov-link", UserName: "alice", IdentityProvider: "corp", Identity: connector.Identity{Subject: "s-alice"}}
		res, err := w.Provision(envCtx, req)
		uid := res.UserID
		Expect(err).NotTo(HaveOccurred())
		Expect(uid).To(Equal(string(u.UID)))
		// Linking twice (a second tab) changes nothing.
		_, err = w.Provision(envCtx, req)
		Expect(err).NotTo(HaveOccurred())
		cur := &iamv1.OrgUser{}
		Expect(k8s.Get(envCtx, client.ObjectKeyFromObject(u), cur)).To(Succeed())
		Expect(cur.Status.FederatedIdentities).To(Equal([]iamv1.FederatedIdentity{
			{IdentityProvider: "other", Organization: "platform", Subject: "a1"},
			{IdentityProvider: "corp", Subject: "s-alice"},
		}))
	})

	It("updates the profile on a later sign-in when syncProfileOnLogin asks", func() {
		newOrg("prov-sync")
		w := startWriter()
		_, err := w.Provision(envCtx, create("prov-sync", "pat"))
		Expect(err).NotTo(HaveOccurred())
		_, err = w.Provision(envCtx, login.ProvisionRequest{
			Action: login.ProvisionSync, Namespace: "prov-sync", UserName: FederatedUserName("", "corp", "pat"),
			IdentityProvider: "corp", Identity: connector.Identity{Subject: "pat", Email: "pat.doe@prov-sync.example", EmailVerified: true, Name: "Pat Q. Doe"},
		})
		Expect(err).NotTo(HaveOccurred())
		cur := &iamv1.OrgUser{}
		Expect(k8s.Get(envCtx, client.ObjectKey{Namespace: "prov-sync", Name: FederatedUserName("", "corp", "pat")}, cur)).To(Succeed())
		Expect(cur.Spec.Email).To(Equal("pat.doe@prov-sync.example"))
		Expect(cur.Spec.DisplayName).To(Equal("Pat Q. Doe"))
		Expect(cur.Spec.GivenName).To(Equal("Pat"), "what the provider did not send is kept")
	})

	It("creates the user even when the provider sends groups and names the API would refuse", func() {
		newOrg("prov-odd")
		w := startWriter()
		req := create("prov-odd", "odd")
		req.Groups = []string{"system:masters", "staff", "staff", " padded"}
		req.GivenName = strings.Repeat("é", 200)
		res, err := w.Provision(envCtx, req)
		uid := res.UserID
		Expect(err).NotTo(HaveOccurred())
		Expect(uid).NotTo(BeEmpty())
		cur := &iamv1.OrgUser{}
		Expect(k8s.Get(envCtx, client.ObjectKey{Namespace: "prov-odd", Name: FederatedUserName("", "corp", "odd")}, cur)).To(Succeed())
		Expect(cur.Spec.Groups).To(Equal([]string{"staff"}))
		Expect([]rune(cur.Spec.GivenName)).To(HaveLen(128))
	})

	It("names a person's user by provider and subject, never the same for another provider or owner", func() {
		Expect(FederatedUserName("", "corp", "pat")).To(Equal(FederatedUserName("", "corp", "pat")))
		Expect(FederatedUserName("", "corp", "pat")).NotTo(Equal(FederatedUserName("", "corp2", "pat")))
		Expect(FederatedUserName("", "corp", "pat")).NotTo(Equal(FederatedUserName("platform", "corp", "pat")))
		Expect(FederatedUserName("", "corp", "pat")).NotTo(Equal(FederatedUserName("", "cor", "ppat")))
		Expect(len(FederatedUserName("", "corp", "pat"))).To(BeNumerically("<=", 63))
	})
})
