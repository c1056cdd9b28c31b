// Package telemetry declares Orgkeeper's own Prometheus metrics and the
// small functions that record them. The server packages (login, oidc,
// session, projection) hold a *Metrics and call its methods; a nil *Metrics
// records nothing, so a package or a test that does not care passes none.
//
// Every collector is registered on the Registerer given to New. The
// manager gives controller-runtime's registry, which it serves on
// --metrics-addr next to controller-runtime's own metrics; tests give a
// registry of their own, so that no state is shared between them.
//
// Cardinality is bounded by construction: no label ever holds a user ID,
// an email, a typed identifier or an address. Organization, client and
// identity provider labels take only names the snapshot serves (never what
// a request typed), and each is capped by a LabelLimiter: the first N
// distinct values seen keep their own series, every later one is counted
// under "other".
package telemetry
