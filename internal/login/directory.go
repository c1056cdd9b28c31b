package login

import (
	"strings"
	"time"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
)

// This file is the only place that knows the snapshot's types. The rest of
// the package works with the small views below, so a change in the snapshot
// model is adjusted here.

// SnapshotSource gives the current serving snapshot; *snapshot.Store
// implements it. Load returns nil until the first snapshot is published.
type SnapshotSource interface {
	Load() *snapshot.Snapshot
}

var _ SnapshotSource = (*snapshot.Store)(nil)

// orgView is what the login pages need of an organization.
type orgView struct {
	Name        string
	ID          string
	DisplayName string
	Suspended   bool
	// Password is true when local password login is allowed.
	Password bool
	// MFA is the effective login.mfa; rules.AMRSatisfies says whether a
	// sign-in meets it.
	MFA      iamv1.MFAPolicy
	Branding brandingInput
	// SelfRegistration is the effective login.selfRegistration.
	SelfRegistration bool
}

// brandingInput is an organization's effective branding as the snapshot
// holds it; render turns it into safe page values.
type brandingInput struct {
	LogoURL, FaviconURL                      string
	PrimaryColor, BackgroundColor, TextColor string
}

// userView is what the password check needs of a user.
type userView struct {
	ID           string
	OrgName      string
	OrgID        string
	PasswordHash string
	Disabled     bool
	LockedUntil  time.Time
}

// directory answers the login pages' lookups from one snapshot, so that one
// request sees one consistent model.
type directory struct{ s *snapshot.Snapshot }

func (d directory) ready() bool { return d.s != nil }

func toOrgView(o *snapshot.Org) (orgView, bool) {
	if o == nil {
		return orgView{}, false
	}
	return orgView{
		Name:        o.Name,
		ID:          o.ID,
		DisplayName: o.DisplayName,
		Suspended:   o.Suspended,
		Password:    o.Login.Password,
		MFA:         o.Login.MFA,
		// Inherited like the rest of the login policy (snapshot build).
		SelfRegistration: o.Login.SelfRegistration,
		Branding: brandingInput{
			LogoURL:         o.Branding.LogoURL,
			FaviconURL:      o.Branding.FaviconURL,
			PrimaryColor:    o.Branding.PrimaryColor,
			BackgroundColor: o.Branding.BackgroundColor,
			TextColor:       o.Branding.TextColor,
		},
	}, true
}

func toUserView(u *snapshot.User) (userView, bool) {
	if u == nil || u.Org == nil {
		return userView{}, false
	}
	return userView{
		ID:           u.ID,
		OrgName:      u.Org.Name,
		OrgID:        u.Org.ID,
		PasswordHash: u.PasswordHash,
		Disabled:     u.Disabled,
		LockedUntil:  u.LockedUntil,
	}, true
}

// org returns the served organization with this handle.
func (d directory) org(name string) (orgView, bool) { return toOrgView(d.s.Org(name)) }

// orgByID returns the served organization with this ID (org_id).
func (d directory) orgByID(id string) (orgView, bool) { return toOrgView(d.s.OrgByID(id)) }

// orgForEmail routes an email address by its verified domain.
func (d directory) orgForEmail(email string) (orgView, bool) {
	if !strings.Contains(email, "@") {
		return orgView{}, false
	}
	return toOrgView(d.s.OrgForEmail(email))
}

// user finds the user of org that signs in with identifier (email or
// username, without regard to case).
func (d directory) user(org, identifier string) (userView, bool) {
	return toUserView(d.s.UserByLogin(org, identifier))
}

// userByID finds a user by ID (the sub claim), for SSO sessions.
func (d directory) userByID(id string) (userView, bool) { return toUserView(d.s.UserByID(id)) }

// sessionRevoked reports whether a login session of the user that
// authenticated at authTime was revoked (snapshot.User.SessionRevoked: the
// user was disabled, or an organization on its path suspended, since). An
// unknown user's sessions are revoked.
func (d directory) sessionRevoked(userID string, authTime time.Time) bool {
	u := d.s.UserByID(userID)
	return u == nil || u.SessionRevoked(authTime)
}

// client reports whether the client is served, and its display name.
func (d directory) client(id string) (name string, ok bool) {
	c := d.s.Client(id)
	if c == nil {
		return "", false
	}
	if c.DisplayName != "" {
		return c.DisplayName, true
	}
	return c.ID, true
}

// sharedWith reports whether users of org may sign in to the client: the
// client is shared with it, or org registered it.
func (d directory) sharedWith(clientID, org string) bool {
	c := d.s.Client(clientID)
	return c != nil && c.SharedWith(org)
}

// accountView is what the onboarding pages (invitation, reset) need of a
// user: who they are, and which OrgUser object to write.
type accountView struct {
	ID          string
	Name        string // OrgUser metadata.name
	OrgName     string // its organization, which is also its namespace
	Email       string
	Username    string
	DisplayName string
	HasPassword bool
	Disabled    bool
	Federated   bool
}

func toAccountView(u *snapshot.User) (accountView, bool) {
	if u == nil || u.Org == nil {
		return accountView{}, false
	}
	return accountView{
		ID: u.ID, Name: u.Name, OrgName: u.Org.Name, Email: u.Email, Username: u.Username,
		DisplayName: u.DisplayName, HasPassword: u.PasswordHash != "", Disabled: u.Disabled,
		Federated: len(u.FederatedIdentities) > 0,
	}, true
}

// account finds a user of org by ID (from a link's token); a user of
// another organization is not found.
func (d directory) account(org, id string) (accountView, bool) {
	a, ok := toAccountView(d.s.UserByID(id))
	if !ok || a.OrgName != org {
		return accountView{}, false
	}
	return a, true
}

// accountByLogin finds a user of org by email or username.
func (d directory) accountByLogin(org, identifier string) (accountView, bool) {
	return toAccountView(d.s.UserByLogin(org, identifier))
}

// holdsDomainOf reports whether org is the organization that holds the
// verified domain of email (the snapshot's domain index, which
// rules.DomainHolder decides): an ancestor's or a sibling's domain does
// not count.
func (d directory) holdsDomainOf(org, email string) bool {
	o := d.s.OrgForEmail(email)
	return o != nil && o.Name == org
}
