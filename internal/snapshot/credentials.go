package snapshot

import "github.com/orgkeeper/orgkeeper/internal/credentials"

// Where the credential store keeps a user's secrets. The OrgUser reconciler
// writes one Secret per user in the system namespace; Build reads it. The
// layout is internal/credentials' (the one place it is defined); these
// names refer to it for the snapshot's readers. Nothing of it ever appears
// in the organization's namespace, in status or in logs.
const (
	// CredentialSecretPrefix is credentials.SecretNamePrefix.
	CredentialSecretPrefix = credentials.SecretNamePrefix
	// CredentialPasswordKey is credentials.PasswordHashKey: the data key of
	// the user's argon2id hash in the PHC string format. Absent: the user has
	// no password (invited, or federated only).
	CredentialPasswordKey = credentials.PasswordHashKey
	// CredentialTOTPKey is credentials.TOTPKey: the data key of the user's
	// TOTP shared secret. Absent: no second factor enrolled.
	CredentialTOTPKey = credentials.TOTPKey
	// LabelCredentialUser is credentials.LabelCredentialUser, with which the
	// projection selects the credential Secrets of the system namespace.
	LabelCredentialUser = credentials.LabelCredentialUser
)

// CredentialSecretName is credentials.SecretName: the name of the Secret in
// the system namespace that holds the credentials of the user with the given
// ID (OrgUser metadata.uid, which is also User.ID and the sub claim).
func CredentialSecretName(userID string) string { return credentials.SecretName(userID) }

// Names the server and the controllers agree on for application secrets.
const (
	// ClientSecretKey is the data key of a SharedApplication's client secret,
	// both in the generated Secret and in a Secret named by
	// spec.clientSecretRef.
	ClientSecretKey = "client-secret"
	// ClientIDKey is the data key of the client ID in the generated Secret.
	ClientIDKey = "client-id"
	// GeneratedClientSecretSuffix makes the name of the generated Secret of a
	// SharedApplication: <name>-oidc-client.
	GeneratedClientSecretSuffix = "-oidc-client"
)

// GeneratedClientSecretName is the name of the Secret, in the application's
// namespace, that the SharedApplication reconciler generates when
// spec.clientSecretRef is unset.
func GeneratedClientSecretName(application string) string {
	return application + GeneratedClientSecretSuffix
}

// AdminRole is the organization role (OrgUser spec.roles) that makes a user
// an administrator of the organization.
const AdminRole = "admin"
