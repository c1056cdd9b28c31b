package v1alpha1_test

import (
	"context"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/devenv"
)

// The CRD validation suite applies YAML to a real kube-apiserver with the
// generated CRDs installed, and checks what users would see.

var (
	env *devenv.Env
	k8s client.Client
	ctx = context.Background()
)

func TestCRDValidation(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "CRD Validation Suite")
}

var _ = BeforeSuite(func() {
	scheme := runtime.NewScheme()
	Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	Expect(iamv1.AddToScheme(scheme)).To(Succeed())
	var err error
	env, err = devenv.Start(ctx, devenv.Options{})
	Expect(err).NotTo(HaveOccurred(), "run the tests with `make test`, which builds the control plane")
	k8s, err = client.New(env.Config, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
})

var _ = AfterSuite(func() {
	if env != nil {
		Expect(env.Stop()).To(Succeed())
	}
})
