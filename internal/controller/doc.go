// Package controller holds Orgkeeper's reconcilers, one per kind, and the pure
// functions that decide their conditions (<kind>_status.go).
//
// Reconcilers are the only code that writes to the API server. Each follows the
// same shape: fetch the object, add the finalizer, compute the outcome of a
// short list of phases, and send one status patch from a deferred function,
// setting observedGeneration only when the pass succeeded.
package controller
