package controller

import (
	"context"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

// config/policy/organization_finalizer.yaml, which devenv installs as the
// chart does, puts the finalizer on every new Organization as the API server
// creates it, so the reconciler does not write it afterwards.
var _ = Describe("The finalizer admission policy", func() {
	BeforeEach(func() { ensureRoot() })

	It("creates every Organization with the operator's finalizer already on", func() {
		// The API server loads a new policy within a moment of its
		// creation; a dry run goes through admission and stores nothing.
		Eventually(func(g Gomega) {
			probe := st.ForCreate(st.Org("fp-probe", st.WithParent(rootName)))
			g.Expect(k8s.Create(ctx, probe, client.DryRunAll)).To(Succeed())
			g.Expect(probe.Finalizers).To(ContainElement(iamv1.FinalizerOrganization))
		}).Should(Succeed())

		withOwn := st.ForCreate(st.Org("fp-own", st.WithParent(rootName)))
		withOwn.Finalizers = []string{"example.com/keep", iamv1.FinalizerOrganization}
		Expect(k8s.Create(ctx, withOwn)).To(Succeed())
		Expect(withOwn.Finalizers).To(Equal([]string{"example.com/keep", iamv1.FinalizerOrganization}),
			"a finalizer already there is not added twice, and others are kept")
		DeferCleanup(func() {
			update(func() *iamv1.Organization { return &iamv1.Organization{} }, rootName, "fp-own", func(o *iamv1.Organization) {
				controllerutil.RemoveFinalizer(o, "example.com/keep")
			})
		})

		created := createFrom(st.Org("fp-acme", st.WithParent(rootName)))
		Expect(created.Finalizers).To(ConsistOf(iamv1.FinalizerOrganization))
		eventuallyCondition(rootName, "fp-acme", iamv1.ConditionReady, "True", iamv1.ReasonReconciled)
	})
})

// Where the policy put the finalizer on, the first pass writes none.
func TestAFinalizerPutOnAtCreationIsNotWrittenAgain(t *testing.T) {
	root := st.Ptr(st.Org("acme"))
	root.Finalizers = []string{iamv1.FinalizerOrganization}
	patches := 0
	c := scaleClient(t).WithObjects(root).WithInterceptorFuncs(interceptor.Funcs{
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
			patches++
			return c.Patch(ctx, obj, patch, opts...)
		},
	}).Build()
	r := &OrganizationReconciler{Client: c, APIReader: c, SystemNamespace: st.SystemNamespace}
	if _, err := r.Reconcile(context.Background(), reconcile.Request{NamespacedName: client.ObjectKeyFromObject(root)}); err != nil {
		t.Fatal(err)
	}
	if patches != 0 {
		t.Fatalf("%d patches of the Organization, want none", patches)
	}
}
