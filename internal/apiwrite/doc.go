// Package apiwrite is the OIDC server's one sanctioned path to write to the
// Kubernetes API. The server side declares narrow interfaces for what it
// needs recorded (login.LockoutRecorder today; federated links, just-in-time
// users, accepted invitations, MFA enrolment and password resets next);
// Writer implements them outside both the server and the reconcilers.
//
// A request never waits for the API server: it hands the write to a bounded
// queue and goes on. One worker per replica applies the writes. Every write
// is idempotent and merges with what is stored (a lockout keeps the later
// lockedUntil), uses optimistic concurrency (the patch carries the
// resourceVersion it was computed from) and is retried with backoff a
// bounded number of times on conflicts and transient errors. So every
// replica may write at once: conflicting writes are recomputed from the
// newer object and converge. Nothing is lost silently: a full queue, a write
// that fails for good and writes still queued at shutdown are logged and
// counted in the orgkeeper_apiwrite_total metric.
package apiwrite
