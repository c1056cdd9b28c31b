package login

import (
	"strings"
	"testing"

	"github.com/orgkeeper/orgkeeper/internal/connector"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
)

func TestWhichUpstreamIdentitiesMayAcceptAnInvitation(t *testing.T) {
	ina := accountView{ID: "u-ina", Name: "ina", Email: "ina@acme.example"}
	verified := func(email string) connector.Identity {
		return connector.Identity{Subject: "s1", Email: email, EmailVerified: true}
	}
	for _, c := range []struct {
		name   string
		id     connector.Identity
		linked *snapshot.User
		want   string // "" accepts; else a piece of the refusal
	}{
		{"the invited address, verified, accepts", verified("ina@acme.example"), nil, ""},
		{"the invited address in other letter case accepts", verified("INA@Acme.Example"), nil, ""},
		{"an identity already linked to the invited user accepts (nothing new to link)", verified("ina@acme.example"), &snapshot.User{ID: "u-ina"}, ""},
		{"another address is refused, naming both", verified("eve@acme.example"), nil, "as eve@acme.example, but this invitation is for ina@acme.example"},
		{"an address that differs only by a suffix is refused", verified("ina@acme.example.evil"), nil, "this invitation is for"},
		{"the invited address unverified is refused", connector.Identity{Subject: "s1", Email: "ina@acme.example"}, nil, "did not confirm"},
		{"no address is refused", connector.Identity{Subject: "s1"}, nil, "did not send your email address"},
		{"an identity linked to another user is refused first", verified("ina@acme.example"), &snapshot.User{ID: "u-lee"}, "already connected to another user"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := invitationIdentityProblem(ina, c.id, c.linked, "Corp SSO")
			if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
				t.Fatalf("invitationIdentityProblem = %q, want %q", got, c.want)
			}
		})
	}
}
