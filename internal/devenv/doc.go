// Package devenv runs a Kubernetes control plane on this machine, with no
// cluster: etcd and kube-apiserver (through controller-runtime's envtest), and
// optionally kube-controller-manager with only the namespace and garbage
// collector controllers, so that namespace deletions and owner-reference
// cascades complete as they do in a cluster.
//
// `orgkeeper dev` and the test suites use it. Start installs Orgkeeper's CRDs
// and the orgkeeper-org-admin ClusterRole from the embedded manifests, with
// RBAC authorization on, so SubjectAccessReviews and impersonated requests are
// answered as a cluster would. ApplyObjects, EnsureNamespace and WaitForReady
// bring a demo world up on it.
//
// The binaries come from Options.AssetsDir, $KUBEBUILDER_ASSETS, or
// hack/envtest/build.sh (found by walking up from the working directory), which
// builds them once from Go modules (`make envtest`).
//
// Every process Start launches runs in its own process group and is ended by
// Stop (idempotent) or, at once, by Kill. Their pids are recorded in the state
// directory, so a later Start with the same directory ends what a killed
// predecessor left behind.
package devenv
