// Package validation holds the pure validators that the reconcilers, the
// snapshot builder and the OIDC server share: names, domains, URLs, colors and
// email addresses.
//
// The CRD schemas in api/v1alpha1 check the same things with CEL rules, so a
// wrong field is normally refused by the API server already. These functions
// exist for what the schema cannot see (values from flags, upstream identity
// providers and login forms) and as a second line for objects that were stored
// before a rule was tightened. Each returns nil or an error whose message is a
// sentence a user can act on; none of them panics, whatever the input.
package validation
