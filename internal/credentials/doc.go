// Package credentials holds what Orgkeeper knows about storing users'
// passwords: argon2id hashing in the PHC string format, and the layout of the
// credential Secret that keeps each OrgUser's hash in the system namespace.
//
// # Hashing
//
// Hash derives a 32-byte argon2id key from the password and a fresh 16-byte
// random salt with the OWASP parameters (m=19 MiB, t=2, p=1) and encodes the
// result as
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>
//
// (salt and key in unpadded standard base64, as the PHC format specifies).
// Verify recomputes the key with the parameters stored in the string and
// compares in constant time, so hashes made with other parameters (older
// defaults, or stronger ones later) keep verifying. Verify parses strictly:
// only the canonical form above is accepted, and parameters are capped
// (memory at 64 MiB, time at 16, parallelism at 16, salt and key lengths) so
// that a hostile or corrupted hash cannot make the server allocate gigabytes
// or spin for minutes. Malformed input is an error, never a panic.
//
// # The credential Secret
//
// Password hashes never live in an organization's namespace, in status, in
// events or in logs. Each OrgUser with a password has one Secret in the
// system namespace, named SecretName(uid) after the OrgUser's UID (so a user
// deleted and re-created under the same name starts without credentials),
// labelled with SecretLabels, holding the encoded hash under PasswordHashKey.
// The OrgUser reconciler writes it; the snapshot builder reads it. Because a
// Secret cannot have an owner reference to an object in another namespace,
// the OrgUser carries Finalizer until the reconciler has deleted the Secret.
//
// This package talks to no API server and imports no controller code, so the
// login server may use it.
package credentials
