// Package redisstore is a session.Store on Redis, for running several
// replicas of the issuer: a sign-in started on one replica finishes on any
// other, and a refresh token rotates once whichever replica sees it.
//
// Every record is a Redis hash holding the record as JSON (so fields added to
// the session types are stored without changes here) and its expiry. Each
// change that must be atomic (consuming a code, rotating a refresh token,
// revoking a family, counting a failure) is one Lua script; updates of auth
// requests and login sessions are optimistic compare-and-set updates with a
// bounded number of retries. Expiry is decided by the record's ExpiresAt
// against the store's clock; Redis TTLs (a minute later) remove records
// nobody reads again, and GC sweeps the rest.
//
// Keys start with a prefix (DefaultPrefix), so one Redis database can hold
// several installations. Bearer secrets appear in keys only as
// session.HashSecret of the value. The store uses one Redis node (or a
// Sentinel-managed primary); Redis Cluster is not supported because a
// rotation touches keys of one family that are not hash-tagged together.
package redisstore
