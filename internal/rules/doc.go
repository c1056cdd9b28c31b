// Package rules is Orgkeeper's decision layer: pure functions that decide
// one fact each (who holds a contested email, client ID or domain, which
// organizations an application is shared with, which groups a token may
// carry, where a user's credentials live). The reconcilers, which write what
// a status says, and snapshot.Build, which decides what the issuer serves,
// both call these functions, so the two cannot disagree.
//
// Nothing here reads the API server, a clock or a random source: every
// input is an argument, and every function is table-tested.
package rules
