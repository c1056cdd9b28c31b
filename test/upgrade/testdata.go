package upgrade

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
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

func eachDocument(dir string, fn func(name string, doc []byte) error) error {
	names, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		data, err := os.ReadFile(name)
		if err != nil {
			return err
		}
		r := k8syaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
		for {
			doc, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if len(bytes.TrimSpace(doc)) == 0 {
				continue
			}
			if err := fn(name, doc); err != nil {
				return err
			}
		}
	}
	return nil
}
