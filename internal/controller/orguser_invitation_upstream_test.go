package controller

import (
	"encoding/json"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/credentials"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

var _ = Describe("OrgUser invitations accepted through an identity provider", func() {
	const org = "invidp"
	BeforeEach(func() {
		ensureRoot()
		ensureOrg(org, rootName)
	})

	It("links the identity the acceptance recorded when the server's own status write did not happen, and the user turns Active", func() {
		createFrom(st.User(org, "ivy", "ivy@invidp.example", st.Invited()))
		mailsTo("ivy@invidp.example", 1)
		u := eventuallyConditionOf(newUser, org, "ivy", iamv1.ConditionInvitationSent, metav1.ConditionTrue, iamv1.ReasonInvitationQueued)
		Expect(u.Status.State).To(Equal(iamv1.OrgUserStateInvited))

		// What the server's acceptance writes (apiwrite.AcceptInvitation),
		// without its second write to the OrgUser's status.
		fi := iamv1.FederatedIdentity{IdentityProvider: "corp", Subject: "ivy-at-corp"}
		raw, err := json.Marshal(fi)
		Expect(err).NotTo(HaveOccurred())
		cred := credentialOf(u)
		before := cred.DeepCopy()
		cred.Data[credentials.InvitationAcceptedKey] = []byte(credentials.FormatTime(time.Now()))
		cred.Data[credentials.InvitationIdentityKey] = raw
		Expect(k8s.Patch(ctx, cred, client.MergeFrom(before))).To(Succeed())

		Eventually(func(g Gomega) {
			cur := getUser(org, "ivy")
			g.Expect(cur.Status.FederatedIdentities).To(ConsistOf(fi))
			g.Expect(cur.Status.State).To(Equal(iamv1.OrgUserStateActive))
		}).Should(Succeed())
		Expect(smtpServer.To("ivy@invidp.example")).To(HaveLen(1), "no new invitation")
	})
})
