package apiwrite

import (
	"time"

	"github.com/go-logr/logr"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/credentials"
	"github.com/orgkeeper/orgkeeper/internal/login"
	"github.com/orgkeeper/orgkeeper/internal/mail"
)

var _ = Describe("Account-exists mail", func() {
	const sys, ns = "exists-system", "exists-org"
	It("queues the account-exists message once, with a reset link that works", func() {
		Expect(k8s.Create(envCtx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: sys}})).To(Succeed())
		Expect(k8s.Create(envCtx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
		u := &iamv1.OrgUser{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ada"}, Spec: iamv1.OrgUserSpec{Email: "ada@exists.example"}}
		Expect(k8s.Create(envCtx, u)).To(Succeed())
		w, err := New(Options{Client: k8s, Log: logr.Discard(), Registerer: prometheus.NewRegistry(), SystemNamespace: sys})
		Expect(err).NotTo(HaveOccurred())
		token, hash := credentials.NewToken(string(u.UID))
		req := login.ResetRequest{Org: ns, UserName: u.Name, UserID: string(u.UID), Email: u.Spec.Email, AccountExists: true,
			Link: "https://id.example" + mail.PathResetConfirm + "?token=" + token, TokenHash: hash, ExpiresAt: time.Now().Add(time.Hour)}
		for range 2 { // a retried write
			_, err := w.applyReset(envCtx, k8s, k8s, req)
			Expect(err).NotTo(HaveOccurred())
		}
		out := &corev1.SecretList{}
		Expect(k8s.List(envCtx, out, client.InNamespace(sys), client.MatchingLabels{mail.LabelKind: string(mail.KindAccountExists)})).To(Succeed())
		Expect(out.Items).To(HaveLen(1))
		Expect(k8s.List(envCtx, out, client.InNamespace(sys), client.MatchingLabels{mail.LabelKind: string(mail.KindPasswordReset)})).To(Succeed())
		Expect(out.Items).To(BeEmpty())
		lt := login.LinkToken{Purpose: login.LinkReset, Org: ns, UserName: u.Name, UserID: string(u.UID), Token: token}
		Expect(w.CheckLinkToken(envCtx, lt)).To(Succeed())
	})
})
