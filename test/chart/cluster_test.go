package chart

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/orgkeeper/orgkeeper/internal/devenv"
)

// The control plane is started once, by the first test that needs it, and
// stopped by TestMain.
var (
	envOnce sync.Once
	env     *devenv.Env
	envErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	if env != nil {
		if err := env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping the control plane:", err)
		}
	}
	os.Exit(code)
}

// controlPlane returns the shared kube-apiserver (with Orgkeeper's CRDs
// installed by devenv) and an admin client with strict field validation, so
// that an unknown or misplaced field in a rendered object is an error.
func controlPlane(t *testing.T) (*devenv.Env, client.Client) {
	t.Helper()
	envOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		env, envErr = devenv.Start(ctx, devenv.Options{})
	})
	if envErr != nil {
		t.Fatalf("starting the control plane: %v", envErr)
	}
	c, err := client.New(env.Config, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return env, client.WithFieldValidation(c, metav1.FieldValidationStrict)
}

// serverVersion is the test apiserver's version, for Capabilities.KubeVersion.
func serverVersion(t *testing.T, e *devenv.Env) string {
	t.Helper()
	dc, err := discovery.NewDiscoveryClientForConfig(e.Config)
	if err != nil {
		t.Fatal(err)
	}
	v, err := dc.ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	return v.GitVersion
}

func ensureNamespace(t *testing.T, c client.Client, name string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := c.Create(context.Background(), ns); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// TestRenderedObjectsAreValidForTheAPIServer applies every object of several
// renders (and of config/default) to a real kube-apiserver with server-side
// apply in dry-run mode and strict field validation: every field must exist
// in the schema of its kind and pass the API's own validation.
func TestRenderedObjectsAreValidForTheAPIServer(t *testing.T) {
	e, c := controlPlane(t)
	kubeVersion := serverVersion(t, e)
	ensureNamespace(t, c, releaseNamespace)

	for name, values := range sampleRenders {
		t.Run(name, func(t *testing.T) {
			r, err := renderWith(t, values, renderOptions{kubeVersion: kubeVersion})
			if err != nil {
				t.Fatal(err)
			}
			applied := dryRunApplyAll(t, c, r.objs)
			if applied == 0 {
				t.Fatal("nothing was applied")
			}
		})
	}
	t.Run("config/default", func(t *testing.T) {
		dryRunApplyAll(t, c, kustomizeBuild(t, filepath.Join(repoRoot, "config", "default")))
	})
}

// dryRunApplyAll server-side applies objs with dryRun=All and returns how
// many it applied. ServiceMonitor is skipped: its CRD belongs to the
// Prometheus Operator, which the test cluster does not have.
func dryRunApplyAll(t *testing.T, c client.Client, objs []*unstructured.Unstructured) int {
	t.Helper()
	n := 0
	for _, o := range objs {
		if o.GetKind() == "ServiceMonitor" {
			continue
		}
		o = o.DeepCopy()
		if clusterScoped[o.GetKind()] {
			o.SetNamespace("")
		}
		err := c.Apply(context.Background(), client.ApplyConfigurationFromUnstructured(o),
			client.DryRunAll, client.FieldOwner("orgkeeper-chart-test"), client.ForceOwnership)
		if err != nil {
			t.Errorf("%s %s/%s is refused by the API server: %v", o.GetKind(), o.GetNamespace(), o.GetName(), err)
			continue
		}
		n++
	}
	return n
}

// sampleRenders are values files that together turn on every part of the
// chart; the API and flag tests check each.
var sampleRenders = map[string]string{
	"default values":                       ``,
	"three replicas on Redis":              redisValues,
	"an issuer with TLS behind an Ingress": issuerValues,
	"everything optional on": redisValues + `
issuer:
  url: https://login.example.com
  tls: {secretName: login-tls}
  trustedProxies: [10.0.0.0/8]
ingress: {enabled: true, className: nginx, tls: [{secretName: login-tls, hosts: [login.example.com]}]}
serviceMonitor: {enabled: true, prometheusServiceAccount: {name: prometheus, namespace: monitoring}}
smtp: {host: smtp.example.com, from: login@example.com, username: orgkeeper, passwordSecret: {name: smtp}}
extraArgs: [--max-concurrent-reconciles=32]
podDisruptionBudget: {maxUnavailable: 50%}
topologySpreadConstraints:
- {maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {app.kubernetes.io/name: orgkeeper}}}
nodeSelector: {kubernetes.io/os: linux}
tolerations: [{key: dedicated, operator: Equal, value: identity, effect: NoSchedule}]
podAnnotations: {example.com/owner: platform}
priorityClassName: system-cluster-critical
`,
}
