package e2e

import (
	"net/http"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/apiwrite"
	"github.com/orgkeeper/orgkeeper/internal/rules"
)

// enableSignup turns the root's self-service signup on for the spec.
func enableSignup(approval iamv1.ApprovalMode) {
	GinkgoHelper()
	root := &iamv1.Organization{}
	Expect(k8s.Get(ctx, client.ObjectKey{Namespace: systemNamespace, Name: "platform"}, root)).To(Succeed())
	before := root.DeepCopy()
	root.Spec.SelfService = &iamv1.SelfService{Enabled: true, Approval: approval}
	Expect(k8s.Patch(ctx, root, client.MergeFrom(before))).To(Succeed())
	// The server reads the setting from its cache, a moment later.
	Eventually(func() int { return newBrowser().get(issuer + "/signup").Status }).Should(Equal(http.StatusOK))
	DeferCleanup(func() {
		r := &iamv1.Organization{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: systemNamespace, Name: "platform"}, r)).To(Succeed())
		b := r.DeepCopy()
		r.Spec.SelfService = nil
		Expect(k8s.Patch(ctx, r, client.MergeFrom(b))).To(Succeed())
	})
}

// signUp fills the signup form and returns the page it answers with.
func (b *browser) signUp(handle, email string) page {
	GinkgoHelper()
	p := b.get(issuer + "/signup")
	Expect(p.Status).To(Equal(http.StatusOK), p.Body)
	fm, ok := findForm(p)
	Expect(ok).To(BeTrue())
	for k, v := range map[string]string{"displayName": "Initech " + handle, "handle": handle, "adminName": "Peter Gibbons",
		"email": email, "password": newPassword, "confirm": newPassword} {
		fm.Fields.Set(k, v)
	}
	return b.post(fm.Action.String(), fm.Fields)
}

// confirm opens the mailed link and presses its button.
func (b *browser) confirm(link string) page {
	GinkgoHelper()
	p := b.get(link)
	Expect(p.Status).To(Equal(http.StatusOK), p.Body)
	fm, ok := findForm(p)
	Expect(ok).To(BeTrue())
	return b.post(fm.Action.String(), fm.Fields)
}

var _ = Describe("Self-service organization signup", Label("signup"), func() {
	It("signs a business up by mail, waits for approval, and its admin signs in and administers it", func() {
		enableSignup(iamv1.ApprovalManual)
		const handle, email = "initech", "peter@initech.example"
		b := newBrowser()
		sent := b.signUp(handle, email)
		Expect(sent.Status).To(Equal(http.StatusOK), sent.Body)
		Expect(visibleText(sent)).To(ContainSubstring("Check your email"))

		msgs := mailTo(email, 1)
		Expect(msgs[0].Subject()).To(ContainSubstring("Platform"))
		link := msgs[0].Link()
		Expect(link).To(HavePrefix(issuer + "/signup/confirm?token="))

		// Following the link (again, as after a failure) is safe: the
		// organization is created once, and then the link is used up.
		var done page
		Eventually(func() string {
			done = b.confirm(link)
			return visibleText(done)
		}).Should(ContainSubstring("waits for approval"))
		org := &iamv1.Organization{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: "platform", Name: handle}, org)).To(Succeed())
		Expect(org.Spec.Suspended).To(BeTrue())
		Expect(org.Labels).To(HaveKeyWithValue(apiwrite.LabelSignupPending, "true"))
		Expect(org.Spec.Domains).To(ConsistOf(iamv1.Domain("initech.example")))
		again := b.get(link)
		Expect(again.Status).To(Equal(http.StatusBadRequest))

		// A root admin approves, as `kubectl patch` would, and shares the
		// portal with the new organization.
		before := org.DeepCopy()
		delete(org.Labels, apiwrite.LabelSignupPending)
		org.Spec.Suspended = false
		Expect(k8s.Patch(ctx, org, client.MergeFrom(before))).To(Succeed())
		app := &iamv1.SharedApplication{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: "platform", Name: "portal"}, app)).To(Succeed())
		appBefore := app.DeepCopy()
		app.Spec.Sharing.Organizations = append(app.Spec.Sharing.Organizations, handle)
		Expect(k8s.Patch(ctx, app, client.MergeFrom(appBefore))).To(Succeed())
		DeferCleanup(func() {
			a := &iamv1.SharedApplication{}
			Expect(k8s.Get(ctx, client.ObjectKey{Namespace: "platform", Name: "portal"}, a)).To(Succeed())
			ab := a.DeepCopy()
			a.Spec.Sharing.Organizations = appBefore.Spec.Sharing.Organizations
			Expect(k8s.Patch(ctx, a, client.MergeFrom(ab))).To(Succeed())
		})

		// The operator has seen the approval (and the suspension, which ended
		// every session from before it) before the admin signs in.
		Eventually(func(g Gomega) {
			o := &iamv1.Organization{}
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(org), o)).To(Succeed())
			c := meta.FindStatusCondition(o.Status.Conditions, iamv1.ConditionSuspended)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(c.ObservedGeneration).To(Equal(o.Generation))
			g.Expect(o.Status.SessionsRevokedAt).NotTo(BeNil())
			g.Expect(time.Now().After(o.Status.SessionsRevokedAt.Time)).To(BeTrue())
		}).Should(Succeed())
		s := signInWith(email, newPassword)
		Expect(s.Claims).To(HaveKeyWithValue("org_handle", handle))
		Expect(s.Claims).To(HaveKeyWithValue("email", email))

		// Kubernetes knows the admin by the names a token of theirs maps
		// to, and lets them manage the organization's users.
		as := rest.CopyConfig(env.Config)
		as.Impersonate = rest.ImpersonationConfig{UserName: rules.KubeUser(handle, email),
			Groups: []string{rules.KubeGroup(rules.AdminGroup(handle))}}
		admin, err := client.New(as, client.Options{Scheme: k8s.Scheme()})
		Expect(err).NotTo(HaveOccurred())
		Eventually(func(g Gomega) {
			users := &iamv1.OrgUserList{}
			g.Expect(admin.List(ctx, users, client.InNamespace(handle))).To(Succeed())
			g.Expect(users.Items).To(HaveLen(1))
			g.Expect(users.Items[0].Spec.Roles).To(ConsistOf("admin"))
		}).Should(Succeed())
		// ...and nothing outside it.
		Expect(admin.List(ctx, &iamv1.OrgUserList{}, client.InNamespace("acme"))).NotTo(Succeed())
	})

	It("refuses a taken or reserved handle on the form and mails nothing", func() {
		enableSignup(iamv1.ApprovalAutomatic)
		b := newBrowser()
		for _, h := range []string{"acme", "kube-system", "default"} {
			p := b.signUp(h, "mallory@evil.example")
			Expect(p.Status).To(Equal(http.StatusUnprocessableEntity), p.Body)
			Expect(strings.ToLower(visibleText(p))).To(Or(ContainSubstring("is taken"), ContainSubstring("cannot be used")))
		}
		// The form answered before anything was stored: no pending signup,
		// so no mail either.
		pending := &corev1.SecretList{}
		Expect(k8s.List(ctx, pending, client.InNamespace(systemNamespace), client.MatchingLabels{apiwrite.LabelSignup: "pending"})).To(Succeed())
		for _, s := range pending.Items {
			Expect(string(s.Data["email"])).NotTo(Equal("mallory@evil.example"))
		}
		Expect(smtpServer.To("mallory@evil.example")).To(BeEmpty())
	})
})
