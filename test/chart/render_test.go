package chart

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

const (
	// releaseNamespace is where the tests install the chart: the namespace
	// that config/default uses, so that the two renders can be compared.
	releaseNamespace = "orgkeeper-system"
	releaseName      = "orgkeeper"
)

var (
	repoRoot = filepath.Join("..", "..")
	chartDir = filepath.Join(repoRoot, "charts", "orgkeeper")
)

// rendered is the output of one `helm template`.
type rendered struct {
	objs  []*unstructured.Unstructured
	notes string
}

// renderOptions say what Kubernetes version the render targets; the default
// is a current one (Helm's library alone would claim v1.20).
type renderOptions struct {
	kubeVersion string
}

// render renders the chart as `helm template --include-crds` does, with
// valuesYAML over the chart's defaults.
func render(t testing.TB, valuesYAML string) (rendered, error) {
	t.Helper()
	return renderWith(t, valuesYAML, renderOptions{})
}

func renderWith(t testing.TB, valuesYAML string, opts renderOptions) (rendered, error) {
	t.Helper()
	chrt, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("loading the chart: %v", err)
	}
	vals := map[string]any{}
	if err := yaml.Unmarshal([]byte(valuesYAML), &vals); err != nil {
		t.Fatalf("values: %v", err)
	}
	if opts.kubeVersion == "" {
		opts.kubeVersion = "v1.37.0"
	}
	kv, err := chartutil.ParseKubeVersion(opts.kubeVersion)
	if err != nil {
		t.Fatalf("kube version: %v", err)
	}
	install := action.NewInstall(&action.Configuration{Log: func(string, ...any) {}})
	install.DryRun = true
	install.ClientOnly = true
	install.Replace = true
	install.IncludeCRDs = true
	install.ReleaseName = releaseName
	install.Namespace = releaseNamespace
	install.KubeVersion = kv
	rel, err := install.Run(chrt, vals)
	if err != nil {
		return rendered{}, err
	}
	objs, err := decodeManifests(rel.Manifest)
	if err != nil {
		t.Fatalf("the rendered manifest does not decode: %v\n%s", err, rel.Manifest)
	}
	return rendered{objs: objs, notes: rel.Info.Notes}, nil
}

// mustRender renders or fails the test.
func mustRender(t testing.TB, valuesYAML string) rendered {
	t.Helper()
	r, err := render(t, valuesYAML)
	if err != nil {
		t.Fatalf("rendering the chart with\n%s\n: %v", valuesYAML, err)
	}
	return r
}

// decodeManifests splits a multi-document YAML stream into objects, skipping
// empty documents and documents of comments only.
func decodeManifests(manifest string) ([]*unstructured.Unstructured, error) {
	var objs []*unstructured.Unstructured
	r := k8syaml.NewYAMLReader(bufio.NewReader(strings.NewReader(manifest)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, err
		}
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(doc, &obj.Object); err != nil {
			return nil, fmt.Errorf("%w in\n%s", err, doc)
		}
		if len(obj.Object) == 0 {
			continue
		}
		if obj.GetKind() == "" || obj.GetAPIVersion() == "" {
			return nil, fmt.Errorf("a document has no kind or apiVersion:\n%s", doc)
		}
		objs = append(objs, obj)
	}
}

// find returns the object of that kind and name, or nil.
func (r rendered) find(kind, name string) *unstructured.Unstructured {
	for _, o := range r.objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

// kinds lists "Kind/name" of every object, for messages.
func (r rendered) kinds() []string {
	var out []string
	for _, o := range r.objs {
		out = append(out, o.GetKind()+"/"+o.GetName())
	}
	return out
}

// deployment returns the manager's Deployment, typed.
func (r rendered) deployment(t testing.TB) *appsv1.Deployment {
	t.Helper()
	u := r.find("Deployment", "orgkeeper-manager")
	if u == nil {
		t.Fatalf("no Deployment orgkeeper-manager among %v", r.kinds())
	}
	d := &appsv1.Deployment{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, d); err != nil {
		t.Fatalf("Deployment: %v", err)
	}
	return d
}

// managerArgs returns the manager container's arguments.
func (r rendered) managerArgs(t testing.TB) []string {
	t.Helper()
	d := r.deployment(t)
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name == "manager" {
			return c.Args
		}
	}
	t.Fatalf("the Deployment has no container named manager")
	return nil
}

// chartAppVersion reads appVersion from Chart.yaml.
func chartAppVersion(t testing.TB) string {
	t.Helper()
	chrt, err := loader.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	return chrt.Metadata.AppVersion
}

// toYAML is for failure messages.
func toYAML(v any) string {
	b, err := yaml.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(bytes.TrimSpace(b))
}
