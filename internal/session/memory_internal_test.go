package session

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// The store must never hold a bearer secret in clear: not as a key, not in a
// record. Only its hash.
func TestMemoryKeepsNoSecretInClear(t *testing.T) {
	ctx := t.Context()
	m := NewMemory()
	const code = "the-authorization-code-value-0123456789"
	if err := m.SaveCode(ctx, code, AuthCode{AuthRequestID: "req", ClientID: "app"}); err != nil {
		t.Fatal(err)
	}
	tok, _, err := m.CreateRefreshToken(ctx, RefreshToken{FamilyID: "fam", ClientID: "app", Subject: "u"})
	if err != nil {
		t.Fatal(err)
	}
	next, _, err := m.RotateRefreshToken(ctx, tok, "app", nil, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	ls, err := m.CreateLoginSession(ctx, LoginSession{UserID: "u"})
	if err != nil {
		t.Fatal(err)
	}

	var dump strings.Builder
	dumpMap(&dump, m.codes)
	dumpMap(&dump, m.refreshTokens)
	dumpMap(&dump, m.families)
	dumpMap(&dump, m.loginSessions)
	for _, secret := range []string{code, tok, next, ls.ID} {
		if strings.Contains(dump.String(), secret) {
			t.Errorf("secret %q is stored in clear", secret)
		}
	}
	if !strings.Contains(dump.String(), HashSecret(tok)) {
		t.Error("the dump does not contain the token's hash: the test looks in the wrong place")
	}
}

func dumpMap[V any](w *strings.Builder, s *shardedMap[V]) {
	for i := range s.shards {
		for k, v := range s.shards[i].m {
			fmt.Fprintf(w, "%s=%+v\n", k, v)
		}
	}
}
