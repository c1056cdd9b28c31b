package controller

import (
	"encoding/json"
	"net/url"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/credentials"
	"github.com/orgkeeper/orgkeeper/internal/mail"
	"github.com/orgkeeper/orgkeeper/internal/mail/mailtest"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

// mailsTo waits until exactly n messages to addr have arrived and returns
// them.
func mailsTo(addr string, n int) []mailtest.Message {
	GinkgoHelper()
	var got []mailtest.Message
	Eventually(func() int {
		got = smtpServer.To(addr)
		return len(got)
	}).Should(BeNumerically(">=", n), "mail to %s", addr)
	Expect(got).To(HaveLen(n), "messages to %s", addr)
	return got
}

// tokenOf is the token of a mailed invitation link, which must lead to
// the organization's invitation page.
func tokenOf(m mailtest.Message, org string) string {
	GinkgoHelper()
	link := m.Link()
	Expect(link).To(HavePrefix(suiteIssuer+mail.PathInvitation+"?"), "the link in %q", m.Text)
	u, err := url.Parse(link)
	Expect(err).NotTo(HaveOccurred())
	Expect(u.Query().Get("org")).To(Equal(org))
	return u.Query().Get("token")
}

func credentialOf(u *iamv1.OrgUser) *corev1.Secret {
	GinkgoHelper()
	s := &corev1.Secret{}
	Expect(k8s.Get(ctx, types.NamespacedName{Namespace: systemNamespace, Name: credentials.SecretName(string(u.UID))}, s)).To(Succeed())
	return s
}

// settled waits until the reconciler has seen the user's current
// generation, so that a later assertion covers every pass it made.
func settled(namespace, name string) *iamv1.OrgUser {
	GinkgoHelper()
	var u *iamv1.OrgUser
	Eventually(func(g Gomega) {
		u = getUser(namespace, name)
		g.Expect(u.Status.ObservedGeneration).To(Equal(u.Generation))
	}).Should(Succeed())
	return u
}

var _ = Describe("OrgUser invitations", func() {
	const org = "inv"
	BeforeEach(func() {
		ensureRoot()
		ensureOrg(org, rootName, st.WithDisplayName("Invited Corp"))
	})

	It("mails one invitation over SMTP and keeps only the token's hash, in the system namespace", func() {
		createFrom(st.User(org, "alice", "alice@inv.example", st.Invited(), st.WithNames("Alice Liddell", "", "")))
		m := mailsTo("alice@inv.example", 1)[0]
		Expect(m.Subject()).To(ContainSubstring("Invited Corp"))
		Expect(m.Text).To(ContainSubstring("Alice Liddell"))
		Expect(m.HTML).To(ContainSubstring("Accept the invitation"))
		token := tokenOf(m, org)

		u := eventuallyConditionOf(newUser, org, "alice", iamv1.ConditionInvitationSent, metav1.ConditionTrue, iamv1.ReasonInvitationQueued)
		Expect(u.Status.State).To(Equal(iamv1.OrgUserStateInvited))
		Expect(u.Status.Invitation).NotTo(BeNil())
		Expect(u.Status.Invitation.ExpiresAt.Sub(u.Status.Invitation.SentAt.Time)).To(Equal(DefaultInvitationTTL))

		cred := credentialOf(u)
		Expect(string(cred.Data[credentials.InvitationHashKey])).To(Equal(credentials.TokenHash(token)))
		for k, v := range cred.Data {
			Expect(string(v)).NotTo(ContainSubstring(token), "credential key %s holds the token", k)
		}
		status, err := json.Marshal(u.Status)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(status)).NotTo(ContainSubstring(token))
		secrets := &corev1.SecretList{}
		Expect(k8s.List(ctx, secrets, client.InNamespace(org))).To(Succeed())
		for _, s := range secrets.Items {
			for k, v := range s.Data {
				Expect(string(v)).NotTo(ContainSubstring(token), "Secret %s/%s key %s in the organization's namespace", org, s.Name, k)
			}
		}

		// Once delivered, the outbox keeps a record without the link.
		Eventually(func(g Gomega) {
			s := &corev1.Secret{}
			g.Expect(k8s.Get(ctx, types.NamespacedName{Namespace: systemNamespace, Name: mail.OutboxName(invitationMessageID(u.UID, ""))}, s)).To(Succeed())
			g.Expect(s.Labels[mail.LabelOutbox]).To(Equal(mail.StateSent))
			g.Expect(s.Data).To(BeEmpty())
		}).Should(Succeed())

		// More passes of the reconciler send nothing more.
		updateUser(org, "alice", func(u *iamv1.OrgUser) { u.Spec.GivenName = "Alice" })
		settled(org, "alice")
		updateUser(org, "alice", func(u *iamv1.OrgUser) { u.Spec.FamilyName = "Liddell" })
		settled(org, "alice")
		Expect(smtpServer.To("alice@inv.example")).To(HaveLen(1))
	})

	It("mails a new link when the resend annotation changes, and the old one stops matching", func() {
		createFrom(st.User(org, "bob", "bob@inv.example", st.Invited()))
		first := tokenOf(mailsTo("bob@inv.example", 1)[0], org)
		eventuallyConditionOf(newUser, org, "bob", iamv1.ConditionInvitationSent, metav1.ConditionTrue, iamv1.ReasonInvitationQueued)

		updateUser(org, "bob", func(u *iamv1.OrgUser) {
			if u.Annotations == nil {
				u.Annotations = map[string]string{}
			}
			u.Annotations[iamv1.AnnotationResendInvitation] = "1"
		})
		second := tokenOf(mailsTo("bob@inv.example", 2)[1], org)
		Expect(second).NotTo(Equal(first))
		cred := credentialOf(getUser(org, "bob"))
		Expect(string(cred.Data[credentials.InvitationHashKey])).To(Equal(credentials.TokenHash(second)))
		Expect(string(cred.Data[credentials.InvitationRoundKey])).To(Equal("1"))
	})

	It("issues a fresh token when a pass stored a hash but crashed before queueing the mail", func() {
		u := createFrom(st.User(org, "carol", "carol@inv.example"))
		eventuallyUserReady(org, "carol", metav1.ConditionTrue, iamv1.ReasonReconciled)
		// What a pass leaves behind when it dies between its two writes.
		lost, lostHash := credentials.NewToken(string(u.UID))
		now := time.Now()
		Expect(k8s.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: systemNamespace, Name: credentials.SecretName(string(u.UID)),
				Labels: credentials.SecretLabels(org, "carol", string(u.UID))},
			Data: map[string][]byte{
				credentials.InvitationHashKey:    []byte(lostHash),
				credentials.InvitationExpiresKey: []byte(credentials.FormatTime(now.Add(time.Hour))),
				credentials.InvitationIssuedKey:  []byte(credentials.FormatTime(now)),
				credentials.InvitationRoundKey:   []byte(""),
			},
		})).To(Succeed())
		updateUser(org, "carol", st.Invited())

		token := tokenOf(mailsTo("carol@inv.example", 1)[0], org)
		Expect(token).NotTo(Equal(lost))
		Expect(string(credentialOf(u).Data[credentials.InvitationHashKey])).To(Equal(credentials.TokenHash(token)))
	})

	It("delivers once after the relay refused the first attempt for a while", func() {
		smtpServer.FailNext(451)
		createFrom(st.User(org, "dave", "dave@inv.example", st.Invited()))
		u := getUser(org, "dave")
		name := types.NamespacedName{Namespace: systemNamespace, Name: mail.OutboxName(invitationMessageID(u.UID, ""))}
		Eventually(func(g Gomega) {
			s := &corev1.Secret{}
			g.Expect(k8s.Get(ctx, name, s)).To(Succeed())
			g.Expect(s.Labels[mail.LabelOutbox]).To(Equal(mail.StateSent))
			g.Expect(s.Annotations[mail.AnnotationAttempts]).To(Equal("1"))
		}).Should(Succeed())
		mailsTo("dave@inv.example", 1)
	})

	It("invites no disabled user, and says why", func() {
		createFrom(st.User(org, "erin", "erin@inv.example", st.Invited(), st.Disabled()))
		u := eventuallyConditionOf(newUser, org, "erin", iamv1.ConditionInvitationSent, metav1.ConditionFalse, iamv1.ReasonInvitationBlocked)
		Expect(u.Status.Invitation).To(BeNil())
		Expect(smtpServer.To("erin@inv.example")).To(BeEmpty())
	})

	It("uses the vendor's templates for the organization and its descendants", func() {
		ensureOrg("tmpl", rootName, st.WithDisplayName("Template Corp"), st.WithBranding(iamv1.Branding{PrimaryColor: "#123456"}))
		ensureOrg("tmpl-eu", "tmpl", st.WithDisplayName("Template EU"))
		Expect(k8s.Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: systemNamespace, Name: MailTemplatesConfigMap + "-tmpl"},
			Data:       map[string]string{"invitation.subject": "Join {{.Organization}} today"},
		})).To(Succeed())
		createFrom(st.User("tmpl-eu", "frank", "frank@tmpl.example", st.Invited()))
		m := mailsTo("frank@tmpl.example", 1)[0]
		Expect(m.Subject()).To(Equal("Join Template EU today"))
		Expect(m.HTML).To(ContainSubstring("background:#123456"), "the inherited branding")
	})
})

