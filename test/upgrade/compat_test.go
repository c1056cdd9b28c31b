package upgrade

import (
	"path/filepath"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/utils/ptr"

	"github.com/orgkeeper/orgkeeper/config"
)

// TestCRDChangesStayBackwardCompatible compares every earlier release's CRDs
// under testdata with the current ones (config/crd/bases, as embedded).
func TestCRDChangesStayBackwardCompatible(t *testing.T) {
	current, err := config.CRDs()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*apiextensionsv1.CustomResourceDefinition{}
	for _, crd := range current {
		byName[crd.Name] = crd
	}
	baselines, err := Baselines("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range baselines {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			prev, err := ReadCRDs(filepath.Join(dir, "crds"))
			if err != nil {
				t.Fatal(err)
			}
			if len(prev) == 0 {
				t.Fatalf("no CRDs in %s", dir)
			}
			for _, old := range prev {
				next, ok := byName[old.Name]
				if !ok {
					t.Errorf("CRD %s was removed", old.Name)
					continue
				}
				for _, i := range CompareCRDs(old, next) {
					t.Errorf("not backward compatible: %s", i)
				}
			}
		})
	}
}

// TestCompareCRDsFindsEachIncompatibleChange makes one incompatible change
// at a time to a current CRD and checks that CompareCRDs reports it at the
// field, so that the test above cannot pass by overlooking a kind of change.
func TestCompareCRDsFindsEachIncompatibleChange(t *testing.T) {
	base := crd(t, "orgusers.iam.orgkeeper.io")
	if got := CompareCRDs(base, base.DeepCopy()); len(got) != 0 {
		t.Fatalf("an unchanged CRD should be compatible with itself, got %v", got)
	}
	spec := func(c *apiextensionsv1.CustomResourceDefinition) *apiextensionsv1.JSONSchemaProps {
		p := c.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"]
		return &p
	}
	setSpec := func(c *apiextensionsv1.CustomResourceDefinition, p *apiextensionsv1.JSONSchemaProps) {
		c.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"] = *p
	}
	edit := func(f func(spec *apiextensionsv1.JSONSchemaProps)) func(*apiextensionsv1.CustomResourceDefinition) {
		return func(c *apiextensionsv1.CustomResourceDefinition) {
			s := spec(c)
			f(s)
			setSpec(c, s)
		}
	}
	field := func(s *apiextensionsv1.JSONSchemaProps, name string, f func(*apiextensionsv1.JSONSchemaProps)) {
		p, ok := s.Properties[name]
		if !ok {
			t.Fatalf("the OrgUser spec has no field %s any more; pick another for this test", name)
		}
		f(&p)
		s.Properties[name] = p
	}
	for _, tc := range []struct {
		name   string
		change func(*apiextensionsv1.CustomResourceDefinition)
		want   string
	}{
		{"a removed field is reported at its path", edit(func(s *apiextensionsv1.JSONSchemaProps) {
			delete(s.Properties, "displayName")
		}), ".spec.displayName: removed"},
		{"a field that becomes required is reported", edit(func(s *apiextensionsv1.JSONSchemaProps) {
			s.Required = append(s.Required, "displayName")
		}), ".spec.displayName: became required"},
		{"a field whose type changes is reported", edit(func(s *apiextensionsv1.JSONSchemaProps) {
			field(s, "disabled", func(p *apiextensionsv1.JSONSchemaProps) { p.Type = "string" })
		}), `.spec.disabled: type changed from "boolean" to "string"`},
		{"a lower maxLength is reported", edit(func(s *apiextensionsv1.JSONSchemaProps) {
			field(s, "displayName", func(p *apiextensionsv1.JSONSchemaProps) { p.MaxLength = ptr.To[int64](3) })
		}), ".spec.displayName: maxLength tightened"},
		{"a new enum on a free field is reported", edit(func(s *apiextensionsv1.JSONSchemaProps) {
			field(s, "displayName", func(p *apiextensionsv1.JSONSchemaProps) {
				p.Enum = []apiextensionsv1.JSON{{Raw: []byte(`"Alice"`)}}
			})
		}), ".spec.displayName: an enum now limits"},
		{"a removed field deep in a list item is reported", edit(func(s *apiextensionsv1.JSONSchemaProps) {
			field(s, "applicationRoles", func(p *apiextensionsv1.JSONSchemaProps) {
				items := p.Items.Schema.DeepCopy()
				delete(items.Properties, "roles")
				p.Items = &apiextensionsv1.JSONSchemaPropsOrArray{Schema: items}
			})
		}), ".spec.applicationRoles[*].roles: removed"},
		{"a version that is no longer served is reported", func(c *apiextensionsv1.CustomResourceDefinition) {
			c.Spec.Versions[0].Served = false
		}, "version no longer served"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next := base.DeepCopy()
			tc.change(next)
			var found []string
			for _, i := range CompareCRDs(base, next) {
				found = append(found, i.String())
			}
			if !strings.Contains(strings.Join(found, "\n"), tc.want) {
				t.Errorf("want an incompatibility containing %q, got %q", tc.want, found)
			}
		})
	}

	t.Run("a narrower enum is reported", func(t *testing.T) {
		prev := crd(t, "organizations.iam.orgkeeper.io")
		var enumPath string
		next := prev.DeepCopy()
		removeFirstEnumValue(next.Spec.Versions[0].Schema.OpenAPIV3Schema, "", &enumPath)
		if enumPath == "" {
			t.Fatal("the Organization CRD has no enum any more; pick another CRD for this test")
		}
		var found []string
		for _, i := range CompareCRDs(prev, next) {
			found = append(found, i.String())
		}
		if !strings.Contains(strings.Join(found, "\n"), enumPath+": enum value") {
			t.Errorf("want the enum at %s reported, got %q", enumPath, found)
		}
	})

	t.Run("added fields and wider enums are compatible", func(t *testing.T) {
		next := base.DeepCopy()
		s := spec(next)
		s.Properties["newField"] = apiextensionsv1.JSONSchemaProps{Type: "string"}
		setSpec(next, s)
		if got := CompareCRDs(base, next); len(got) != 0 {
			t.Errorf("an added optional field should be compatible, got %v", got)
		}
	})
}

