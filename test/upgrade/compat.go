package upgrade

import (
	"fmt"
	"slices"
	"sort"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
)

// Incompatibility is one change between two versions of a CRD that can break
// objects stored under, or clients written for, the older one.
type Incompatibility struct {
	// CRD and Version name the CRD and the API version (v1alpha1).
	CRD, Version string
	// Path is the field, as a JSON path from the object's root
	// (.spec.login.mfa); empty for the CRD itself.
	Path string
	// Change says what changed, in words.
	Change string
}

func (i Incompatibility) String() string {
	if i.Path == "" {
		return fmt.Sprintf("%s %s: %s", i.CRD, i.Version, i.Change)
	}
	return fmt.Sprintf("%s %s %s: %s", i.CRD, i.Version, i.Path, i.Change)
}

// CompareCRDs lists what in next breaks objects valid under prev, or clients
// written for it, within each API version that prev serves:
//
//   - a served version no longer served, or a different scope or kind;
//   - a field removed (the API server prunes it from stored objects on read,
//     and from every write), or unknown fields no longer preserved;
//   - a field's type or format changed, or it is no longer nullable;
//   - a narrower enum (a value removed, or an enum where there was none);
//   - a field that became required (stored objects without it cannot be
//     updated any more);
//   - a tighter bound: maxLength, maxItems, maxProperties or maximum lowered
//     or added, minLength, minItems, minProperties or minimum raised or added;
//   - a changed pattern (which may refuse values that passed), or a changed
//     list type or list-map keys (server-side apply merges differently).
//
// Changes to CEL rules (x-kubernetes-validations) are not judged: Kubernetes
// ratchets them, so a stored value that a new rule refuses stays valid as
// long as an update leaves it unchanged. Fields, versions and values that
// next adds are compatible and not listed.
func CompareCRDs(prev, next *apiextensionsv1.CustomResourceDefinition) []Incompatibility {
	var out []Incompatibility
	crd := prev.Name
	if next.Spec.Scope != prev.Spec.Scope {
		out = append(out, Incompatibility{CRD: crd, Change: fmt.Sprintf("scope changed from %s to %s", prev.Spec.Scope, next.Spec.Scope)})
	}
	if next.Spec.Names.Kind != prev.Spec.Names.Kind || next.Spec.Names.Plural != prev.Spec.Names.Plural {
		out = append(out, Incompatibility{CRD: crd, Change: fmt.Sprintf("names changed from %s/%s to %s/%s",
			prev.Spec.Names.Kind, prev.Spec.Names.Plural, next.Spec.Names.Kind, next.Spec.Names.Plural)})
	}
	for _, pv := range prev.Spec.Versions {
		if !pv.Served {
			continue
		}
		nv := version(next, pv.Name)
		if nv == nil || !nv.Served {
			out = append(out, Incompatibility{CRD: crd, Version: pv.Name, Change: "version no longer served"})
			continue
		}
		if pv.Schema == nil || pv.Schema.OpenAPIV3Schema == nil {
			continue
		}
		if nv.Schema == nil || nv.Schema.OpenAPIV3Schema == nil {
			out = append(out, Incompatibility{CRD: crd, Version: pv.Name, Change: "schema removed"})
			continue
		}
		w := walker{crd: crd, version: pv.Name}
		w.walk("", pv.Schema.OpenAPIV3Schema, nv.Schema.OpenAPIV3Schema)
		if pv.Subresources != nil && pv.Subresources.Status != nil && (nv.Subresources == nil || nv.Subresources.Status == nil) {
			w.add("", "the status subresource was removed")
		}
		out = append(out, w.found...)
	}
	return out
}

func version(crd *apiextensionsv1.CustomResourceDefinition, name string) *apiextensionsv1.CustomResourceDefinitionVersion {
	for i := range crd.Spec.Versions {
		if crd.Spec.Versions[i].Name == name {
			return &crd.Spec.Versions[i]
		}
	}
	return nil
}

type walker struct {
	crd, version string
	found        []Incompatibility
}

func (w *walker) add(path, format string, args ...any) {
	w.found = append(w.found, Incompatibility{CRD: w.crd, Version: w.version, Path: path, Change: fmt.Sprintf(format, args...)})
}

