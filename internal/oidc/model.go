package oidc

// This file is the only place that knows the shape of the serving snapshot.
// Everything else asks it who a client, user or organization is and whether
// a grant is still allowed.

import (
	"errors"
	"fmt"
	"time"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/keys"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
)

// SnapshotGetter returns the snapshot currently served (nil before the first
// one is published). *snapshot.Store is one.
type SnapshotGetter interface {
	Load() *snapshot.Snapshot
}

// KeySetGetter returns the signing keys currently served (nil before they are
// loaded).
type KeySetGetter interface {
	KeySet() *keys.KeySet
}

// StaticKeys is a KeySetGetter that always returns the same set, for tests
// and for callers that swap the whole Storage when keys rotate.
type StaticKeys struct{ Set *keys.KeySet }

// KeySet implements KeySetGetter.
func (s StaticKeys) KeySet() *keys.KeySet { return s.Set }

// errNotAllowed is why a user may not (or no longer) get tokens for a client.
// Its message is safe to show to the client.
var errNotAllowed = errors.New("not allowed")

// userGrant is a user acting for an organization at a client, resolved
// against one snapshot.
type userGrant struct {
	client *snapshot.Client
	user   *snapshot.User
	org    *snapshot.Org
}

// resolveUserGrant looks up the client, the user and the organization (the
// user's own when orgID is empty) and checks that the user may hold tokens
// for the client now: the user exists and is not disabled, the
// organization (and every ancestor) is not suspended and the client is
// shared with it. Users act only for their own organization here; an
// administrator acting in a descendant after an organization switch is
// resolved by resolveSwitch (token_exchange.go).
//
// A lock (status.lockedUntil, after repeated wrong passwords) is not
// checked here: it stops password verification, not what a sign-in before
// it earned. Otherwise anyone who knows a user's email could cut the user's
// sessions and tokens off, again and again, by typing wrong passwords.
func resolveUserGrant(snap *snapshot.Snapshot, clientID, userID, orgID string, now time.Time) (userGrant, error) {
	c := snap.Client(clientID)
	if c == nil {
		return userGrant{}, fmt.Errorf("%w: client %q is not served", errNotAllowed, clientID)
	}
	u := snap.UserByID(userID)
	if u == nil || u.Org == nil {
		return userGrant{}, fmt.Errorf("%w: the user no longer exists", errNotAllowed)
	}
	if u.Disabled {
		return userGrant{}, fmt.Errorf("%w: the user is disabled", errNotAllowed)
	}
	org := u.Org
	if orgID != "" && orgID != org.ID {
		return userGrant{}, fmt.Errorf("%w: the user does not belong to the organization", errNotAllowed)
	}
	if err := checkOrgForClient(c, org); err != nil {
		return userGrant{}, err
	}
	return userGrant{client: c, user: u, org: org}, nil
}

// checkOrgForClient checks that tokens of the client may be issued for org.
func checkOrgForClient(c *snapshot.Client, org *snapshot.Org) error {
	if org == nil {
		return fmt.Errorf("%w: unknown organization", errNotAllowed)
	}
	if org.Suspended {
		return fmt.Errorf("%w: the organization is suspended", errNotAllowed)
	}
	if !c.SharedWith(org.Name) {
		return fmt.Errorf("%w: the application is not shared with the organization", errNotAllowed)
	}
	return nil
}

// grantTypesOf maps the client's allowed grants to what this server
// implements.
func grantTypesOf(c *snapshot.Client) []iamv1.GrantType {
	out := make([]iamv1.GrantType, 0, len(c.GrantTypes))
	for _, g := range c.GrantTypes {
		switch g {
		case iamv1.GrantTypeAuthorizationCode, iamv1.GrantTypeRefreshToken, iamv1.GrantTypeClientCredentials,
			iamv1.GrantTypeTokenExchange:
			out = append(out, g)
		}
	}
	return out
}
