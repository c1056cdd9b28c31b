package chart

import (
	"path/filepath"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// kustomizeBuild renders a kustomization as `kubectl apply -k` would.
func kustomizeBuild(t testing.TB, dir string) []*unstructured.Unstructured {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resources, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	out, err := resources.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	objs, err := decodeManifests(string(out))
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// comparable drops what legitimately differs between a Helm release and a
// kustomize build: the objects' own labels and annotations (Helm's
// managed-by, chart and instance labels).
func comparable(o *unstructured.Unstructured) map[string]any {
	c := o.DeepCopy()
	unstructured.RemoveNestedField(c.Object, "metadata", "labels")
	unstructured.RemoveNestedField(c.Object, "metadata", "annotations")
	if clusterScoped[o.GetKind()] {
		unstructured.RemoveNestedField(c.Object, "metadata", "namespace")
	}
	return c.Object
}

// clusterScoped are the cluster-scoped kinds both renders hold. kustomize's
// built-in schema predates the admission policies and gives them the
// kustomization's namespace; the API server drops the namespace of a
// cluster-scoped object, so the comparison does too.
var clusterScoped = map[string]bool{
	"CustomResourceDefinition":         true,
	"ClusterRole":                      true,
	"ClusterRoleBinding":               true,
	"ValidatingAdmissionPolicy":        true,
	"ValidatingAdmissionPolicyBinding": true,
	"MutatingAdmissionPolicy":          true,
	"MutatingAdmissionPolicyBinding":   true,
}

func objectKey(o *unstructured.Unstructured) string {
	ns := o.GetNamespace()
	if clusterScoped[o.GetKind()] {
		ns = ""
	}
	return o.GetAPIVersion() + " " + o.GetKind() + " " + ns + "/" + o.GetName()
}

// TestKustomizeDefaultRendersTheSameObjectsAsTheChart: config/default and the
// chart with default values install the same objects with the same specs, so
// that a platform team gets one product whichever it uses. The only object
// of config/default the chart does not render is the Namespace, which Helm
// creates (helm install --create-namespace).
func TestKustomizeDefaultRendersTheSameObjectsAsTheChart(t *testing.T) {
	chart := map[string]map[string]any{}
	for _, o := range mustRender(t, ``).objs {
		chart[objectKey(o)] = comparable(o)
	}
	kustomize := map[string]map[string]any{}
	for _, o := range kustomizeBuild(t, filepath.Join(repoRoot, "config", "default")) {
		if o.GetKind() == "Namespace" && o.GetName() == releaseNamespace {
			continue
		}
		kustomize[objectKey(o)] = comparable(o)
	}
	var keys []string
	for k := range chart {
		keys = append(keys, k)
	}
	for k := range kustomize {
		if _, ok := chart[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		c, inChart := chart[k]
		kz, inKustomize := kustomize[k]
		switch {
		case !inKustomize:
			t.Errorf("%s: rendered by the chart, not by config/default", k)
		case !inChart:
			t.Errorf("%s: rendered by config/default, not by the chart", k)
		default:
			if d := cmp.Diff(kz, c); d != "" {
				t.Errorf("%s differs (-config/default +chart):\n%s", k, d)
			}
		}
	}
}
