// Package chart tests the Helm chart charts/orgkeeper: it renders the chart
// with Helm's Go library, checks what the values produce (and refuse),
// compares the default render with config/default rendered by kustomize,
// applies the rendered objects to a real kube-apiserver with server-side
// dry-run, and runs the manager with the rendered arguments.
package chart
