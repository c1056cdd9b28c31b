package rules

import "strings"

// KubePrefix starts every Kubernetes user and group name that kube-apiserver
// gives to a holder of this issuer's tokens, by the authentication
// configuration that kubeauth.Config writes. The operator's RoleBindings
// name KubeUser and KubeGroup, never a raw claim value, so the two always
// agree, and nothing a token carries can become a name outside this
// prefix: not system:masters, not a group that the cluster's own identity
// provider reports, not a user of another authenticator.
const KubePrefix = "orgkeeper:"

// KubeGroup is the Kubernetes group of a token whose groups claim carries
// group: KubePrefix followed by the claim value, so the admin group
// orgkeeper:org:acme:admins becomes orgkeeper:orgkeeper:org:acme:admins.
// The groups claim never carries a user-chosen name starting with
// orgkeeper: (TokenGroups drops reserved names), so only the issuer's own
// admin groups land in KubeGroup(AdminGroup(...)).
func KubeGroup(group string) string { return KubePrefix + group }

// KubeUser is the Kubernetes user name of the user of organization org
// whose username (preferred_username: spec.username, or the email) is
// username: orgkeeper:<org>:<username>, the username in ASCII lower case.
//
// Why the organization is part of it: usernames and emails are unique
// within an organization only (any organization's admin may create a user
// alice@acme.example), and the organization's name has no colon, so the
// user name of one organization's user can never be that of another's.
// Lower case, because Orgkeeper compares identifiers without case while
// RBAC compares names exactly.
func KubeUser(org, username string) string { return KubePrefix + org + ":" + lowerASCII(username) }

// lowerASCII is CEL's lowerAscii, which the authentication configuration
// applies to the claim: only A-Z change.
func lowerASCII(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, s)
}

// KubeSwitchedUser is the Kubernetes user name of a token that an
// administrator of actorOrg obtained by switching into target (token
// exchange; the token's act claim names actorOrg):
// orgkeeper:<actorOrg>/<target>:<username>. It is never a KubeUser: the
// part after the prefix holds a slash, which no organization name has, so
// a switched administrator never holds the RoleBindings of the target's
// user who happens to (or is made to) have the same username, and
// kube-apiserver's audit log names the administrator's own organization.
func KubeSwitchedUser(actorOrg, target, username string) string {
	return KubePrefix + actorOrg + "/" + target + ":" + lowerASCII(username)
}
