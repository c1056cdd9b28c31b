package login_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/orgkeeper/orgkeeper/internal/session"
)

// An IPv6 end site gets at least a /64 (RFC 6177): one attacker has 2^64
// addresses to rotate through, so the per-address limit counts the /64,
// not the single address. Another network is not affected.
func TestThePerAddressLimitCountsAnIPv6ClientsWholeSlash64(t *testing.T) {
	e := newEnv(t)
	attacker := e.otherBrowser()
	var last *httptest.ResponseRecorder
	for i := range 55 {
		// A new address of the same /64 for every guess, and a new account,
		// so that no account lock is involved.
		attacker.peer = fmt.Sprintf("[2001:db8:aa:bb::%x]:4711", i+1)
		id := attacker.authorize(func(a *session.AuthRequest) { a.Organization = "acme" })
		last = attacker.submit(attacker.start(id), map[string]string{"username": fmt.Sprintf("user%d@acme.example", i), "password": "guess"})
	}
	wantStatus(t, last, http.StatusTooManyRequests)

	// Alice, in another /64, signs in.
	alice := e.otherBrowser()
	alice.peer = "[2001:db8:aa:cc::1]:4711"
	id := alice.authorize(func(a *session.AuthRequest) { a.Organization = "acme" })
	wantCallback(t, alice, alice.login(id), id)
}
