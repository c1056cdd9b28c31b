package devenv_test

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/orgkeeper/orgkeeper/internal/devenv"
)

var _ = Describe("A local control plane with kube-controller-manager", Ordered, func() {
	var (
		env      *devenv.Env
		c        client.Client
		stateDir string
	)

	BeforeAll(func(ctx SpecContext) {
		stateDir = GinkgoT().TempDir()
		env = startEnv(ctx, devenv.Options{StateDir: stateDir, WithControllerManager: true, Log: GinkgoLogr})
		var err error
		Expect(apiextensionsv1.AddToScheme(scheme.Scheme)).To(Succeed())
		c, err = client.New(env.Config, client.Options{Scheme: scheme.Scheme})
		Expect(err).NotTo(HaveOccurred())
	}, NodeTimeout(10*time.Minute)) // the first run may build the binaries

	It("installs Orgkeeper's CRDs, established, and the org-admin ClusterRole", func(ctx SpecContext) {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		Expect(c.Get(ctx, client.ObjectKey{Name: "organizations.iam.orgkeeper.io"}, crd)).To(Succeed())
		Expect(crd.Status.Conditions).To(ContainElement(And(
			HaveField("Type", apiextensionsv1.Established),
			HaveField("Status", apiextensionsv1.ConditionTrue))))
		Expect(c.Get(ctx, client.ObjectKey{Name: "orgkeeper-org-admin"}, &rbacv1.ClusterRole{})).To(Succeed())
	})

	It("authorizes with RBAC: a user has no rights until a binding grants them", func(ctx SpecContext) {
		Expect(devenv.EnsureNamespace(ctx, c, "rbac-check")).To(Succeed())
		aliceCfg, err := env.AddUser("alice", "acme-admins")
		Expect(err).NotTo(HaveOccurred())
		alice, err := client.New(aliceCfg, client.Options{})
		Expect(err).NotTo(HaveOccurred())
		Expect(apierrors.IsForbidden(alice.List(ctx, &corev1.SecretList{}, client.InNamespace("rbac-check")))).To(BeTrue())

		canListSecrets := func(g Gomega) bool {
			sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
				User: "alice", Groups: []string{"acme-admins"},
				ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: "rbac-check", Verb: "list", Resource: "secrets"},
			}}
			g.Expect(c.Create(ctx, sar)).To(Succeed())
			return sar.Status.Allowed
		}
		Expect(canListSecrets(Default)).To(BeFalse())
		Expect(c.Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "org-admins", Namespace: "rbac-check"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "orgkeeper-org-admin"},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "Group", Name: "acme-admins"}},
		})).To(Succeed())
		Eventually(canListSecrets).Should(BeTrue())
		Eventually(func() error {
			return alice.List(ctx, &corev1.SecretList{}, client.InNamespace("rbac-check"))
		}).Should(Succeed())
	})

	It("finishes deleting a namespace and what it holds (namespace controller)", func(ctx SpecContext) {
		Expect(devenv.EnsureNamespace(ctx, c, "doomed")).To(Succeed())
		Expect(c.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: "doomed"}})).To(Succeed())
		Expect(c.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "doomed"}})).To(Succeed())
		Eventually(func() error {
			return c.Get(ctx, client.ObjectKey{Name: "doomed"}, &corev1.Namespace{})
		}).WithTimeout(90 * time.Second).Should(Satisfy(apierrors.IsNotFound))
	})

	It("deletes objects whose owner is gone (garbage collector)", func(ctx SpecContext) {
		owner := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "owner", Namespace: "default"}}
		Expect(c.Create(ctx, owner)).To(Succeed())
		dependent := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "dependent", Namespace: "default",
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: owner.Name, UID: owner.UID}}}}
		Expect(c.Create(ctx, dependent)).To(Succeed())
		Expect(c.Delete(ctx, owner, client.PropagationPolicy(metav1.DeletePropagationBackground))).To(Succeed())
		Eventually(func() error {
			return c.Get(ctx, client.ObjectKeyFromObject(dependent), &corev1.ConfigMap{})
		}).WithTimeout(90 * time.Second).Should(Satisfy(apierrors.IsNotFound))
	})

	It("applies objects once their namespace exists, whatever their order", func(ctx SpecContext) {
		cm := object("v1", "ConfigMap", "later", "settings")
		ns := object("v1", "Namespace", "", "later")
		Expect(devenv.ApplyObjects(ctx, c, []*unstructured.Unstructured{cm, ns}, 10*time.Second, GinkgoLogr)).To(Succeed())
		Expect(c.Get(ctx, client.ObjectKey{Namespace: "later", Name: "settings"}, &corev1.ConfigMap{})).To(Succeed())

		orphan := object("v1", "ConfigMap", "nowhere", "settings")
		err := devenv.ApplyObjects(ctx, c, []*unstructured.Unstructured{orphan}, time.Second, GinkgoLogr)
		Expect(err).To(MatchError(ContainSubstring("namespaces nowhere did not appear")))
	})

	It("writes a kubeconfig that reaches the API server as an administrator", func(ctx SpecContext) {
		path := filepath.Join(stateDir, "kubeconfig")
		Expect(env.WriteKubeconfig(path)).To(Succeed())
		cfg, err := clientcmd.BuildConfigFromFlags("", path)
		Expect(err).NotTo(HaveOccurred())
		admin, err := client.New(cfg, client.Options{})
		Expect(err).NotTo(HaveOccurred())
		Expect(admin.List(ctx, &corev1.NamespaceList{})).To(Succeed())
	})

	It("stops every process it started, and Stop can be called again", func() {
		pids := env.PIDs()
		Expect(pids).To(HaveLen(3), "etcd, kube-apiserver and kube-controller-manager")
		Expect(env.Stop()).To(Succeed())
		if runtime.GOOS == "linux" {
			for _, pid := range pids {
				_, err := os.Stat(filepath.Join("/proc", strconv.Itoa(pid)))
				Expect(err).To(MatchError(os.ErrNotExist), "process %d still exists", pid)
			}
		}
		Expect(env.Stop()).To(Succeed())
		Expect(filepath.Join(stateDir, "pids.json")).NotTo(BeAnExistingFile())
	})
})

func object(apiVersion, kind, namespace, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(schema.FromAPIVersionAndKind(apiVersion, kind))
	u.SetNamespace(namespace)
	u.SetName(name)
	return u
}
