package controller

import (
	"slices"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/rules"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

// updateOrg changes an organization, retrying on conflicts.
func updateOrg(namespace, name string, change func(*iamv1.Organization)) {
	GinkgoHelper()
	update(newOrg, namespace, name, change)
}

func getOrg(namespace, name string) *iamv1.Organization {
	GinkgoHelper()
	return get(newOrg(), namespace, name)
}

func newOrg() *iamv1.Organization { return &iamv1.Organization{} }

// eventuallyCondition waits for one of the organization's conditions.
func eventuallyCondition(namespace, name, typ string, status metav1.ConditionStatus, reason string) *iamv1.Organization {
	GinkgoHelper()
	return eventuallyConditionOf(newOrg, namespace, name, typ, status, reason)
}

func eventuallyReady(namespace, name string) *iamv1.Organization {
	return eventuallyCondition(namespace, name, iamv1.ConditionReady, metav1.ConditionTrue, iamv1.ReasonReconciled)
}

func eventuallyGone(obj client.Object) {
	EventuallyWithOffset(1, func() bool {
		return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(obj), obj))
	}).Should(BeTrue(), "%s/%s should be deleted", obj.GetNamespace(), obj.GetName())
}

// can asks the real API server's authorizer whether the subject may do verb
// on an Orgkeeper resource.
func can(user string, groups []string, verb, resource, namespace, name string) bool {
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: user, Groups: groups,
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Group: iamv1.GroupVersion.Group, Resource: resource, Verb: verb, Namespace: namespace, Name: name,
		},
	}}
	if resource == "secrets" {
		sar.Spec.ResourceAttributes.Group = ""
	}
	ExpectWithOffset(1, k8s.Create(ctx, sar)).To(Succeed())
	return sar.Status.Allowed
}

