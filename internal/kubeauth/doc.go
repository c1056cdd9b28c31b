// Package kubeauth writes the kube-apiserver AuthenticationConfiguration
// (structured authentication, one JWT authenticator) that makes a cluster
// trust Orgkeeper's issuer for kubectl, and the kubeconfig that signs in
// through the kubectl-org plugin.
//
// The user and group names it maps tokens to come from internal/rules
// (KubeUser, KubeGroup), the same functions the Organization reconciler
// binds in its RoleBindings: the configuration and the RBAC cannot drift.
package kubeauth
