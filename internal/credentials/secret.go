package credentials

import (
	"k8s.io/apimachinery/pkg/util/validation"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
)

// The credential Secret's layout, in one place: the OrgUser reconciler
// writes credential Secrets by these names and internal/snapshot reads them
// by the same constants (its Credential* names refer to these), so the
// writer and the reader cannot drift apart.
const (
	// SecretNamePrefix starts the name of every credential Secret.
	SecretNamePrefix = "orgkeeper-cred-"
	// PasswordHashKey is the data key of the PHC-encoded argon2id hash.
	// Absent: the user has no password (invited, or federated only).
	PasswordHashKey = "argon2id"
	// TOTPKey is the data key of the user's TOTP shared secret (base32, as
	// in otpauth:// URIs). Absent: no second factor enrolled.
	TOTPKey = "totp"
	// LabelCredentialUser carries the OrgUser's UID on every credential
	// Secret; the projection watches the system namespace's Secrets that
	// have it.
	LabelCredentialUser = "iam.orgkeeper.io/credential-user"
	// LabelOrgUser names the OrgUser (metadata.name) a credential Secret
	// belongs to; LabelOrganization names its organization, which is also
	// the OrgUser's namespace.
	LabelOrgUser = "iam.orgkeeper.io/orguser"
	// LabelOrganization is api/v1alpha1.LabelOrganization.
	LabelOrganization = iamv1.LabelOrganization
	// LabelManagedBy and ManagedByValue are their api/v1alpha1 namesakes.
	LabelManagedBy = iamv1.LabelManagedBy
	ManagedByValue = iamv1.ManagedByValue
	// Finalizer holds an OrgUser until its credential Secret is deleted.
	Finalizer = "iam.orgkeeper.io/credentials"
)

// SecretName is the name of the credential Secret of the OrgUser with this
// metadata.uid, in the system namespace.
func SecretName(uid string) string { return SecretNamePrefix + uid }

// SecretLabels are the labels of the credential Secret of the OrgUser with
// that name and metadata.uid in the organization's namespace. An OrgUser
// name longer than a label value allows (63 characters) is left out of
// LabelOrgUser; the UID is what identifies the user.
func SecretLabels(organization, user, uid string) map[string]string {
	l := map[string]string{
		LabelManagedBy:      ManagedByValue,
		LabelOrganization:   organization,
		LabelCredentialUser: uid,
	}
	if len(validation.IsValidLabelValue(user)) == 0 {
		l[LabelOrgUser] = user
	}
	return l
}
