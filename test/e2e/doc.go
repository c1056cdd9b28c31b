// Package e2e is Orgkeeper's end-to-end acceptance suite.
//
// It runs the whole product in one process against a real control plane:
// envtest starts kube-apiserver and etcd (built by hack/envtest/build.sh),
// installs the CRDs from config/crd/bases, and a controller-runtime manager
// runs the reconcilers, the projection (API objects -> snapshot) and the
// OIDC server on a loopback port, exactly as `orgkeeper manager` wires them.
//
// The suite then applies a small world through the API, as a GitOps user
// would (organizations platform > acme > acme-eu and platform > globex,
// users with initial passwords, a confidential and a public
// SharedApplication), waits for Ready (which means "served"), and drives it
// only through its public surfaces:
//
//   - a relying party that this project did not write
//     (github.com/coreos/go-oidc/v3 for discovery and ID token verification,
//     golang.org/x/oauth2 for the code flow with PKCE, refresh and client
//     credentials);
//   - a tiny browser: an http.Client with a cookie jar that never follows
//     redirects on its own, so that each step (login pages, the redirect to
//     the relying party's redirect_uri) can be inspected; HTML forms are
//     parsed with golang.org/x/net/html and submitted with their hidden
//     fields (CSRF token, auth request ID), as a browser without JavaScript
//     would.
//
// Specs that change shared state (suspension, sharing, redirect URIs) restore
// it in DeferCleanup and wait for the restored state to be served, so the
// specs may run in any order. Nothing sleeps: convergence is awaited with
// Eventually.
//
// Run with:
//
//	KUBEBUILDER_ASSETS=$(hack/envtest/build.sh) go test ./test/e2e/...
package e2e
