package apiwrite

import (
	"context"
	"testing"
	"time"

	"github.com/go-logr/logr"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	promtestutil "github.com/prometheus/client_golang/prometheus/testutil"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/devenv"
)

var (
	envCtx    context.Context
	envCancel context.CancelFunc
	env       *devenv.Env
	k8s       client.Client
)

// TestAPIServer runs the specs against a real kube-apiserver (envtest).
func TestAPIServer(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "apiwrite suite")
}

var _ = BeforeSuite(func() {
	SetDefaultEventuallyTimeout(30 * time.Second)
	SetDefaultEventuallyPollingInterval(50 * time.Millisecond)
	envCtx, envCancel = context.WithCancel(context.Background())
	scheme := runtime.NewScheme()
	Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	Expect(iamv1.AddToScheme(scheme)).To(Succeed())
	var err error
	env, err = devenv.Start(envCtx, devenv.Options{})
	Expect(err).NotTo(HaveOccurred(), "run the tests with `make test`, which builds the control plane")
	k8s, err = client.New(env.Config, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
})

var _ = AfterSuite(func() {
	if envCancel != nil {
		envCancel()
	}
	if env != nil {
		Expect(env.Stop()).To(Succeed())
	}
})

// startWriter runs a Writer on the real API server until the spec ends, as
// one replica would.
func startWriter() *Writer {
	GinkgoHelper()
	return startWriterWith(Options{BaseBackoff: 10 * time.Millisecond})
}

// startWriterWith is startWriter with options; the suite's client, a
// discarding log and a registry of its own unless o sets them.
func startWriterWith(o Options) *Writer {
	GinkgoHelper()
	if o.Client == nil {
		o.Client = k8s
	}
	if o.Log.GetSink() == nil {
		o.Log = logr.Discard()
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	w, err := New(o)
	Expect(err).NotTo(HaveOccurred())
	ctx, cancel := context.WithCancel(envCtx)
	done := make(chan error, 1)
	go func() { done <- w.Start(ctx) }()
	DeferCleanup(func() { cancel(); Expect(<-done).To(Succeed()) })
	return w
}

func testutilCount(w *Writer, result string) float64 {
	return promtestutil.ToFloat64(w.results.WithLabelValues("lockout", result))
}
