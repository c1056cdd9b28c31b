// Package audit records security events: one structured line per sign-in,
// lockout, refresh token reuse, logout, machine token, federated link or
// provisioning, and admin change seen by the operator.
//
// The server packages hold a Sink (an interface of one method) and call it
// once per event; internal/app wires the LogSink, which writes each event
// as one JSON line through the manager's logger under the name "audit".
// Tests pass a Sink that captures events.
//
// An Event carries identifiers only: organization handle, client ID, the
// user's ID (the sub claim), the client address, the request ID, a result
// and a reason from a fixed vocabulary. It has no field for anything a
// user typed, and never a password, token, code, cookie or secret.
//
// Middleware gives every request a request ID (an incoming X-Request-Id
// when it is short and plain, else a random one) and records it with the
// client address in the request's context, where the LogSink finds them.
package audit