func crd(t *testing.T, name string) *apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	crds, err := config.CRDs()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range crds {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no CRD %s", name)
	return nil
}

// removeFirstEnumValue drops the first value of the first enum with two or
// more values it finds (properties in name order), and says where.
func removeFirstEnumValue(s *apiextensionsv1.JSONSchemaProps, path string, where *string) {
	if len(s.Enum) >= 2 {
		s.Enum = s.Enum[1:]
		*where = path
		return
	}
	for _, name := range sortedKeys(s.Properties) {
		p := s.Properties[name]
		removeFirstEnumValue(&p, join(path, name), where)
		s.Properties[name] = p
		if *where != "" {
			return
		}
	}
}

func TestLostNamesWhatAnObjectNoLongerHas(t *testing.T) {
	was := map[string]any{
		"metadata": map[string]any{"name": "acme", "resourceVersion": "1", "labels": map[string]any{"team": "a"}},
		"spec":     map[string]any{"displayName": "ACME", "domains": []any{"acme.example"}, "branding": map[string]any{"primaryColor": "#D2281E"}},
	}
	for _, tc := range []struct {
		name string
		is   map[string]any
		want []string
	}{
		{"the same object with a new resourceVersion and a new defaulted field loses nothing", map[string]any{
			"metadata": map[string]any{"name": "acme", "resourceVersion": "2", "labels": map[string]any{"team": "a"}},
			"spec":     map[string]any{"displayName": "ACME", "domains": []any{"acme.example"}, "branding": map[string]any{"primaryColor": "#D2281E"}, "new": true},
		}, nil},
		{"a pruned nested field and a changed list are both named", map[string]any{
			"metadata": map[string]any{"name": "acme", "labels": map[string]any{"team": "a"}},
			"spec":     map[string]any{"displayName": "ACME", "domains": []any{}, "branding": map[string]any{}},
		}, []string{".spec.domains", ".spec.branding.primaryColor"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := strings.Join(lost(was, tc.is, ""), "\n")
			if tc.want == nil && got != "" {
				t.Errorf("want no loss, got %s", got)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("want %s named, got %q", w, got)
				}
			}
		})
	}
}
