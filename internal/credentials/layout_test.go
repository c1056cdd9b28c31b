package credentials_test

import (
	"testing"

	"github.com/orgkeeper/orgkeeper/internal/credentials"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
)

// TestLayoutAgreesWithSnapshot: the reconciler writes credential Secrets by
// this package's layout and the snapshot builder reads them by its own
// constants; they must name the same things.
func TestLayoutAgreesWithSnapshot(t *testing.T) {
	for _, tc := range []struct{ name, ours, theirs string }{
		{"secret name", credentials.SecretName("4f9a"), snapshot.CredentialSecretName("4f9a")},
		{"password key", credentials.PasswordHashKey, snapshot.CredentialPasswordKey},
		{"TOTP key", credentials.TOTPKey, snapshot.CredentialTOTPKey},
		{"user label", credentials.LabelCredentialUser, snapshot.LabelCredentialUser},
	} {
		if tc.ours != tc.theirs {
			t.Errorf("%s: credentials has %q, snapshot %q", tc.name, tc.ours, tc.theirs)
		}
	}
}
