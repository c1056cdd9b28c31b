// Package upgrade checks that upgrading Orgkeeper's CRDs loses nothing.
//
// Each folder testdata/<commit>/ holds the CRDs and sample objects of an
// earlier commit, copied by hack/upgrade-testdata.sh (make upgrade-testdata
// REV=<commit>), so that the tests need no git history. For each of them:
//
//   - CompareCRDs compares the earlier OpenAPI schemas with the current ones
//     and fails on any change that is not backward compatible within
//     v1alpha1 (a removed field, a narrower enum, a new required field, ...);
//   - the upgrade test installs the earlier CRDs on a real kube-apiserver,
//     stores objects valid under them, applies the current CRDs with
//     server-side apply (as an upgrade does), reads every object back to
//     check that nothing was lost or pruned, and runs the current manager
//     until it reconciles them.
package upgrade
