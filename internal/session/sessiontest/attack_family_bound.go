package sessiontest

import (
	"fmt"
	"testing"
	"time"

	"github.com/orgkeeper/orgkeeper/internal/session"
)

// The bound on a user's refresh token families holds for as long as the
// families live, not only for as long as the store's default refresh token
// lifetime: an application may give its refresh tokens a longer lifetime
// (up to a year), and every rotation extends a family. A store that forgot
// families once they were older than its default lifetime let a user hold
// MaxLiveFamilies more live families for every such period.
func init() {
	refreshTokenTests = append(refreshTokenTests,
		conformanceTest{"the family bound counts families that outlive the store's default refresh token lifetime", func(t *testing.T, e *env) {
			first := startFamilies(e, "long", 90*24*time.Hour)
			// Past the store's default lifetime (30 days), all of them live on.
			e.clock.Advance(31 * 24 * time.Hour)
			oneMoreFamily(t, e, first)
		}},
		conformanceTest{"the family bound counts families that rotation kept alive", func(t *testing.T, e *env) {
			tokens := make([]string, 0, session.MaxLiveFamilies)
			for i := range session.MaxLiveFamilies {
				rt := sampleRefreshToken(fmt.Sprintf("rot-%03d", i), "app-a")
				rt.ExpiresAt = e.clock.Now().Add(20 * 24 * time.Hour)
				tok, _ := e.refreshToken(rt)
				tokens = append(tokens, tok)
				e.clock.Advance(time.Millisecond)
			}
			e.clock.Advance(15 * 24 * time.Hour)
			for i, tok := range tokens {
				next, _, err := e.s.RotateRefreshToken(e.ctx, tok, "app-a", nil, e.clock.Now().Add(20*24*time.Hour))
				noErr(t, "RotateRefreshToken", err)
				tokens[i] = next
			}
			// 31 days after they started, every family is alive by rotation.
			e.clock.Advance(16 * 24 * time.Hour)
			oneMoreFamily(t, e, tokens[0])
		}},
	)
}

// startFamilies starts MaxLiveFamilies families of user-1 at app-a, each
// token living for lifetime, and returns the token of the first.
func startFamilies(e *env, prefix string, lifetime time.Duration) string {
	var first string
	for i := range session.MaxLiveFamilies {
		rt := sampleRefreshToken(fmt.Sprintf("%s-%03d", prefix, i), "app-a")
		rt.ExpiresAt = e.clock.Now().Add(lifetime)
		tok, _ := e.refreshToken(rt)
		if i == 0 {
			first = tok
		}
		e.clock.Advance(time.Millisecond)
	}
	return first
}

// oneMoreFamily starts one family more than the bound and checks that
// the oldest one (whose live token is oldest) is revoked.
func oneMoreFamily(t *testing.T, e *env, oldest string) {
	t.Helper()
	_, err := e.s.GetRefreshToken(e.ctx, oldest)
	noErr(t, "GetRefreshToken of the oldest family, at the bound", err)
	rt := sampleRefreshToken("one-more", "app-a")
	rt.ExpiresAt = e.clock.Now().Add(24 * time.Hour)
	e.refreshToken(rt)
	_, err = e.s.GetRefreshToken(e.ctx, oldest)
	wantErr(t, "GetRefreshToken of the oldest family, beyond the bound", err, session.ErrRevoked)
}
