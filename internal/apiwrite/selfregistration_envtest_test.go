package apiwrite

import (
	"sync"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/credentials"
	"github.com/orgkeeper/orgkeeper/internal/login"
	"github.com/orgkeeper/orgkeeper/internal/mail"
	"github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

var _ = Describe("Self-registration on the API server", func() {
	const sys = "selfreg-system"
	var offset atomic.Int64 // the writers' clock runs this far ahead
	BeforeEach(func() {
		offset.Store(0)
		err := k8s.Create(envCtx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: sys}})
		Expect(client.IgnoreAlreadyExists(err)).To(Succeed())
	})
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	writer := func() *Writer {
		GinkgoHelper()
		return startWriterWith(Options{SystemNamespace: sys, Now: now})
	}
	orgNS := func(ns string) {
		GinkgoHelper()
		Expect(k8s.Create(envCtx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	}
	// request queues a registration of email in org and waits for its
	// pending Secret; it returns the token.
	request := func(w *Writer, org, email string) string {
		GinkgoHelper()
		token, hash := credentials.NewToken("registration")
		Expect(w.RequestRegistration(envCtx, login.RegistrationRequest{
			Org: org, Email: email, DisplayName: "Pat Doe", PasswordHash: "$argon2id$test",
			Link: "https://id.example/login/register/confirm?token=" + token, TokenHash: hash,
			ExpiresAt: now().Add(time.Hour),
		})).To(Succeed())
		Eventually(func() error {
			return k8s.Get(envCtx, client.ObjectKey{Namespace: sys, Name: RegistrationPrefix + hash}, &corev1.Secret{})
		}).WithTimeout(10 * time.Second).Should(Succeed())
		return token
	}
	usersIn := func(ns string) []iamv1.OrgUser {
		GinkgoHelper()
		l := &iamv1.OrgUserList{}
		Expect(k8s.List(envCtx, l, client.InNamespace(ns))).To(Succeed())
		return l.Items
	}

	It("keeps a registration outside the organization until confirmed, then makes one user however often it is confirmed", func() {
		orgNS("sr-once")
		a, b := writer(), writer() // two replicas
		token := request(a, "sr-once", "pat@sr-once.example")
		Expect(usersIn("sr-once")).To(BeEmpty())
		secrets := &corev1.SecretList{}
		Expect(k8s.List(envCtx, secrets, client.InNamespace("sr-once"))).To(Succeed())
		Expect(secrets.Items).To(BeEmpty())
		// The mail is in the outbox (written right after the pending Secret).
		Eventually(func() error {
			return k8s.Get(envCtx, client.ObjectKey{Namespace: sys, Name: mail.OutboxName(mail.MessageID(string(mail.KindRegistration), credentials.TokenHash(token)))}, &corev1.Secret{})
		}).WithTimeout(10 * time.Second).Should(Succeed())

		p, err := b.CheckRegistration(envCtx, "sr-once", token)
		Expect(err).NotTo(HaveOccurred())
		Expect(p.Email).To(Equal("pat@sr-once.example"))

		const n = 6
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			w := a
			if i%2 == 1 {
				w = b
			}
			wg.Go(func() { _, errs[i] = w.ConfirmRegistration(envCtx, "sr-once", token) })
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else {
				Expect(err).To(MatchError(login.ErrLinkInvalid)) // the registration was already consumed
			}
		}
		Expect(ok).To(BeNumerically(">=", 1))
		users := usersIn("sr-once")
		Expect(users).To(HaveLen(1))
		u := users[0]
		Expect(u.Name).To(Equal(SelfRegisteredUserName("pat@sr-once.example")))
		Expect(u.Labels).To(HaveKeyWithValue(iamv1.LabelSelfRegistered, "true"))
		Expect(u.Spec.EmailVerified).To(BeTrue())
		Expect(u.Spec.Roles).To(BeEmpty())
		Expect(u.Spec.DisplayName).To(Equal("Pat Doe"))
		cred := &corev1.Secret{}
		Expect(k8s.Get(envCtx, client.ObjectKey{Namespace: sys, Name: credentials.SecretName(string(u.UID))}, cred)).To(Succeed())
		Expect(string(cred.Data[credentials.PasswordHashKey])).To(Equal("$argon2id$test"))
		Expect(cred.Labels).To(Equal(credentials.SecretLabels("sr-once", u.Name, string(u.UID))))
		// Replayed: nothing left to confirm.
		_, err = a.ConfirmRegistration(envCtx, "sr-once", token)
		Expect(err).To(MatchError(login.ErrLinkInvalid))
		Expect(usersIn("sr-once")).To(HaveLen(1))
	})

	It("refuses a forged token and another organization's link, and changes nothing", func() {
		orgNS("sr-forged")
		orgNS("sr-other")
		w := writer()
		token := request(w, "sr-forged", "pat@sr-forged.example")
		forged := token[:len(token)-2] + "AA"
		if forged == token {
			forged = token[:len(token)-2] + "BB"
		}
		_, err := w.ConfirmRegistration(envCtx, "sr-forged", forged)
		Expect(err).To(MatchError(login.ErrLinkInvalid))
		_, err = w.ConfirmRegistration(envCtx, "sr-other", token)
		Expect(err).To(MatchError(login.ErrLinkInvalid))
		_, err = w.CheckRegistration(envCtx, "sr-other", token)
		Expect(err).To(MatchError(login.ErrLinkInvalid))
		Expect(usersIn("sr-forged")).To(BeEmpty())
		Expect(usersIn("sr-other")).To(BeEmpty())
		_, err = w.CheckRegistration(envCtx, "sr-forged", token)
		Expect(err).NotTo(HaveOccurred())
	})

	It("leaves nothing of an expired registration", func() {
		orgNS("sr-expired")
		w := writer()
		late := request(w, "sr-expired", "late@sr-expired.example")
		swept := request(w, "sr-expired", "never@sr-expired.example")
		offset.Store(int64(2 * time.Hour))
		fresh := request(w, "sr-expired", "fresh@sr-expired.example")
		_, err := w.ConfirmRegistration(envCtx, "sr-expired", late)
		Expect(err).To(MatchError(login.ErrLinkExpired))
		n, err := w.SweepRegistrations(envCtx)
		Expect(err).NotTo(HaveOccurred())
		Expect(n).To(BeNumerically(">=", 1)) // "never" (and older specs'); "late" went when it was presented
		for _, t := range []string{late, swept} {
			Expect(k8s.Get(envCtx, client.ObjectKey{Namespace: sys, Name: RegistrationPrefix + credentials.TokenHash(t)}, &corev1.Secret{})).NotTo(Succeed())
		}
		Expect(usersIn("sr-expired")).To(BeEmpty())
		_, err = w.CheckRegistration(envCtx, "sr-expired", fresh)
		Expect(err).NotTo(HaveOccurred())
	})

	It("does not take over an account that already has the address's name", func() {
		orgNS("sr-taken")
		email := "pat@sr-taken.example"
		Expect(k8s.Create(envCtx, snapshottest.ForCreate(snapshottest.User("sr-taken", SelfRegisteredUserName(email), email)))).To(Succeed())
		w := writer()
		token := request(w, "sr-taken", email)
		_, err := w.ConfirmRegistration(envCtx, "sr-taken", token)
		Expect(err).To(MatchError(login.ErrAccountExists))
		users := usersIn("sr-taken")
		Expect(users).To(HaveLen(1))
		Expect(users[0].Labels).NotTo(HaveKey(iamv1.LabelSelfRegistered))
		Expect(k8s.Get(envCtx, client.ObjectKey{Namespace: sys, Name: credentials.SecretName(string(users[0].UID))}, &corev1.Secret{})).NotTo(Succeed())
	})
})
