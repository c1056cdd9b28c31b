package main

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/utils/ptr"
)

// TestCommittedReferenceIsCurrent fails when docs/reference is not what
// `make docs` renders from config/crd/bases, so a change to the API cannot
// be merged with a stale reference.
func TestCommittedReferenceIsCurrent(t *testing.T) {
	const crdDir, refDir = "../../config/crd/bases", "../../docs/reference"
	want, err := render(crdDir, "../../api/v1alpha1/conditions.go")
	if err != nil {
		t.Fatal(err)
	}
	committed, err := filepath.Glob(filepath.Join(refDir, "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	var gotNames, wantNames []string
	for _, f := range committed {
		gotNames = append(gotNames, filepath.Base(f))
	}
	for name := range want {
		wantNames = append(wantNames, name)
	}
	sort.Strings(wantNames)
	if diff := cmp.Diff(wantNames, gotNames); diff != "" {
		t.Errorf("docs/reference has the wrong files; run `make docs` and commit (-want +got):\n%s", diff)
	}
	for _, name := range wantNames {
		got, err := os.ReadFile(filepath.Join(refDir, name))
		if err != nil {
			continue // reported above
		}
		if diff := cmp.Diff(string(want[name]), string(got)); diff != "" {
			t.Errorf("docs/reference/%s is stale; run `make docs` and commit (-want +got):\n%s", name, diff)
		}
	}
}

func TestReferenceCoversEveryKindAndField(t *testing.T) {
	files, err := render("../../config/crd/bases", "../../api/v1alpha1/conditions.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range kindOrder {
		page := string(files[strings.ToLower(kind)+".md"])
		if page == "" {
			t.Fatalf("no page for %s", kind)
		}
		if !strings.Contains(string(files["README.md"]), "]("+strings.ToLower(kind)+".md)") {
			t.Errorf("the index does not link to %s", kind)
		}
	}
	// A field deep in the tree, its default and its enum must be there.
	page := string(files["sharedapplication.md"])
	for _, want := range []string{
		"### `spec.sharing.mode`\n\n`string` · optional · default `None` · one of `None`, `All`, `Selected`",
		"### `spec.roles[].name`\n\n`string` · **required**",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("sharedapplication.md lacks %q", want)
		}
	}
}

func TestFieldFactsReadLikeYAML(t *testing.T) {
	str := apiextensionsv1.JSONSchemaProps{Type: "string"}
	cases := []struct {
		name  string
		in    apiextensionsv1.JSONSchemaProps
		typ   string
		rules []string
	}{
		{"a list of strings is []string and a set says so",
			apiextensionsv1.JSONSchemaProps{Type: "array", Items: &apiextensionsv1.JSONSchemaPropsOrArray{Schema: &str},
				MaxItems: ptr.To[int64](4), XListType: ptr.To("set")},
			"[]string", []string{"at most 4 items", "a set: each value at most once"}},
		{"a map of strings is map[string]string",
			apiextensionsv1.JSONSchemaProps{Type: "object", AdditionalProperties: &apiextensionsv1.JSONSchemaPropsOrBool{Schema: &str}},
			"map[string]string", nil},
		{"a bounded formatted string names its format and both bounds",
			apiextensionsv1.JSONSchemaProps{Type: "string", Format: "date-time", MinLength: ptr.To[int64](1), MaxLength: ptr.To[int64](9)},
			"string (date-time)", []string{"1 to 9 characters"}},
		{"an enum lists its values as written in YAML",
			apiextensionsv1.JSONSchemaProps{Type: "string", Enum: []apiextensionsv1.JSON{{Raw: []byte(`"A"`)}, {Raw: []byte(`"B"`)}}},
			"string", []string{"one of `A`, `B`"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := typeName(c.in); got != c.typ {
				t.Errorf("type %q, want %q", got, c.typ)
			}
			if diff := cmp.Diff(c.rules, constraints(c.in)); diff != "" {
				t.Errorf("constraints (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlaceholdersSurviveMarkdown(t *testing.T) {
	for in, want := range map[string]string{
		"orgkeeper:org:<name>:admins": "orgkeeper:org:&lt;name&gt;:admins",
		"'kube-*' and 'orgkeeper-*'":  `'kube-\*' and 'orgkeeper-\*'`,
	} {
		if got := escape(in); got != want {
			t.Errorf("escape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestConstantDocsLoseTheirGoNameButKeepTheKind(t *testing.T) {
	cases := []struct{ name, constant, doc, want string }{
		{"a reason's leading name and colon are dropped and the sentence capitalised",
			"ReasonDeleting", "ReasonDeleting: the object is being deleted.", "The object is being deleted."},
		{"the kinds in parentheses stay, as the row's first words",
			"ReasonDuplicateEmail", "ReasonDuplicateEmail (OrgUser): another OrgUser has the email.", "OrgUser: another OrgUser has the email."},
		{"a field name at the start keeps its case",
			"ReasonX", "ReasonX: deletionPolicy is Block.", "deletionPolicy is Block."},
		{"a doc that does not start with the name is kept whole, without markers",
			"ManagedByValue", "The value of the label.\n+kubebuilder:validation:Enum=a", "The value of the label."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := constDoc(c.constant, c.doc); got != c.want {
				t.Errorf("constDoc = %q, want %q", got, c.want)
			}
		})
	}
}
