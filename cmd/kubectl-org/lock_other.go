//go:build !unix

package main

// lockFile is a no-op where flock does not exist: concurrent refreshes may
// then make the issuer revoke the sign-in, and the next command signs in
// again.
func lockFile(string) (func(), error) { return func() {}, nil }
