// Package bench holds benchmarks that need the whole product: a real
// kube-apiserver (envtest), the operator and the issuer, wired by
// internal/app exactly as `orgkeeper manager` wires them. Run them with
// `make bench`.
package bench
