package snapshot

// Where the credential store keeps a user's secrets. The OrgUser reconciler
// writes one Secret per user in the system namespace; Build reads it. Nothing
// of it ever appears in the organization's namespace, in status or in logs.
const (
	// CredentialSecretPrefix starts the name of every credential Secret; the
	// rest is the user's ID (OrgUser metadata.uid), see CredentialSecretName.
	CredentialSecretPrefix = "orgkeeper-cred-"

	// CredentialPasswordKey is the data key that holds the user's password
	// hash, an argon2id hash in the PHC string format
	// ($argon2id$v=19$m=...,t=...,p=...$<salt>$<hash>). Absent: the user has
	// no password (invited, or federated only).
	CredentialPasswordKey = "argon2id"

	// CredentialTOTPKey is the data key that holds the user's TOTP shared
	// secret, base32 encoded as in otpauth:// URIs. Absent: the user has not
	// enrolled a second factor.
	CredentialTOTPKey = "totp"

	// LabelCredentialUser labels every credential Secret with the user's ID,
	// so that the projection can watch exactly these Secrets of the system
	// namespace (label selector LabelCredentialUser, existence).
	LabelCredentialUser = "iam.orgkeeper.io/credential-user"
)

// CredentialSecretName is the name of the Secret in the system namespace that
// holds the credentials of the user with the given ID (OrgUser metadata.uid,
// which is also User.ID and the sub claim).
func CredentialSecretName(userID string) string { return CredentialSecretPrefix + userID }

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

// reservedGroupPrefixes are group names that Kubernetes or Orgkeeper grant
// privileges by; a user's own groups never carry them.
var reservedGroupPrefixes = []string{"system:", "orgkeeper:"}