var _ = Describe("Outbox", func() {
	put := func(m *mail.Message) *corev1.Secret {
		GinkgoHelper()
		s, err := mail.OutboxSecret(systemNamespace, m)
		Expect(err).NotTo(HaveOccurred())
		Expect(k8s.Create(ctx, s)).To(Succeed())
		return s
	}
	eventuallyState := func(name, state string) *corev1.Secret {
		GinkgoHelper()
		s := &corev1.Secret{}
		Eventually(func() string {
			Expect(k8s.Get(ctx, types.NamespacedName{Namespace: systemNamespace, Name: name}, s)).To(Succeed())
			return s.Labels[mail.LabelOutbox]
		}).Should(Equal(state))
		return s
	}
	msg := func(id, to string, expires time.Time) *mail.Message {
		return &mail.Message{ID: mail.MessageID("outbox-spec", id), Kind: mail.KindPasswordReset, Organization: rootName,
			To: to, Link: suiteIssuer + "/login/reset/confirm?token=x", ExpiresAt: expires, CreatedAt: time.Now()}
	}

	It("delivers a pending message once and drops its link", func() {
		s := put(msg("ok", "outbox-ok@example.com", time.Now().Add(time.Hour)))
		done := eventuallyState(s.Name, mail.StateSent)
		Expect(done.Data).To(BeEmpty())
		Expect(mailsTo("outbox-ok@example.com", 1)[0].MessageID()).To(Equal(mail.MessageID("outbox-spec", "ok") + "@orgkeeper"))
	})

	It("does not send a message whose link expired while it waited", func() {
		s := put(msg("late", "outbox-late@example.com", time.Now().Add(-time.Minute)))
		failed := eventuallyState(s.Name, mail.StateFailed)
		Expect(failed.Annotations[mail.AnnotationLastError]).To(ContainSubstring("expired"))
		Expect(failed.Data).To(BeEmpty())
		Expect(smtpServer.To("outbox-late@example.com")).To(BeEmpty())
	})

	It("marks an unreadable message failed instead of retrying it forever", func() {
		s, err := mail.OutboxSecret(systemNamespace, msg("bad", "outbox-bad@example.com", time.Now().Add(time.Hour)))
		Expect(err).NotTo(HaveOccurred())
		s.Data[mail.MessageKey] = []byte(`{"id":"` + strings.Repeat("0", 40) + `","kind":"newsletter"}`)
		Expect(k8s.Create(ctx, s)).To(Succeed())
		failed := eventuallyState(s.Name, mail.StateFailed)
		Expect(failed.Annotations[mail.AnnotationLastError]).To(ContainSubstring("unreadable"))
	})

	It("gives up on a permanent refusal", func() {
		smtpServer.FailNext(550)
		s := put(msg("refused", "outbox-refused@example.com", time.Now().Add(time.Hour)))
		failed := eventuallyState(s.Name, mail.StateFailed)
		Expect(failed.Annotations[mail.AnnotationLastError]).To(ContainSubstring("550"))
		Expect(smtpServer.To("outbox-refused@example.com")).To(BeEmpty())
	})
})