// walk compares the schema of one field in both versions, then every
// property, item and map value that prev has.
func (w *walker) walk(path string, prev, next *apiextensionsv1.JSONSchemaProps) {
	shown := path
	if shown == "" {
		shown = "."
	}
	if prev.Type != next.Type {
		w.add(shown, "type changed from %q to %q", prev.Type, next.Type)
	}
	if prev.Format != next.Format {
		w.add(shown, "format changed from %q to %q", prev.Format, next.Format)
	}
	if prev.XIntOrString != next.XIntOrString {
		w.add(shown, "x-kubernetes-int-or-string changed to %t", next.XIntOrString)
	}
	if prev.Nullable && !next.Nullable {
		w.add(shown, "no longer nullable")
	}
	if isTrue(prev.XPreserveUnknownFields) && !isTrue(next.XPreserveUnknownFields) {
		w.add(shown, "unknown fields are no longer preserved (stored ones would be pruned)")
	}
	if prev.Pattern != next.Pattern {
		w.add(shown, "pattern changed from %q to %q", prev.Pattern, next.Pattern)
	}
	if listType(prev) != listType(next) {
		w.add(shown, "x-kubernetes-list-type changed from %q to %q", listType(prev), listType(next))
	}
	if !slices.Equal(prev.XListMapKeys, next.XListMapKeys) {
		w.add(shown, "x-kubernetes-list-map-keys changed from %v to %v", prev.XListMapKeys, next.XListMapKeys)
	}
	w.enum(shown, prev, next)
	w.bounds(shown, prev, next)
	for _, name := range next.Required {
		if !slices.Contains(prev.Required, name) {
			w.add(join(path, name), "became required")
		}
	}

	for _, name := range sortedKeys(prev.Properties) {
		p := prev.Properties[name]
		n, ok := next.Properties[name]
		if !ok {
			if !isTrue(next.XPreserveUnknownFields) {
				w.add(join(path, name), "removed")
			}
			continue
		}
		w.walk(join(path, name), &p, &n)
	}
	if prev.Items != nil && prev.Items.Schema != nil {
		if next.Items == nil || next.Items.Schema == nil {
			w.add(shown, "the schema of its items was removed")
		} else {
			w.walk(path+"[*]", prev.Items.Schema, next.Items.Schema)
		}
	}
	if prev.AdditionalProperties != nil && prev.AdditionalProperties.Schema != nil {
		if next.AdditionalProperties == nil || next.AdditionalProperties.Schema == nil {
			w.add(shown, "the schema of its values was removed")
		} else {
			w.walk(path+"[*]", prev.AdditionalProperties.Schema, next.AdditionalProperties.Schema)
		}
	}
}

// enum flags values that next no longer accepts.
func (w *walker) enum(path string, prev, next *apiextensionsv1.JSONSchemaProps) {
	if len(next.Enum) == 0 {
		return
	}
	if len(prev.Enum) == 0 {
		w.add(path, "an enum now limits a field that took any value")
		return
	}
	accepted := map[string]bool{}
	for _, v := range next.Enum {
		accepted[string(v.Raw)] = true
	}
	for _, v := range prev.Enum {
		if !accepted[string(v.Raw)] {
			w.add(path, "enum value %s removed", v.Raw)
		}
	}
}

// bounds flags limits that refuse values prev accepted.
func (w *walker) bounds(path string, prev, next *apiextensionsv1.JSONSchemaProps) {
	for _, b := range []struct {
		name       string
		prev, next *int64
		upper      bool
	}{
		{"maxLength", prev.MaxLength, next.MaxLength, true},
		{"maxItems", prev.MaxItems, next.MaxItems, true},
		{"maxProperties", prev.MaxProperties, next.MaxProperties, true},
		{"minLength", prev.MinLength, next.MinLength, false},
		{"minItems", prev.MinItems, next.MinItems, false},
		{"minProperties", prev.MinProperties, next.MinProperties, false},
	} {
		if tighter(b.prev, b.next, b.upper) {
			w.add(path, "%s tightened from %s to %d", b.name, show(b.prev), *b.next)
		}
	}
	if next.Maximum != nil && (prev.Maximum == nil || *next.Maximum < *prev.Maximum ||
		(next.ExclusiveMaximum && !prev.ExclusiveMaximum && *next.Maximum == *prev.Maximum)) {
		w.add(path, "maximum tightened to %v", *next.Maximum)
	}
	if next.Minimum != nil && (prev.Minimum == nil || *next.Minimum > *prev.Minimum ||
		(next.ExclusiveMinimum && !prev.ExclusiveMinimum && *next.Minimum == *prev.Minimum)) {
		w.add(path, "minimum tightened to %v", *next.Minimum)
	}
}

// tighter: an upper bound added or lowered, or a lower bound added (above
// zero) or raised.
func tighter(prev, next *int64, upper bool) bool {
	switch {
	case next == nil:
		return false
	case prev == nil:
		return upper || *next > 0
	case upper:
		return *next < *prev
	default:
		return *next > *prev
	}
}

func show(v *int64) string {
	if v == nil {
		return "none"
	}
	return fmt.Sprint(*v)
}

func listType(s *apiextensionsv1.JSONSchemaProps) string {
	if s.XListType == nil {
		if s.Type == "array" {
			return "atomic"
		}
		return ""
	}
	return *s.XListType
}

func isTrue(b *bool) bool { return b != nil && *b }

func join(path, name string) string { return path + "." + name }

func sortedKeys(m map[string]apiextensionsv1.JSONSchemaProps) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
