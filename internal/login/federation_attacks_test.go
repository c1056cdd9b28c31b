package login_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/connector/upstreamtest"
	"github.com/orgkeeper/orgkeeper/internal/login"
	"github.com/orgkeeper/orgkeeper/internal/session"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

// withPartnerProvider gives acme a second provider, "partners" (on its own
// Fake, offered on acme's page, routing no domain): a login for people
// outside acme's own directory, which corp (routing acme.example) is.
func withPartnerProvider(t *testing.T, w *fedWorld) *upstreamtest.Fake {
	t.Helper()
	partners := upstreamtest.NewFake(t)
	partners.Set(func(f *upstreamtest.Fake) { f.Public = true })
	w.more = func(in *snapshot.Input) {
		in.IdentityProviders = append(in.IdentityProviders, st.IdP("acme", "partners", st.WithIdPDisplayName("Partner login"),
			st.WithIssuer("https://partners.invalid"), st.WithIdPClientID(upstreamtest.FakeClientID),
			st.WithProvisioning(iamv1.ProvisioningModeJustInTime)))
		for i := range in.Organizations {
			if in.Organizations[i].Name == "acme" {
				in.Organizations[i].Spec.Login.IdentityProviders = append(in.Organizations[i].Spec.Login.IdentityProviders, "partners")
			}
		}
	}
	w.serve = func(s *snapshot.Snapshot) { s.IdentityProvider("acme", "partners").Issuer = partners.URL }
	w.rebuild()
	return partners
}

// A provider other than the one acme routes acme.example to claims an
// acme.example address as verified: it is not the authority for that
// domain, so it neither takes over the existing account with that address
// nor creates a user whose tokens say the address is verified.
func TestOnlyTheProviderADomainRoutesToVouchesForItsAddresses(t *testing.T) {
	e, w := newFedEnv(t, iamv1.ProvisioningModeJustInTime, true)
	partners := withPartnerProvider(t, w)

	// alice@acme.example exists: the partner login must not link to her.
	partners.Set(func(f *upstreamtest.Fake) {
		f.Claims = func(c map[string]any) { c["email"], c["email_verified"] = "alice@acme.example", true }
	})
	id := e.authorize(func(a *session.AuthRequest) { a.Organization = "acme" })
	cb := atProvider(t, partners, e.chooseProvider(e.start(id), "partners"))
	refused(t, e, id, e.do(cb), "not connected")
	if reqs := w.provisioned(); len(reqs) != 0 {
		t.Fatalf("the partner login wrote %+v; it must not link alice's account", reqs)
	}

	// A new address in acme.example: created, but not as verified.
	partners.Set(func(f *upstreamtest.Fake) {
		f.Claims = func(c map[string]any) {
			c["sub"], c["email"], c["email_verified"] = "partner-2", "newhire@acme.example", true
		}
	})
	b := e.otherBrowser()
	id2 := b.authorize(func(a *session.AuthRequest) { a.Organization = "acme" })
	signedIn(t, b, id2, b.do(atProvider(t, partners, b.chooseProvider(b.start(id2), "partners"))))
	reqs := w.provisioned()
	if len(reqs) != 1 || reqs[0].Action != login.ProvisionCreate || reqs[0].EmailVerified {
		t.Fatalf("want one creation with the address unverified, got %+v", reqs)
	}

	// The domain's own provider still links alice.
	w.fake.Set(func(f *upstreamtest.Fake) {
		f.Claims = func(c map[string]any) {
			c["sub"], c["email"], c["email_verified"] = "corp-alice", "alice@acme.example", true
		}
	})
	c := e.otherBrowser()
	id3 := c.authorize(func(a *session.AuthRequest) { a.Organization = "acme" })
	ar := signedIn(t, c, id3, c.do(atProvider(t, w.fake, c.chooseProvider(c.start(id3), "corp"))))
	if ar.UserID != string(st.UID("user", "acme", "alice")) {
		t.Fatalf("corp, acme.example's provider, should link alice; signed in %q", ar.UserID)
	}
}

