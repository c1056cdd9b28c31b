// Package keys manages the OIDC server's signing keys as plain values: it
// generates ES256 (P-256) and RS256 (RSA 2048) keys, models the current and
// previous key of each algorithm as an immutable KeySet, rotates it with
// overlap, stores it in a Kubernetes Secret's data and loads it back, and
// presents it to zitadel/oidc (op.SigningKey, op.Key) and to relying parties
// (a JWKS).
//
// Who does what: the leader's reconciler calls Rotate and writes SecretData to
// the Secret in the system namespace; every replica reads the Secret through
// the snapshot with FromSecretData and serves SigningKey, PublicKeys and JWKS
// from the result. Nothing here talks to the API server or reads a clock: the
// caller passes "now".
//
// # Rotation and overlap
//
// Each algorithm has a current key, which signs, and at most one previous key,
// which is only published so that tokens it signed keep verifying. When the
// current key is at least one period old, Rotate makes a new current key and
// the old current key becomes the previous one, replacing (dropping) the key
// that was previous before. On a regular schedule a key therefore signs for
// one period and is published for one more: it is dropped once it is 2*period
// old. The key just retired is always kept for a full period, even when
// rotation was overdue (the operator was down), because other replicas may
// have signed with it until a moment ago.
//
// Key IDs are RFC 7638 JWK thumbprints (SHA-256, base64url), so the same key
// always has the same ID and a Secret cannot claim a wrong one.
package keys