var _ = Describe("Organization", func() {
	BeforeEach(func() { ensureRoot() })

	It("builds a hierarchy four levels deep, each organization in its own labelled namespace", func() {
		createFrom(st.Org("h1", st.WithParent(rootName)))
		createFrom(st.Org("h1-a", st.WithParent("h1")))
		createFrom(st.Org("h1-a-b", st.WithParent("h1-a")))
		createFrom(st.Org("h1-a-b-c", st.WithParent("h1-a-b"), st.ClaimingDomains("deep.example")))

		deepest := eventuallyReady("h1-a-b", "h1-a-b-c")
		Expect(deepest.Status.Path).To(Equal([]string{rootName, "h1", "h1-a", "h1-a-b", "h1-a-b-c"}))
		Expect(deepest.Status.Depth).To(BeEquivalentTo(4))
		Expect(deepest.Status.Parent).To(Equal("h1-a-b"))
		Expect(deepest.Status.Namespace).To(Equal("h1-a-b-c"))
		Expect(deepest.Status.ID).To(Equal(string(deepest.UID)))

		ns := &corev1.Namespace{}
		Expect(k8s.Get(ctx, types.NamespacedName{Name: "h1-a-b-c"}, ns)).To(Succeed())
		Expect(ns.Labels).To(HaveKeyWithValue(iamv1.LabelOrganization, "h1-a-b-c"))

		root := getOrg(systemNamespace, rootName)
		Expect(root.Status.Path).To(Equal([]string{rootName}))
		Expect(root.Status.Depth).To(BeZero())
		Expect(root.Status.Parent).To(BeEmpty())
	})

	It("refuses a second root and creates nothing for it", func() {
		createFrom(st.Org("second-root", st.InSystemNamespace(systemNamespace)))
		o := eventuallyCondition(systemNamespace, "second-root", iamv1.ConditionReady, metav1.ConditionFalse, iamv1.ReasonMultipleRoots)
		Expect(meta.FindStatusCondition(o.Status.Conditions, iamv1.ConditionReady).Message).To(ContainSubstring(rootName))
		Consistently(func() bool {
			return apierrors.IsNotFound(k8s.Get(ctx, types.NamespacedName{Name: "second-root"}, &corev1.Namespace{}))
		}, "1s").Should(BeTrue())
		Expect(k8s.Delete(ctx, o)).To(Succeed())
		eventuallyGone(o)
	})

	It("never touches a namespace it does not own", func() {
		foreign := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "taken", Labels: map[string]string{"team": "payments"}}}
		Expect(k8s.Create(ctx, foreign)).To(Succeed())
		untouched := foreign.ResourceVersion
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "precious", Namespace: "taken"}, Data: map[string]string{"k": "v"}}
		Expect(k8s.Create(ctx, cm)).To(Succeed())

		o := createFrom(st.Org("taken", st.WithParent(rootName)))
		eventuallyCondition(rootName, "taken", iamv1.ConditionReady, metav1.ConditionFalse, iamv1.ReasonNamespaceConflict)
		eventuallyCondition(rootName, "taken", iamv1.ConditionNamespaceReady, metav1.ConditionFalse, iamv1.ReasonNamespaceConflict)

		Expect(k8s.Get(ctx, types.NamespacedName{Name: "taken"}, foreign)).To(Succeed())
		Expect(foreign.ResourceVersion).To(Equal(untouched), "the namespace was modified")
		bindings := &rbacv1.RoleBindingList{}
		Expect(k8s.List(ctx, bindings, client.InNamespace("taken"))).To(Succeed())
		Expect(bindings.Items).To(BeEmpty())

		// Deleting the organization leaves the foreign namespace alone.
		Expect(k8s.Delete(ctx, o)).To(Succeed())
		eventuallyGone(o)
		Expect(k8s.Get(ctx, types.NamespacedName{Name: "taken"}, foreign)).To(Succeed())
		Expect(foreign.ResourceVersion).To(Equal(untouched), "the namespace was modified")
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(cm), cm)).To(Succeed())
	})

	It("reports an organization in a namespace that belongs to no organization", func() {
		Expect(k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "plain"}})).To(Succeed())
		createFrom(st.Org("orphan", st.WithParent("plain")))
		o := eventuallyCondition("plain", "orphan", iamv1.ConditionReady, metav1.ConditionFalse, iamv1.ReasonOrganizationNotFound)
		Expect(o.Status.Path).To(BeEmpty())
		Expect(apierrors.IsNotFound(k8s.Get(ctx, types.NamespacedName{Name: "orphan"}, &corev1.Namespace{}))).To(BeTrue())
	})

	It("refuses root-only settings on a child, naming the field", func() {
		createFrom(st.Org("rootonly", st.WithParent(rootName), st.WithDomainVerification(iamv1.DomainVerificationNone)))
		o := eventuallyCondition(rootName, "rootonly", iamv1.ConditionReady, metav1.ConditionFalse, iamv1.ReasonRootOnlySetting)
		Expect(meta.FindStatusCondition(o.Status.Conditions, iamv1.ConditionReady).Message).To(ContainSubstring("spec.domainVerification"))
		// The namespace and RBAC are still in place: only the setting is refused.
		eventuallyCondition(rootName, "rootonly", iamv1.ConditionNamespaceReady, metav1.ConditionTrue, iamv1.ReasonReconciled)
	})

	Describe("delegated administration", func() {
		const (
			alice = "alice@acme.example" // admin of r-acme
			erin  = "erin@acme.example"  // admin of r-acme-eu only
			gabe  = "gabe@globex.example"
		)
		BeforeEach(func() {
			ensureOrg("r-acme", rootName, st.WithAdminUsers(alice))
			ensureOrg("r-globex", rootName, st.WithAdminUsers(gabe))
			ensureOrg("r-acme-eu", "r-acme", st.WithAdminUsers(erin))
		})

		It("lets an admin manage its organization and every descendant, and nothing else", func() {
			Eventually(func() bool { return can(rules.KubeUser("r-acme", alice), nil, "create", "orgusers", "r-acme-eu", "") }).Should(BeTrue())
			for _, ns := range []string{"r-acme", "r-acme-eu"} {
				for _, res := range []string{"orgusers", "sharedapplications", "identityproviders", "organizations", "secrets"} {
					Expect(can(rules.KubeUser("r-acme", alice), nil, "create", res, ns, "")).To(BeTrue(), "alice may create %s in %s", res, ns)
					Expect(can(rules.KubeUser("r-acme", alice), nil, "delete", res, ns, "x")).To(BeTrue(), "alice may delete %s in %s", res, ns)
				}
			}
			for _, ns := range []string{"r-globex", rootName, systemNamespace, "default"} {
				Expect(can(rules.KubeUser("r-acme", alice), nil, "list", "orgusers", ns, "")).To(BeFalse(), "alice must not list users in %s", ns)
				Expect(can(rules.KubeUser("r-acme", alice), nil, "get", "secrets", ns, "x")).To(BeFalse(), "alice must not read secrets in %s", ns)
			}
			// Her own Organization object, in the parent's namespace, by name only.
			Expect(can(rules.KubeUser("r-acme", alice), nil, "patch", "organizations", rootName, "r-acme")).To(BeTrue())
			Expect(can(rules.KubeUser("r-acme", alice), nil, "get", "organizations", rootName, "r-acme")).To(BeTrue())
			Expect(can(rules.KubeUser("r-acme", alice), nil, "delete", "organizations", rootName, "r-acme")).To(BeFalse())
			Expect(can(rules.KubeUser("r-acme", alice), nil, "get", "organizations", rootName, "r-globex")).To(BeFalse())
			Expect(can(rules.KubeUser("r-acme", alice), nil, "list", "organizations", rootName, "")).To(BeFalse())
			// The admin of a sub-organization has no say over its parent.
			Expect(can(rules.KubeUser("r-acme-eu", erin), nil, "create", "orgusers", "r-acme-eu", "")).To(BeTrue())
			Expect(can(rules.KubeUser("r-acme-eu", erin), nil, "create", "orgusers", "r-acme", "")).To(BeFalse())
			Expect(can(rules.KubeUser("r-acme-eu", erin), nil, "patch", "organizations", "r-acme", "r-acme-eu")).To(BeTrue())
			Expect(can(rules.KubeUser("r-acme-eu", erin), nil, "patch", "organizations", rootName, "r-acme")).To(BeFalse())
			// The organization's admin group carries the same rights.
			Expect(can("someone", []string{rules.KubeGroup(rules.AdminGroup("r-acme"))}, "create", "orgusers", "r-acme-eu", "")).To(BeTrue())
			Expect(can("someone", []string{rules.KubeGroup(rules.AdminGroup("r-acme"))}, "create", "orgusers", "r-globex", "")).To(BeFalse())
			// And the root's admins reach everything below the root, but not the system namespace.
			Expect(can("pat", []string{rules.KubeGroup("platform-team")}, "create", "orgusers", "r-acme-eu", "")).To(BeTrue())
			Expect(can("pat", []string{rules.KubeGroup("platform-team")}, "get", "secrets", systemNamespace, "x")).To(BeFalse())
		})

		It("revokes access at once when an admin is removed, down the whole subtree", func() {
			Eventually(func() bool { return can(rules.KubeUser("r-acme", "bob"), nil, "create", "orgusers", "r-acme-eu", "") }).Should(BeFalse())
			updateOrg(rootName, "r-acme", st.WithAdminUsers("bob"))
			Eventually(func() bool { return can(rules.KubeUser("r-acme", "bob"), nil, "create", "orgusers", "r-acme-eu", "") }).Should(BeTrue())
			Eventually(func() bool {
				return can(rules.KubeUser("r-acme", "bob"), nil, "patch", "organizations", rootName, "r-acme")
			}).Should(BeTrue())

			updateOrg(rootName, "r-acme", func(o *iamv1.Organization) {
				o.Spec.Admins = slices.DeleteFunc(o.Spec.Admins, func(s iamv1.Subject) bool { return s.Name == "bob" })
			})
			Eventually(func() bool { return can(rules.KubeUser("r-acme", "bob"), nil, "create", "orgusers", "r-acme-eu", "") }).Should(BeFalse())
			Eventually(func() bool { return can(rules.KubeUser("r-acme", "bob"), nil, "create", "orgusers", "r-acme", "") }).Should(BeFalse())
			Eventually(func() bool {
				return can(rules.KubeUser("r-acme", "bob"), nil, "patch", "organizations", rootName, "r-acme")
			}).Should(BeFalse())
			Expect(can(rules.KubeUser("r-acme", alice), nil, "create", "orgusers", "r-acme-eu", "")).To(BeTrue())
		})

		It("lets an organization's admins edit their organization but not suspend or un-suspend it", func() {
			as := func(name string) client.Client {
				cfg, err := env.AddUser(name)
				Expect(err).NotTo(HaveOccurred())
				c, err := client.New(cfg, client.Options{Scheme: testScheme})
				Expect(err).NotTo(HaveOccurred())
				return c
			}
			erinClient, aliceClient := as(rules.KubeUser("r-acme-eu", erin)), as(rules.KubeUser("r-acme", alice))
			patch := func(c client.Client, spec string) error {
				o := &iamv1.Organization{ObjectMeta: metav1.ObjectMeta{Namespace: "r-acme", Name: "r-acme-eu"}}
				return c.Patch(ctx, o, client.RawPatch(types.MergePatchType, []byte(`{"spec":`+spec+`}`)))
			}
			Eventually(func() error { return patch(erinClient, `{"description":"Europe"}`) }).Should(Succeed())
			Eventually(func() error { return patch(erinClient, `{"suspended":true}`) }).Should(
				MatchError(ContainSubstring("only be changed by administrators of the parent organization")))
			Expect(patch(erinClient, `{"deletionPolicy":"Cascade"}`)).To(MatchError(ContainSubstring("spec.deletionPolicy")))
			Expect(getOrg("r-acme", "r-acme-eu").Spec.Suspended).To(BeFalse())

			// The parent's admin decides: suspend, and only she can lift it.
			Expect(patch(aliceClient, `{"suspended":true}`)).To(Succeed())
			Expect(patch(erinClient, `{"suspended":false}`)).To(HaveOccurred())
			Expect(patch(aliceClient, `{"suspended":false}`)).To(Succeed())
		})

		It("repairs a RoleBinding someone edited by hand", func() {
			rb := &rbacv1.RoleBinding{}
			key := types.NamespacedName{Namespace: "r-acme-eu", Name: adminBindingName}
			Expect(k8s.Get(ctx, key, rb)).To(Succeed())
			rb.Subjects = append(rb.Subjects, rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "mallory"})
			Expect(k8s.Update(ctx, rb)).To(Succeed())
			Eventually(func() bool { return can("mallory", nil, "get", "secrets", "r-acme-eu", "x") }).Should(BeFalse())
		})
	})

	Describe("domains", func() {
		It("shows the TXT record under DNS verification and decides conflicts under None", func() {
			createFrom(st.Org("d-acme", st.WithParent(rootName), st.ClaimingDomains("d-acme.example")))
			o := eventuallyCondition(rootName, "d-acme", iamv1.ConditionDomainsVerified, metav1.ConditionFalse, string(iamv1.DomainPending))
			Expect(o.Status.Domains).To(HaveLen(1))
			Expect(o.Status.Domains[0].VerificationRecord).To(HavePrefix("_orgkeeper-challenge.d-acme.example TXT orgkeeper-verify="))
			Expect(o.Status.Domains[0].Verified).To(BeFalse())
			eventuallyReady(rootName, "d-acme") // a pending domain does not block readiness

			updateOrg(systemNamespace, rootName, st.WithDomainVerification(iamv1.DomainVerificationNone))
			DeferCleanup(func() { updateOrg(systemNamespace, rootName, st.WithDomainVerification("")) })
			eventuallyCondition(rootName, "d-acme", iamv1.ConditionDomainsVerified, metav1.ConditionTrue, iamv1.ReasonAllVerified)

			createFrom(st.Org("d-globex", st.WithParent(rootName), st.ClaimingDomains("d-acme.example", "d-globex.example")))
			g := eventuallyCondition(rootName, "d-globex", iamv1.ConditionDomainsVerified, metav1.ConditionFalse, string(iamv1.DomainConflict))
			Expect(g.Status.Domains).To(ConsistOf(
				HaveField("Name", iamv1.Domain("d-acme.example")),
				HaveField("Name", iamv1.Domain("d-globex.example")),
			))
			for _, d := range g.Status.Domains {
				if d.Name == "d-acme.example" {
					Expect(d.Reason).To(Equal(iamv1.DomainConflict))
					Expect(d.Message).To(ContainSubstring("another organization already holds"))
					Expect(d.Message).NotTo(ContainSubstring("d-acme"), "the holder may be outside what the claimant's admins can read")
				} else {
					Expect(d.Verified).To(BeTrue())
				}
			}

			// When the holder lets the domain go, the other claimant gets it.
			updateOrg(rootName, "d-acme", func(o *iamv1.Organization) { o.Spec.Domains = nil })
			eventuallyCondition(rootName, "d-globex", iamv1.ConditionDomainsVerified, metav1.ConditionTrue, iamv1.ReasonAllVerified)
		})
	})

	Describe("deletion", func() {
		It("blocks while children or users exist, naming them, and completes once they are gone", func() {
			parent := createFrom(st.Org("b-parent", st.WithParent(rootName)))
			child := createFrom(st.Org("b-child", st.WithParent("b-parent")))
			eventuallyReady("b-parent", "b-child")
			u := createFrom(st.User("b-parent", "carol", "carol@b.example"))

			Expect(k8s.Delete(ctx, parent)).To(Succeed())
			o := eventuallyCondition(rootName, "b-parent", iamv1.ConditionReady, metav1.ConditionFalse, iamv1.ReasonDeletionBlocked)
			msg := meta.FindStatusCondition(o.Status.Conditions, iamv1.ConditionReady).Message
			Expect(msg).To(ContainSubstring("b-child"))
			Expect(msg).To(ContainSubstring("carol"))
			Consistently(func() error { return k8s.Get(ctx, client.ObjectKeyFromObject(parent), &iamv1.Organization{}) }, "1s").Should(Succeed())
			Expect(getOrg("b-parent", "b-child").DeletionTimestamp).To(BeNil(), "Block never deletes children")

			Expect(k8s.Delete(ctx, child)).To(Succeed())
			eventuallyGone(child)
			Expect(k8s.Delete(ctx, u)).To(Succeed())
			eventuallyGone(parent)
			eventuallyGone(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "b-parent"}})

			// The name is free again: a new organization of that name gets a
			// fresh namespace of its own.
			again := createFrom(st.Org("b-parent", st.WithParent(rootName)))
			o = eventuallyReady(rootName, "b-parent")
			Expect(o.UID).NotTo(Equal(parent.UID))
			ns := &corev1.Namespace{}
			Expect(k8s.Get(ctx, types.NamespacedName{Name: "b-parent"}, ns)).To(Succeed())
			Expect(ns.Annotations).To(HaveKeyWithValue(iamv1.AnnotationOrganizationUID, string(o.UID)))
			Expect(k8s.Delete(ctx, again)).To(Succeed())
			eventuallyGone(again)
		})

		It("with Cascade deletes the whole subtree bottom-up, whatever the children's own policy", func() {
			top := createFrom(st.Org("c-top", st.WithParent(rootName), func(o *iamv1.Organization) { o.Spec.DeletionPolicy = iamv1.DeletionCascade }))
			mid := createFrom(st.Org("c-mid", st.WithParent("c-top")))
			leaf := createFrom(st.Org("c-leaf", st.WithParent("c-mid")))
			eventuallyReady("c-mid", "c-leaf")
			u := createFrom(st.User("c-mid", "dave", "dave@c.example"))

			Expect(k8s.Delete(ctx, top)).To(Succeed())
			eventuallyGone(leaf)
			eventuallyGone(u)
			eventuallyGone(mid)
			eventuallyGone(top)
			for _, n := range []string{"c-top", "c-mid", "c-leaf"} {
				eventuallyGone(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}})
			}
			// The self-management RBAC in the parent's namespace is gone too.
			Expect(apierrors.IsNotFound(k8s.Get(ctx, types.NamespacedName{Namespace: rootName, Name: selfRoleName("c-top")}, &rbacv1.Role{}))).To(BeTrue())
		})
	})
})
