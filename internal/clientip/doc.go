// Package clientip finds the address of the client that sent a request,
// through the reverse proxies the operator trusts (--trusted-proxies).
//
// Behind a TLS-terminating proxy every request comes from the proxy, so a
// per-address limit keyed by the peer would put all users in one bucket.
// The proxy reports the client in X-Forwarded-For or Forwarded (RFC 7239),
// but anyone can send those headers: they are honoured only when the
// direct peer is a trusted proxy, and then only as far as the chain of
// trusted proxies goes. The client is the right-most address that is not
// a trusted proxy: everything to its left was written by the client itself
// and proves nothing.
package clientip
