package sessiontest

import (
	"errors"
	"testing"
	"time"

	"github.com/orgkeeper/orgkeeper/internal/session"
)

// Every rotation stores one token more, kept until it would have expired
// so that its reuse can be detected: without a bound, one refresh token
// rotated as fast as the token endpoint answers fills the store, as
// starting families did before MaxLiveFamilies. A family keeps the records
// of its last MaxFamilyTokens tokens; an older one is gone, so presenting
// it is refused as unknown, and only then does it no longer revoke the
// family.
func init() {
	refreshTokenTests = append(refreshTokenTests,
		conformanceTest{"a family keeps its last MaxFamilyTokens tokens: older rotated ones are forgotten", func(t *testing.T, e *env) {
			first, _ := e.refreshToken(sampleRefreshToken("fam-rotated", "app-a"))
			tokens := []string{first}
			cur := first
			for range session.MaxFamilyTokens {
				next, _, err := e.s.RotateRefreshToken(e.ctx, cur, "app-a", nil, e.clock.Now().Add(24*time.Hour))
				noErr(t, "RotateRefreshToken", err)
				tokens = append(tokens, next)
				cur = next
			}
			// The first token's record is gone: presenting it again is
			// refused as unknown and leaves the family alone.
			_, _, err := e.s.RotateRefreshToken(e.ctx, first, "app-a", nil, e.clock.Now().Add(24*time.Hour))
			if !errors.Is(err, session.ErrNotFound) {
				t.Fatalf("rotating the token %d rotations back: %v, want ErrNotFound (its record forgotten)", session.MaxFamilyTokens, err)
			}
			_, err = e.s.GetRefreshToken(e.ctx, cur)
			noErr(t, "GetRefreshToken of the family's live token", err)
			// The oldest token still kept is still detected when reused.
			_, _, err = e.s.RotateRefreshToken(e.ctx, tokens[1], "app-a", nil, e.clock.Now().Add(24*time.Hour))
			wantErr(t, "rotating the oldest kept token again", err, session.ErrRefreshTokenReused)
			_, err = e.s.GetRefreshToken(e.ctx, cur)
			wantErr(t, "GetRefreshToken after the reuse", err, session.ErrRevoked)
		}},
	)
}
