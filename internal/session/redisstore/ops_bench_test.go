package redisstore_test

import (
	cryptorand "crypto/rand"
	"testing"
	"time"

	"github.com/orgkeeper/orgkeeper/internal/session"
	"github.com/orgkeeper/orgkeeper/internal/session/redisstore"
	"github.com/orgkeeper/orgkeeper/internal/session/redisstore/redistest"
)

func benchStores(b *testing.B, fn func(b *testing.B, s session.Store)) {
	b.Run("memory", func(b *testing.B) { fn(b, session.NewMemory()) })
	b.Run("redis", func(b *testing.B) { fn(b, redisstore.New(redistest.Start(b).Client(b))) })
}

// BenchmarkStoreCodeFlowCalls makes the store calls of one
// authorization-code flow as the issuer makes them.
func BenchmarkStoreCodeFlowCalls(b *testing.B) {
	benchStores(b, func(b *testing.B, s session.Store) {
		ctx := b.Context()
		for b.Loop() {
			req, err := s.CreateAuthRequest(ctx, session.AuthRequest{ClientID: "app", Scopes: []string{"openid"}})
			if err != nil {
				b.Fatal(err)
			}
			for range 4 {
				if _, err := s.GetAuthRequest(ctx, req.ID); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := s.UpdateAuthRequest(ctx, req.ID, func(r *session.AuthRequest) error { r.Done = true; return nil }); err != nil {
				b.Fatal(err)
			}
			code, _ := session.NewSecret(randReader{})
			if err := s.SaveCode(ctx, code, session.AuthCode{AuthRequestID: req.ID, ClientID: "app"}); err != nil {
				b.Fatal(err)
			}
			if _, err := s.ConsumeCode(ctx, code); err != nil {
				b.Fatal(err)
			}
			if _, _, err := s.CreateRefreshToken(ctx, session.RefreshToken{FamilyID: req.ID, ClientID: "app", Subject: "u", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
				b.Fatal(err)
			}
			if err := s.DeleteAuthRequest(ctx, req.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
}

type randReader struct{}

func (randReader) Read(p []byte) (int, error) { return cryptorand.Read(p) }
