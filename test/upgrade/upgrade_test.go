package upgrade

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/config"
	"github.com/orgkeeper/orgkeeper/internal/app"
	"github.com/orgkeeper/orgkeeper/internal/app/apptest"
	"github.com/orgkeeper/orgkeeper/internal/controller"
	"github.com/orgkeeper/orgkeeper/internal/devenv"
)

const systemNamespace = "orgkeeper-system"

// TestUpgradeFromAnEarlierReleaseLosesNothing installs each earlier
// release's CRDs with its sample objects stored, upgrades the CRDs to the
// current ones the way an upgrade does (server-side apply), and checks that
// every object reads back with all it had, and that the current manager
// reconciles them.
func TestUpgradeFromAnEarlierReleaseLosesNothing(t *testing.T) {
	baselines, err := Baselines("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range baselines {
		t.Run(filepath.Base(dir), func(t *testing.T) { testUpgrade(t, dir) })
	}
}

func testUpgrade(t *testing.T, dir string) {
	g := NewWithT(t)
	g.SetDefaultEventuallyTimeout(time.Minute)
	g.SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	prevCRDs, err := ReadCRDs(filepath.Join(dir, "crds"))
	g.Expect(err).NotTo(HaveOccurred())
	env, c := apptest.ControlPlane(t, ctx, devenv.Options{CRDs: prevCRDs}, systemNamespace)

	// What the earlier release left in etcd: its sample objects, each
	// Organization's namespace (made as its operator makes it) and the
	// initial password Secrets.
	objs, err := ReadObjects(filepath.Join(dir, "samples"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(objs).NotTo(BeEmpty())
	for _, obj := range objs {
		g.Expect(applyObject(ctx, c, obj)).To(Succeed(), "%s %s is valid under the earlier CRDs", obj.GetKind(), obj.GetName())
		if obj.GetKind() == "Organization" {
			g.Expect(earlierOperatorNamespace(ctx, c, obj)).To(Succeed())
		}
	}
	_, err = devenv.DemoPasswords(ctx, c, objs)
	g.Expect(err).NotTo(HaveOccurred())
	ours := ownKinds(objs)
	before := readAll(ctx, g, c, ours)

	// The upgrade: the current CRDs, server-side applied over the earlier ones.
	current, err := config.CRDs()
	g.Expect(err).NotTo(HaveOccurred())
	for _, crd := range current {
		g.Expect(applyCRD(ctx, c, crd)).To(Succeed(), "applying the current CRD %s", crd.Name)
	}
	// The API server serves the new schemas once its CRD handlers have
	// caught up: the current samples then pass strict field validation.
	samples, err := config.Samples()
	g.Expect(err).NotTo(HaveOccurred())
	for _, s := range ownKinds(samples) {
		g.Eventually(func() error { return dryRunStrict(ctx, c, s) }).Should(Succeed(),
			"the current %s %s should be accepted once the current CRDs are served", s.GetKind(), s.GetName())
	}

	after := readAll(ctx, g, c, ours)
	for key, was := range before {
		for _, loss := range lost(was.Object, after[key].Object, "") {
			t.Errorf("%s lost %s in the upgrade", key, loss)
		}
	}

	// The current manager reconciles what the earlier release stored.
	mgr, _, err := app.NewManager(env.Config, app.Settings{
		Controller:  controller.Options{SystemNamespace: systemNamespace, MaxConcurrentReconciles: 2},
		MetricsAddr: "0",
		HealthAddr:  "0",
		Log:         logf.Log.WithName("upgrade"),
	})
	g.Expect(err).NotTo(HaveOccurred())
	mctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mctx) }()
	defer func() {
		stop()
		g.Expect(<-done).To(Succeed())
	}()
	// The samples' IdentityProvider points at a provider that does not
	// exist here, so it cannot be Ready; it must still be reconciled.
	var servable []*unstructured.Unstructured
	for _, obj := range devenv.ServedKinds(ours) {
		if obj.GetKind() != "IdentityProvider" {
			servable = append(servable, obj)
		}
	}
	g.Expect(devenv.WaitForReady(ctx, c, servable, 2*time.Minute)).To(Succeed())
	for _, obj := range ours {
		if obj.GetKind() != "IdentityProvider" {
			continue
		}
		g.Eventually(func() error { return reconciled(ctx, c, obj) }).Should(Succeed())
	}
	reconciledObjs := readAll(ctx, g, c, ours)
	for key, was := range before {
		for _, loss := range lost(specOf(was), specOf(reconciledObjs[key]), ".spec") {
			t.Errorf("%s lost %s once the current manager reconciled it", key, loss)
		}
	}
}

// earlierOperatorNamespace makes the namespace of an Organization as the
// operator does: labelled and annotated with the organization's UID. An
// organization's objects (and its children) live in it.
func earlierOperatorNamespace(ctx context.Context, c client.Client, obj *unstructured.Unstructured) error {
	org := &iamv1.Organization{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(obj), org); err != nil {
		return err
	}
	ns := &corev1.Namespace{}
	ns.Name = org.Name
	ns.Labels = map[string]string{iamv1.LabelOrganization: org.Name, iamv1.LabelManagedBy: iamv1.ManagedByValue}
	ns.Annotations = map[string]string{iamv1.AnnotationOrganizationUID: string(org.UID)}
	return c.Create(ctx, ns)
}

