package upgrade

import (
	"fmt"
	"os"
	"path/filepath"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/orgkeeper/orgkeeper/config"
)

// Baselines returns the folders under dir (testdata), one per earlier
// commit, sorted.
func Baselines(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no earlier release under %s; run make upgrade-testdata REV=<commit>", dir)
	}
	return out, nil
}

// ReadCRDs decodes every CustomResourceDefinition in the YAML files of dir.
func ReadCRDs(dir string) ([]*apiextensionsv1.CustomResourceDefinition, error) {
	var out []*apiextensionsv1.CustomResourceDefinition
	err := eachDocument(dir, func(name string, doc []byte) error {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.UnmarshalStrict(doc, crd); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		out = append(out, crd)
		return nil
	})
	return out, err
}

// ReadObjects decodes every object in the YAML files of dir, files in
// lexical order.
func ReadObjects(dir string) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	err := eachDocument(dir, func(name string, doc []byte) error {
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(doc, &obj.Object); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if obj.Object == nil {
			return nil // only comments
		}
		if obj.GetKind() == "" {
			return fmt.Errorf("%s: a document has no kind", name)
		}
		out = append(out, obj)
		return nil
	})
	return out, err
}

// eachDocument calls fn with every YAML document of the *.yaml files of dir,
// named by their path under dir.
func eachDocument(dir string, fn func(name string, doc []byte) error) error {
	return config.EachDocument(os.DirFS(dir), ".", func(name string, doc []byte) error {
		return fn(filepath.Join(dir, name), doc)
	})
}
