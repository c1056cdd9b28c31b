package chart

import (
	"slices"
	"testing"
)

// The MutatingAdmissionPolicy that puts the operator's finalizer on new
// Organizations is served by Kubernetes from 1.36: the chart renders it
// there and leaves it out before, where installing it would fail.
func TestTheFinalizerPolicyIsRenderedFromKubernetes136(t *testing.T) {
	policy := "MutatingAdmissionPolicy/orgkeeper-organization-finalizer"
	binding := "MutatingAdmissionPolicyBinding/orgkeeper-organization-finalizer"
	for version, want := range map[string]bool{"v1.30.4": false, "v1.35.2": false, "v1.36.0": true, "v1.37.1-gke.100": true} {
		r, err := renderWith(t, "", renderOptions{kubeVersion: version})
		if err != nil {
			t.Fatalf("rendering for %s: %v", version, err)
		}
		if got := slices.Contains(r.kinds(), policy); got != want {
			t.Errorf("Kubernetes %s: the policy rendered = %v, want %v", version, got, want)
		}
		if got := slices.Contains(r.kinds(), binding); got != want {
			t.Errorf("Kubernetes %s: the binding rendered = %v, want %v", version, got, want)
		}
	}
}
