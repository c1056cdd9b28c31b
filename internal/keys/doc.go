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
// Each algorithm has a current key, which signs, at most one previous key and
// one next key, which are only published. When the current key is at least
// one period old, Rotate makes the next key current, the old current key the
// previous one (dropping the key that was previous before) and a new next
// key. On a regular schedule a key is therefore published for one period
// before it signs, signs for one period, and is published for one more: it
// is dropped once it is 3*period old.
//
// Both overlaps exist for replicas. The previous key is kept for a full
// period, even when rotation was overdue (the operator was down), because
// other replicas may have signed with it until a moment ago. The next key is
// published ahead because replicas load a rotated Secret at slightly
// different moments: a token that a replica which has loaded it signs with
// the new current key must verify against the JWKS of a replica which has
// not, and that JWKS has listed the key (as next) for a period already.
//
// Next keys are kept under their own index in the Secret (NextIndexKey), so
// that an earlier release, which reads only IndexKey, still loads a Secret
// written by this one; a set loaded from a Secret without next keys gets
// them at the next Rotate.
//
// Key IDs are RFC 7638 JWK thumbprints (SHA-256, base64url), so the same key
// always has the same ID and a Secret cannot claim a wrong one.
package keys
