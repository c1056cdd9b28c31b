// Package dnsverify looks up the DNS TXT records by which organizations prove
// that they control their email domains, and serves such records on loopback
// for `orgkeeper dev` and tests.
//
// The Organization reconciler asks a TXTResolver; Resolver is the real one:
// the system's resolver by default, or one DNS server named by
// --dns-resolver, asked directly with github.com/miekg/dns. Every lookup is
// bounded in time and in how much of the answer is kept, and tells an
// answer that the record is absent (ErrNotFound) from a resolver that did
// not answer (any other error): only the first may take a verified domain
// away.
package dnsverify