// Login CSRF with a leaked callback: the attacker signs in at the provider
// in their own browser and gets the victim's browser, which has a sign-in
// of its own waiting, to open the attacker's callback URL. The state is not
// the victim's: the attacker's code is never redeemed, the victim is not
// signed in as the attacker, and the victim's waiting sign-in ends on the
// error page (a forged answer ends the sign-in it was sent to; the person
// starts again), while the attacker's own flow is untouched.
func TestAnAttackersCallbackOpenedInTheVictimsBrowserDoesNotSignTheVictimIn(t *testing.T) {
	e, w := newFedEnv(t, iamv1.ProvisioningModeJustInTime, true)
	attacker := e.otherBrowser()
	idA := attacker.authorize(func(a *session.AuthRequest) { a.Organization = "acme" })
	attackerCallback := atProvider(t, w.fake, attacker.chooseProvider(attacker.start(idA), "corp"))

	victim := e.otherBrowser()
	idV := victim.authorize(func(a *session.AuthRequest) { a.Organization = "acme" })
	atProvider(t, w.fake, victim.chooseProvider(victim.start(idV), "corp"))

	refused(t, victim, idV, victim.do(attackerCallback), "")
	if n := w.fake.Hits("/token"); n != 0 {
		t.Fatalf("the attacker's code was redeemed in the victim's browser (%d token requests)", n)
	}
	if n := len(w.provisioned()); n != 0 {
		t.Fatalf("%d provisioning writes from a forged callback", n)
	}
	rec := attacker.do(httptest.NewRequest(http.MethodGet, attackerCallback.URL.String(), nil))
	signedIn(t, attacker, idA, rec)
}

// An administrator of globex lists acme's domain on a provider of globex
// (and a domain nobody verified). acme's people are still routed to acme,
// and even a sign-in that the client sends to globex does not go to that
// provider: a provider routes only domains its own organization holds.
func TestAProviderCannotRouteADomainItsOrganizationDoesNotHold(t *testing.T) {
	e, w := newFedEnv(t, iamv1.ProvisioningModeJustInTime, true)
	squatter := upstreamtest.NewFake(t)
	w.more = func(in *snapshot.Input) {
		in.IdentityProviders = append(in.IdentityProviders, st.IdP("globex", "squat", st.WithIdPDisplayName("Squat"),
			st.WithIdPDomains("acme.example", "unclaimed.example"),
			st.WithIssuer("https://squat.invalid"), st.WithIdPClientID(upstreamtest.FakeClientID)))
	}
	w.serve = func(s *snapshot.Snapshot) { s.IdentityProvider("globex", "squat").Issuer = squatter.URL }
	w.rebuild()

	// alice@acme.example: acme, and acme's own provider.
	id := e.authorize(func(a *session.AuthRequest) { a.LoginHint = "alice@acme.example" })
	atProvider(t, w.fake, e.start(id))
	if ar := e.authRequest(id); ar.Organization != "acme" {
		t.Fatalf("alice was routed to %q", ar.Organization)
	}
	// The client asks for globex with an acme (or unclaimed) address:
	// globex's page, not the squatting provider.
	for _, hint := range []string{"alice@acme.example", "someone@unclaimed.example"} {
		id := e.authorize(func(a *session.AuthRequest) { a.Organization, a.LoginHint = "globex", hint })
		rec := e.start(id)
		if loc := rec.Header().Get("Location"); strings.HasPrefix(loc, squatter.URL) {
			t.Fatalf("%s was sent to globex's provider for a domain globex does not hold: %q", hint, loc)
		}
	}
	if n := squatter.Hits("/.well-known/openid-configuration") + squatter.Hits("/token"); n != 0 {
		t.Fatalf("the squatting provider was contacted %d times", n)
	}
}
