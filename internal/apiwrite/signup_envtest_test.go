package apiwrite

import (
	"context"
	"time"

	"github.com/go-logr/logr"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/credentials"
	"github.com/orgkeeper/orgkeeper/internal/login"
	"github.com/orgkeeper/orgkeeper/internal/mail"
	"github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

var _ = Describe("Organization signup on the API server", Label("signup"), func() {
	const sys, root = "signup-system", "signup-root"
	now := time.Now()
	BeforeEach(func() {
		for _, ns := range []string{sys, root} {
			Expect(client.IgnoreAlreadyExists(k8s.Create(envCtx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))).To(Succeed())
		}
		r := snapshottest.ForCreate(snapshottest.Org(root, snapshottest.InSystemNamespace(sys), snapshottest.WithDisplayName("Signup Root"),
			snapshottest.WithSelfService(iamv1.SelfService{Enabled: true, Approval: iamv1.ApprovalManual})))
		Expect(client.IgnoreAlreadyExists(k8s.Create(envCtx, r))).To(Succeed())
	})
	writer := func(o SignupOptions) *Writer {
		GinkgoHelper()
		w, err := New(Options{Client: k8s, Log: logr.Discard(), Registerer: prometheus.NewRegistry(), SystemNamespace: sys,
			Now: func() time.Time { return now }})
		Expect(err).NotTo(HaveOccurred())
		if o.NamespaceWait == 0 {
			o.NamespaceWait = 300 * time.Millisecond
		}
		w.EnableSignup(o)
		return w
	}
	start := func(w *Writer, handle, email string) string {
		GinkgoHelper()
		token, hash := credentials.NewToken("signup")
		Expect(w.StartSignup(envCtx, login.SignupRequest{DisplayName: "Org " + handle, Handle: handle, AdminName: "Ann Admin",
			Email: email, PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", TokenHash: hash,
			Link: "https://id.example/signup/confirm?token=" + token, ExpiresAt: now.Add(time.Hour), Root: root})).To(Succeed())
		return token
	}
	org := func(handle string) (*iamv1.Organization, error) {
		o := &iamv1.Organization{}
		return o, k8s.Get(envCtx, types.NamespacedName{Namespace: root, Name: handle}, o)
	}
	// operator makes the namespace, as the Organization reconciler would.
	operator := func(handle string) {
		o, err := org(handle)
		Expect(err).NotTo(HaveOccurred())
		Expect(k8s.Create(envCtx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: handle,
			Labels:      map[string]string{iamv1.LabelOrganization: handle},
			Annotations: map[string]string{iamv1.AnnotationOrganizationUID: string(o.UID)}}})).To(Succeed())
	}
	squat := func(name string) {
		Expect(k8s.Create(envCtx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})).To(Succeed())
	}

	It("stores the signup hashed with its mail, then creates the organization and its admin once, retry by retry", func() {
		w := writer(SignupOptions{})
		token := start(w, "sg-initech", "ann@initech.example")
		pending := &corev1.SecretList{}
		Expect(k8s.List(envCtx, pending, client.InNamespace(sys), client.MatchingLabels{LabelSignup: "pending"})).To(Succeed())
		var found *corev1.Secret
		for i := range pending.Items {
			if string(pending.Items[i].Data[signupKeyHandle]) == "sg-initech" {
				found = &pending.Items[i]
			}
		}
		Expect(found).NotTo(BeNil())
		Expect(string(found.Data[signupKeyToken])).To(Equal(credentials.TokenHash(token)))
		for _, v := range found.Data {
			Expect(string(v)).NotTo(ContainSubstring(token), "the token itself is never stored")
		}
		out := &corev1.Secret{}
		Expect(k8s.Get(envCtx, types.NamespacedName{Namespace: sys, Name: mail.OutboxName(mail.MessageID(string(mail.KindOrganizationSignup), credentials.TokenHash(token)))}, out)).To(Succeed())
		Expect(w.CheckSignup(envCtx, token)).To(Succeed())

		// First confirmation: the Organization exists, suspended and
		// pending, but the operator has not made its namespace yet.
		_, err := w.CompleteSignup(envCtx, token)
		Expect(err).To(MatchError(login.ErrSignupInProgress))
		o, err := org("sg-initech")
		Expect(err).NotTo(HaveOccurred())
		Expect(o.Spec.Suspended).To(BeTrue())
		Expect(o.Labels).To(HaveKeyWithValue(LabelSignupPending, "true"))
		Expect(o.Spec.Domains).To(ConsistOf(iamv1.Domain("initech.example")))
		Expect(w.CheckSignup(envCtx, token)).To(Succeed(), "the link still works")

		operator("sg-initech")
		res, err := w.CompleteSignup(envCtx, token)
		Expect(err).NotTo(HaveOccurred())
		Expect(res).To(Equal(login.SignupResult{Handle: "sg-initech", DisplayName: "Org sg-initech", Email: "ann@initech.example", Pending: true}))
		u := &iamv1.OrgUser{}
		Expect(k8s.Get(envCtx, types.NamespacedName{Namespace: "sg-initech", Name: "ann"}, u)).To(Succeed())
		Expect(u.Spec.Roles).To(ConsistOf("admin"))
		Expect(u.Spec.EmailVerified).To(BeTrue())
		cred := &corev1.Secret{}
		Expect(k8s.Get(envCtx, types.NamespacedName{Namespace: sys, Name: credentials.SecretName(string(u.UID))}, cred)).To(Succeed())
		Expect(string(cred.Data[credentials.PasswordHashKey])).To(HavePrefix("$argon2id$"))
		Expect(cred.Labels).To(HaveKeyWithValue(credentials.LabelCredentialUser, string(u.UID)))

		// The link is used up; one Organization, one admin.
		_, err = w.CompleteSignup(envCtx, token)
		Expect(err).To(MatchError(login.ErrLinkInvalid))
		users := &iamv1.OrgUserList{}
		Expect(k8s.List(envCtx, users, client.InNamespace("sg-initech"))).To(Succeed())
		Expect(users.Items).To(HaveLen(1))
	})

	It("creates nothing when the handle was taken after the signup, and drops the signup", func() {
		w := writer(SignupOptions{})
		token := start(w, "sg-taken", "bob@taken.example")
		Expect(k8s.Create(envCtx, snapshottest.ForCreate(snapshottest.Org("sg-taken", snapshottest.WithParent(root), snapshottest.WithDisplayName("Someone else"))))).To(Succeed())
		_, err := w.CompleteSignup(envCtx, token)
		Expect(err).To(MatchError(login.ErrHandleTaken))
		o, err := org("sg-taken")
		Expect(err).NotTo(HaveOccurred())
		Expect(o.Spec.DisplayName).To(Equal("Someone else"))
		Expect(o.Annotations).NotTo(HaveKey(AnnotationSignup))
		Expect(w.CheckSignup(envCtx, token)).To(MatchError(login.ErrLinkInvalid))
	})

	It("refuses a handle that is an existing namespace or reserved", func() {
		w := writer(SignupOptions{})
		squat("sg-squat")
		Expect(w.HandleAvailable(envCtx, "sg-squat")).To(MatchError(login.ErrHandleTaken))
		Expect(w.HandleAvailable(envCtx, "kube-public")).To(MatchError(login.ErrHandleTaken))
		Expect(w.HandleAvailable(envCtx, sys)).To(MatchError(login.ErrHandleTaken))
		Expect(w.HandleAvailable(envCtx, root)).To(MatchError(login.ErrHandleTaken))
		Expect(w.HandleAvailable(envCtx, "sg-free")).To(Succeed())
	})

	It("writes no admin into a namespace somebody else made under the handle meanwhile", func() {
		w := writer(SignupOptions{})
		token := start(w, "sg-race", "dan@race.example")
		_, err := w.CompleteSignup(envCtx, token)
		Expect(err).To(MatchError(login.ErrSignupInProgress))
		squat("sg-race") // not the operator's: no organization UID
		_, err = w.CompleteSignup(envCtx, token)
		Expect(err).To(MatchError(login.ErrSignupInProgress))
		users := &iamv1.OrgUserList{}
		Expect(k8s.List(envCtx, users, client.InNamespace("sg-race"))).To(Succeed())
		Expect(users.Items).To(BeEmpty())
	})

	It("does not claim a public mail provider's domain", func() {
		w := writer(SignupOptions{})
		token := start(w, "sg-gmail", "carol@gmail.com")
		_, err := w.CompleteSignup(envCtx, token)
		Expect(err).To(MatchError(login.ErrSignupInProgress))
		o, err := org("sg-gmail")
		Expect(err).NotTo(HaveOccurred())
		Expect(o.Spec.Domains).To(BeEmpty())
	})

	It("creates organizations no faster than the configured rate; a refused link works later", func() {
		w := writer(SignupOptions{Rate: 1e-9, Burst: 1})
		first, second := start(w, "sg-flood-a", "a@flood.example"), start(w, "sg-flood-b", "b@flood.example")
		_, err := w.CompleteSignup(envCtx, first)
		Expect(err).To(MatchError(login.ErrSignupInProgress))
		_, err = w.CompleteSignup(envCtx, second)
		Expect(err).To(MatchError(login.ErrSignupBusy))
		_, err = org("sg-flood-b")
		Expect(apierrors.IsNotFound(err)).To(BeTrue(), "nothing is created beyond the rate")
		Expect(w.CheckSignup(envCtx, second)).To(Succeed())
		// Continuing the first one needs no new token from the bucket.
		operator("sg-flood-a")
		_, err = w.CompleteSignup(envCtx, first)
		Expect(err).NotTo(HaveOccurred())
	})

	It("deletes expired signups and nothing else", func() {
		w := writer(SignupOptions{})
		fresh := start(w, "sg-fresh", "f@gc.example")
		token, hash := credentials.NewToken("signup")
		Expect(w.StartSignup(envCtx, login.SignupRequest{DisplayName: "Old", Handle: "sg-old", AdminName: "Old", Email: "o@gc.example",
			PasswordHash: "$argon2id$x", TokenHash: hash, Link: "https://id.example/signup/confirm?token=" + token,
			ExpiresAt: now.Add(-time.Minute), Root: root})).To(Succeed())
		Expect(w.CheckSignup(envCtx, token)).To(MatchError(login.ErrLinkExpired))
		n, err := (&SignupJanitor{Writer: w}).Sweep(context.Background())
		Expect(err).NotTo(HaveOccurred())
		Expect(n).To(BeNumerically(">=", 1))
		Expect(w.CheckSignup(envCtx, token)).To(MatchError(login.ErrLinkInvalid))
		Expect(w.CheckSignup(envCtx, fresh)).To(Succeed())
	})
})
