package rules

import "time"

// SessionsRevokedAt is the value a reconciler writes to
// status.sessionsRevokedAt when it ends every session of a user or an
// organization at now (spec.disabled or spec.suspended was set). Status
// times are stored to the second, so it rounds up to the next whole second:
// every session that authenticated up to now is then strictly before it
// (snapshot.User.SessionRevoked), and truncation cannot spare one.
func SessionsRevokedAt(now time.Time) time.Time {
	return now.Truncate(time.Second).Add(time.Second)
}
