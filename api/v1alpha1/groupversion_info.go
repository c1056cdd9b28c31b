// Package v1alpha1 holds the Orgkeeper API: Organization, OrgUser,
// SharedApplication and IdentityProvider in the group iam.orgkeeper.io.
//
// The doc comments on these types are the user manual: controller-gen turns them
// into the CRD descriptions that `kubectl explain` shows.
//
// +kubebuilder:object:generate=true
// +groupName=iam.orgkeeper.io
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of every kind in this package.
	GroupVersion = schema.GroupVersion{Group: "iam.orgkeeper.io", Version: "v1alpha1"}

	// SchemeBuilder registers the kinds of this package with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the kinds of this package to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
