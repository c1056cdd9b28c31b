package bench

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/app"
	"github.com/orgkeeper/orgkeeper/internal/controller"
	"github.com/orgkeeper/orgkeeper/internal/devenv"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

const systemNamespace = "orgkeeper-system"

// BenchmarkSharedApplicationChangeServed measures how long a change applied
// to a SharedApplication takes to change what the issuer does: from the
// moment the API server accepted an update that adds a redirect URI, to the
// first /authorize with that redirect URI that the issuer accepts. It reports
// p50, p99 and max in milliseconds (target: p99 under 100 ms).
func BenchmarkSharedApplicationChangeServed(b *testing.B) {
	ctx, c, issuer := startProduct(b)
	appKey := client.ObjectKey{Namespace: "platform", Name: "portal"}
	httpc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	accepted := func(redirect string) bool {
		q := url.Values{"client_id": {"portal"}, "response_type": {"code"}, "scope": {"openid"},
			"redirect_uri": {redirect}, "state": {"s"}}
		resp, err := httpc.Get(issuer + "/authorize?" + q.Encode())
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusFound || resp.StatusCode == http.StatusSeeOther
	}

	var latencies []time.Duration
	for i := 0; b.Loop(); i++ {
		redirect := fmt.Sprintf("http://127.0.0.1:9/callback-%d", i)
		if accepted(redirect) {
			b.Fatalf("%s is accepted before it was registered", redirect)
		}
		sa := &iamv1.SharedApplication{}
		if err := c.Get(ctx, appKey, sa); err != nil {
			b.Fatal(err)
		}
		patch := client.MergeFrom(sa.DeepCopy()) // no resourceVersion: the operator writes status meanwhile
		sa.Spec.RedirectURIs = []string{"http://127.0.0.1:9/callback", redirect}
		if err := c.Patch(ctx, sa, patch); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for !accepted(redirect) {
			if time.Since(start) > 10*time.Second {
				b.Fatalf("%s not served after 10s", redirect)
			}
			time.Sleep(time.Millisecond)
		}
		latencies = append(latencies, time.Since(start))
	}
	slices.Sort(latencies)
	pct := func(p float64) float64 {
		return float64(latencies[min(len(latencies)-1, int(p*float64(len(latencies))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50_ms")
	b.ReportMetric(pct(0.99), "p99_ms")
	b.ReportMetric(pct(1), "max_ms")
}

// startProduct runs a kube-apiserver, the operator and the issuer, with a
// root organization and a shared application "portal", and returns a
// client and the issuer URL. Everything stops at the end of the benchmark.
func startProduct(b *testing.B) (context.Context, client.Client, string) {
	b.Helper()
	log.SetLogger(logr.Discard())
	ctx, cancel := context.WithCancel(context.Background())
	env, err := devenv.Start(ctx, devenv.Options{})
	if err != nil {
		b.Fatalf("starting the control plane (run with `make bench`): %v", err)
	}
	b.Cleanup(func() { cancel(); _ = env.Stop() })
	scheme, err := app.NewScheme()
	if err != nil {
		b.Fatal(err)
	}
	c, err := client.New(env.Config, client.Options{Scheme: scheme})
	if err != nil {
		b.Fatal(err)
	}
	must(b, devenv.EnsureNamespace(ctx, c, systemNamespace))

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	issuer := "http://" + listener.Addr().String()
	mgr, srv, err := app.NewManager(env.Config, app.Settings{
		Controller:  controller.Options{SystemNamespace: systemNamespace},
		MetricsAddr: "0", HealthAddr: "0", Issuer: issuer, Listener: listener,
	})
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = mgr.Start(ctx) }()

	must(b, c.Create(ctx, st.ForCreate(st.Org("platform", st.WithDisplayName("Platform")))))
	waitFor(b, func() bool {
		return c.Get(ctx, client.ObjectKey{Name: "platform"}, &corev1.Namespace{}) == nil
	})
	must(b, c.Create(ctx, st.ForCreate(st.App("platform", "portal", st.WithAppDisplayName("Portal"),
		st.WithRedirectURIs("http://127.0.0.1:9/callback"), st.WithGrantTypes("authorization_code")))))
	waitFor(b, func() bool {
		sa := &iamv1.SharedApplication{}
		return c.Get(ctx, client.ObjectKey{Namespace: "platform", Name: "portal"}, sa) == nil &&
			meta.IsStatusConditionTrue(sa.Status.Conditions, iamv1.ConditionReady) && srv.Ready(nil) == nil
	})
	return ctx, c, issuer
}

func must(b *testing.B, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}

func waitFor(b *testing.B, ok func() bool) {
	b.Helper()
	for deadline := time.Now().Add(60 * time.Second); !ok(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatal("timed out waiting for the product to come up")
		}
	}
}
