package redisstore_test

import (
	"testing"
	"time"

	"github.com/orgkeeper/orgkeeper/internal/session"
)

// BenchmarkStoreSignInSlot is what the /authorize cap adds to one sign-in:
// the reservation at /authorize (RecordFailure) and, at the end, giving the
// slot back with the request's deletion (FinishAuthRequest), next to the
// plain deletion ("delete") that the flow made before.
func BenchmarkStoreSignInSlot(b *testing.B) {
	const key = "authorize:192.0.2.1"
	benchStores(b, func(b *testing.B, s session.Store) {
		ctx := b.Context()
		create := func(slot session.Slot) string {
			req, err := s.CreateAuthRequest(ctx, session.AuthRequest{ClientID: "app", Scopes: []string{"openid"}, Slot: slot})
			if err != nil {
				b.Fatal(err)
			}
			return req.ID
		}
		b.Run("delete", func(b *testing.B) {
			for b.Loop() {
				if err := s.DeleteAuthRequest(ctx, create(session.Slot{})); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("reserve+finish", func(b *testing.B) {
			for b.Loop() {
				f, err := s.RecordFailure(ctx, key, 30*time.Minute)
				if err != nil {
					b.Fatal(err)
				}
				id := create(session.Slot{Key: key, WindowEnd: f.WindowEnd})
				if err := session.FinishAuthRequest(ctx, s, id); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}