// ownKinds keeps the objects of the iam.orgkeeper.io group.
func ownKinds(objs []*unstructured.Unstructured) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if o.GroupVersionKind().Group == iamv1.GroupVersion.Group {
			out = append(out, o)
		}
	}
	return out
}

func key(o *unstructured.Unstructured) string {
	return fmt.Sprintf("%s %s/%s", o.GetKind(), o.GetNamespace(), o.GetName())
}

func readAll(ctx context.Context, g Gomega, c client.Client, objs []*unstructured.Unstructured) map[string]*unstructured.Unstructured {
	out := map[string]*unstructured.Unstructured{}
	for _, o := range objs {
		got := &unstructured.Unstructured{}
		got.SetGroupVersionKind(o.GroupVersionKind())
		g.Expect(c.Get(ctx, client.ObjectKeyFromObject(o), got)).To(Succeed(), "reading %s", key(o))
		out[key(o)] = got
	}
	return out
}

func specOf(o *unstructured.Unstructured) any {
	if o == nil {
		return nil
	}
	return o.Object["spec"]
}

// lost lists the fields that was has and is does not (or with another
// value), ignoring what the API server changes on every write. Fields that
// is adds (defaults of new fields) are not losses.
func lost(was, is any, path string) []string {
	switch w := was.(type) {
	case map[string]any:
		m, ok := is.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s (was %v, now %v)", orRoot(path), short(was), short(is))}
		}
		var out []string
		for k, v := range w {
			p := path + "." + k
			if volatile[p] {
				continue
			}
			if _, ok := m[k]; !ok {
				out = append(out, fmt.Sprintf("%s (was %v)", p, short(v)))
				continue
			}
			out = append(out, lost(v, m[k], p)...)
		}
		return out
	case []any:
		l, ok := is.([]any)
		if !ok || len(l) != len(w) {
			return []string{fmt.Sprintf("%s (was %v, now %v)", orRoot(path), short(was), short(is))}
		}
		var out []string
		for i := range w {
			out = append(out, lost(w[i], l[i], fmt.Sprintf("%s[%d]", path, i))...)
		}
		return out
	default:
		if !reflect.DeepEqual(was, is) {
			return []string{fmt.Sprintf("%s (was %v, now %v)", orRoot(path), short(was), short(is))}
		}
		return nil
	}
}

// volatile are the fields the API server rewrites on any write.
var volatile = map[string]bool{".metadata.resourceVersion": true, ".metadata.managedFields": true}

func orRoot(path string) string {
	if path == "" {
		return "."
	}
	return path
}

func short(v any) string {
	s := fmt.Sprint(v)
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	return s
}

// reconciled: the object's status is for its current generation.
func reconciled(ctx context.Context, c client.Client, obj *unstructured.Unstructured) error {
	got := &unstructured.Unstructured{}
	got.SetGroupVersionKind(obj.GroupVersionKind())
	if err := c.Get(ctx, client.ObjectKeyFromObject(obj), got); err != nil {
		return err
	}
	observed, _, _ := unstructured.NestedInt64(got.Object, "status", "observedGeneration")
	conditions, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
	if len(conditions) == 0 {
		return fmt.Errorf("%s has no conditions yet", key(obj))
	}
	for _, raw := range conditions {
		cond, _ := raw.(map[string]any)
		if gen, _, _ := unstructured.NestedInt64(cond, "observedGeneration"); gen < got.GetGeneration() {
			return fmt.Errorf("%s: condition %v is for generation %d, not %d", key(obj), cond["type"], gen, got.GetGeneration())
		}
	}
	if observed > got.GetGeneration() {
		return fmt.Errorf("%s: observedGeneration %d ahead of generation %d", key(obj), observed, got.GetGeneration())
	}
	return nil
}

// fieldOwner is the server-side apply field manager of this test, standing
// in for the earlier release's installer and its admins.
const fieldOwner = "upgrade-test"

func applyObject(ctx context.Context, c client.Client, obj *unstructured.Unstructured) error {
	o := obj.DeepCopy()
	return c.Patch(ctx, o, client.Apply, client.FieldOwner(fieldOwner), client.ForceOwnership) //nolint:staticcheck // unstructured apply
}

// applyCRD server-side applies crd, as `kubectl apply --server-side` of the
// chart's crds/ does on an upgrade.
func applyCRD(ctx context.Context, c client.Client, crd *apiextensionsv1.CustomResourceDefinition) error {
	u := &unstructured.Unstructured{}
	raw, err := runtime.DefaultUnstructuredConverter.ToUnstructured(crd)
	if err != nil {
		return err
	}
	u.Object = raw
	u.SetGroupVersionKind(apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition"))
	delete(u.Object, "status")
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	return c.Patch(ctx, u, client.Apply, client.FieldOwner(fieldOwner), client.ForceOwnership) //nolint:staticcheck // unstructured apply
}

// dryRunStrict applies obj with server-side dry-run and strict field
// validation: it fails while the API server still serves a schema that
// lacks one of obj's fields.
func dryRunStrict(ctx context.Context, c client.Client, obj *unstructured.Unstructured) error {
	o := obj.DeepCopy()
	err := c.Patch(ctx, o, client.Apply, client.FieldOwner(fieldOwner), client.ForceOwnership, client.DryRunAll, //nolint:staticcheck // unstructured apply
		client.FieldValidation("Strict"))
	if apierrors.IsNotFound(err) {
		// A namespace the earlier samples did not have: nothing to learn.
		return nil
	}
	return err
}
