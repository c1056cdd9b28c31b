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
)

var _ = Describe("Invitations accepted through an identity provider", func() {
	const sys = "invidp-system"
	BeforeEach(func() {
		err := k8s.Create(envCtx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: sys}})
		Expect(client.IgnoreAlreadyExists(err)).To(Succeed())
	})
	writer := func() *Writer {
		GinkgoHelper()
		return startWriterWith(Options{SystemNamespace: sys})
	}
	invited := func(ns string) (*iamv1.OrgUser, string) {
		GinkgoHelper()
		Expect(k8s.Create(envCtx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
		u := &iamv1.OrgUser{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ina"},
			Spec: iamv1.OrgUserSpec{Email: "ina@" + ns + ".example", Invitation: &iamv1.OrgUserInvitation{Send: true}}}
		Expect(k8s.Create(envCtx, u)).To(Succeed())
		token, hash := credentials.NewToken(string(u.UID))
		Expect(k8s.Create(envCtx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: sys, Name: credentials.SecretName(string(u.UID)),
				Labels: credentials.SecretLabels(ns, u.Name, string(u.UID))},
			Data: map[string][]byte{credentials.InvitationHashKey: []byte(hash),
				credentials.InvitationExpiresKey: []byte(credentials.FormatTime(time.Now().Add(time.Hour)))},
		})).To(Succeed())
		return u, token
	}
	cred := func(u *iamv1.OrgUser) *corev1.Secret {
		GinkgoHelper()
		s := &corev1.Secret{}
		Expect(k8s.Get(envCtx, client.ObjectKey{Namespace: sys, Name: credentials.SecretName(string(u.UID))}, s)).To(Succeed())
		return s
	}
	user := func(u *iamv1.OrgUser) *iamv1.OrgUser {
		GinkgoHelper()
		cur := &iamv1.OrgUser{}
		Expect(k8s.Get(envCtx, client.ObjectKeyFromObject(u), cur)).To(Succeed())
		return cur
	}
	acceptance := func(u *iamv1.OrgUser, token, subject string) login.InvitationAcceptance {
		return login.InvitationAcceptance{Org: u.Namespace, UserName: u.Name, UserID: string(u.UID),
			TokenHash: credentials.TokenHash(token), IdentityProvider: "corp", Subject: subject}
	}

	It("lets exactly one of concurrent acceptances and password redemptions win, and links the winner's identity", func() {
		u, token := invited("invidp-race")
		a, b := writer(), writer() // two replicas
		const n = 8
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			w := a
			if i%2 == 1 {
				w = b
			}
			wg.Go(func() {
				if i < 2 {
					lt := login.LinkToken{Purpose: login.LinkInvitation, Org: u.Namespace, UserName: u.Name, UserID: string(u.UID), Token: token}
					errs[i] = w.RedeemLinkToken(envCtx, lt, "password-hash")
					return
				}
				errs[i] = w.AcceptInvitation(envCtx, acceptance(u, token, "subject-"+string(rune('a'+i))))
			})
		}
		wg.Wait()
		winner := -1
		for i, err := range errs {
			if err == nil {
				Expect(winner).To(Equal(-1), "a second winner: %d and %d", winner, i)
				winner = i
			} else {
				Expect(errors.Is(err, login.ErrLinkInvalid)).To(BeTrue(), "unexpected error %v", err)
			}
		}
		Expect(winner).NotTo(Equal(-1))
		s, cur := cred(u), user(u)
		if winner < 2 {
			Expect(s.Data).To(HaveKey(credentials.PasswordHashKey))
			Expect(s.Data).NotTo(HaveKey(credentials.InvitationIdentityKey))
			Expect(cur.Status.FederatedIdentities).To(BeEmpty())
			return
		}
		want := iamv1.FederatedIdentity{IdentityProvider: "corp", Subject: "subject-" + string(rune('a'+winner))}
		Expect(s.Data).NotTo(HaveKey(credentials.PasswordHashKey))
		Expect(s.Data).To(HaveKey(credentials.InvitationAcceptedKey))
		// Linked: the Secret keeps the acceptance, not its copy of the
		// identity (which the operator would restore from).
		Expect(s.Data).NotTo(HaveKey(credentials.InvitationIdentityKey))
		Expect(cur.Status.FederatedIdentities).To(ConsistOf(want))
		lt := login.LinkToken{Purpose: login.LinkInvitation, Org: u.Namespace, UserName: u.Name, UserID: string(u.UID), Token: token}
		Expect(a.CheckLinkToken(envCtx, lt)).To(MatchError(login.ErrLinkInvalid), "an accepted invitation's token")
		Expect(a.AcceptInvitation(envCtx, acceptance(u, token, "later"))).To(MatchError(login.ErrLinkInvalid))
	})

	It("refuses a wrong token, another organization's user, an expired invitation and a user with an identity, changing nothing", func() {
		u, token := invited("invidp-refuse")
		v, vtoken := invited("invidp-refuse-2")
		w := writer()
		wrong, _ := credentials.NewToken(string(u.UID))
		other := acceptance(u, token, "s")
		other.Org = v.Namespace
		for name, a := range map[string]login.InvitationAcceptance{
			"a forged token":           acceptance(u, wrong, "s"),
			"another user's token":     acceptance(u, vtoken, "s"),
			"the user in another org":  other,
			"another user of that org": {Org: v.Namespace, UserName: v.Name, UserID: string(v.UID), TokenHash: credentials.TokenHash(token), IdentityProvider: "corp", Subject: "s"},
		} {
			Expect(w.AcceptInvitation(envCtx, a)).To(MatchError(login.ErrLinkInvalid), name)
		}
		late := &Writer{}
		*late = *w
		late.opts.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
		Expect(late.AcceptInvitation(envCtx, acceptance(u, token, "s"))).To(MatchError(login.ErrLinkExpired))

		// An administrator linked an identity meanwhile: the invitation is over.
		cur := user(v)
		before := cur.DeepCopy()
		cur.Status.FederatedIdentities = []iamv1.FederatedIdentity{{IdentityProvider: "corp", Subject: "by-admin"}}
		Expect(k8s.Status().Patch(envCtx, cur, client.MergeFrom(before))).To(Succeed())
		Expect(w.AcceptInvitation(envCtx, acceptance(v, vtoken, "s"))).To(MatchError(login.ErrLinkInvalid))

		for _, x := range []*iamv1.OrgUser{u, v} {
			Expect(cred(x).Data).NotTo(HaveKey(credentials.InvitationAcceptedKey))
			Expect(cred(x).Data).NotTo(HaveKey(credentials.InvitationIdentityKey))
		}
		Expect(user(u).Status.FederatedIdentities).To(BeEmpty())
		Expect(user(v).Status.FederatedIdentities).To(HaveLen(1))
	})
})
