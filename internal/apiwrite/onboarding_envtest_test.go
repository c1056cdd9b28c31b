package apiwrite

import (
	"errors"
	"sync"
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

var _ = Describe("Link tokens on the API server", func() {
	const sys = "onb-system"
	BeforeEach(func() {
		err := k8s.Create(envCtx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: sys}})
		Expect(client.IgnoreAlreadyExists(err)).To(Succeed())
	})
	writer := func() *Writer {
		GinkgoHelper()
		return startWriterWith(Options{SystemNamespace: sys})
	}
	// invited makes a user with an open token of purpose and returns it.
	invited := func(ns string, keys func(hash string) map[string][]byte) (*iamv1.OrgUser, string) {
		GinkgoHelper()
		Expect(k8s.Create(envCtx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
		u := snapshottest.ForCreate(snapshottest.User(ns, "ina", "ina@"+ns+".example"))
		Expect(k8s.Create(envCtx, u)).To(Succeed())
		token, hash := credentials.NewToken(string(u.UID))
		Expect(k8s.Create(envCtx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: sys, Name: credentials.SecretName(string(u.UID)),
				Labels: credentials.SecretLabels(ns, u.Name, string(u.UID))},
			Data: keys(hash),
		})).To(Succeed())
		return u, token
	}
	invitation := func(hash string) map[string][]byte {
		return map[string][]byte{credentials.InvitationHashKey: []byte(hash),
			credentials.InvitationExpiresKey: []byte(credentials.FormatTime(time.Now().Add(time.Hour)))}
	}
	cred := func(u *iamv1.OrgUser) *corev1.Secret {
		GinkgoHelper()
		s := &corev1.Secret{}
		Expect(k8s.Get(envCtx, client.ObjectKey{Namespace: sys, Name: credentials.SecretName(string(u.UID))}, s)).To(Succeed())
		return s
	}

	It("lets exactly one of many concurrent redemptions of a token set the password", func() {
		u, token := invited("onb-race", invitation)
		a, b := writer(), writer() // two replicas
		lt := login.LinkToken{Purpose: login.LinkInvitation, Org: u.Namespace, UserName: u.Name, UserID: string(u.UID), Token: token}
		Expect(a.CheckLinkToken(envCtx, lt)).To(Succeed())
		const n = 8
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			w := a
			if i%2 == 1 {
				w = b
			}
			wg.Go(func() { errs[i] = w.RedeemLinkToken(envCtx, lt, "hash-"+string(rune('a'+i))) })
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			if err == nil {
				won++
			} else {
				Expect(errors.Is(err, login.ErrLinkInvalid)).To(BeTrue(), "unexpected error %v", err)
			}
		}
		Expect(won).To(Equal(1))
		s := cred(u)
		Expect(s.Data).NotTo(HaveKey(credentials.InvitationHashKey))
		Expect(s.Data).To(HaveKey(credentials.InvitationAcceptedKey))
		Expect(a.CheckLinkToken(envCtx, lt)).To(MatchError(login.ErrLinkInvalid), "a used token")
	})

	It("refuses another user's token, a token for another organization and an expired one, changing nothing", func() {
		u, token := invited("onb-refuse", invitation)
		v, _ := invited("onb-refuse-2", invitation)
		w := writer()
		for name, lt := range map[string]login.LinkToken{
			"another user's Secret": {Purpose: login.LinkInvitation, Org: v.Namespace, UserName: v.Name, UserID: string(v.UID), Token: token},
			"another organization":  {Purpose: login.LinkInvitation, Org: v.Namespace, UserName: u.Name, UserID: string(u.UID), Token: token},
			"the reset purpose":     {Purpose: login.LinkReset, Org: u.Namespace, UserName: u.Name, UserID: string(u.UID), Token: token},
		} {
			Expect(w.RedeemLinkToken(envCtx, lt, "hash")).To(MatchError(login.ErrLinkInvalid), name)
		}
		late := &Writer{}
		*late = *w
		late.opts.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
		lt := login.LinkToken{Purpose: login.LinkInvitation, Org: u.Namespace, UserName: u.Name, UserID: string(u.UID), Token: token}
		Expect(late.CheckLinkToken(envCtx, lt)).To(MatchError(login.ErrLinkExpired))
		Expect(late.RedeemLinkToken(envCtx, lt, "hash")).To(MatchError(login.ErrLinkExpired))
		Expect(cred(u).Data).NotTo(HaveKey(credentials.PasswordHashKey))
		Expect(cred(v).Data).NotTo(HaveKey(credentials.PasswordHashKey))
	})

	It("queues a reset once however often its write is retried, and a reset ends the user's sessions", func() {
		Expect(k8s.Create(envCtx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "onb-reset"}})).To(Succeed())
		u := snapshottest.ForCreate(snapshottest.User("onb-reset", "rita", "rita@onb-reset.example"))
		Expect(k8s.Create(envCtx, u)).To(Succeed())
		w := writer()
		token, hash := credentials.NewToken(string(u.UID))
		req := login.ResetRequest{Org: u.Namespace, UserName: u.Name, UserID: string(u.UID), Email: u.Spec.Email,
			Link: "https://id.example/login/reset/confirm?token=" + token, TokenHash: hash, ExpiresAt: time.Now().Add(time.Hour)}
		for range 3 { // a lost reply makes the replica write it again
			_, err := w.applyReset(envCtx, k8s, k8s, req)
			Expect(err).NotTo(HaveOccurred())
		}
		out := &corev1.SecretList{}
		Expect(k8s.List(envCtx, out, client.InNamespace(sys), client.MatchingLabels{mail.LabelKind: string(mail.KindPasswordReset)})).To(Succeed())
		Expect(out.Items).To(HaveLen(1))
		Expect(string(cred(u).Data[credentials.ResetHashKey])).To(Equal(hash))

		lt := login.LinkToken{Purpose: login.LinkReset, Org: u.Namespace, UserName: u.Name, UserID: string(u.UID), Token: token}
		Expect(w.RedeemLinkToken(envCtx, lt, "new-hash")).To(Succeed())
		cur := &iamv1.OrgUser{}
		Expect(k8s.Get(envCtx, client.ObjectKeyFromObject(u), cur)).To(Succeed())
		Expect(cur.Status.SessionsRevokedAt).NotTo(BeNil())
		Expect(cur.Status.SessionsRevokedAt.Time).To(BeTemporally(">", time.Now().Add(-5*time.Second)))
		Expect(string(cred(u).Data[credentials.PasswordHashKey])).To(Equal("new-hash"))
		Expect(w.RedeemLinkToken(envCtx, lt, "other")).To(MatchError(login.ErrLinkInvalid), "a reset link works once")
	})
})
