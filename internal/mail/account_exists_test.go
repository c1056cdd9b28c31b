package mail_test

import (
	"strings"
	"testing"
	"time"

	"github.com/orgkeeper/orgkeeper/internal/mail"
)

func TestTheAccountExistsMessageSaysSoAndCarriesTheResetLink(t *testing.T) {
	m := &mail.Message{ID: "ab12", Kind: mail.KindAccountExists, Organization: "acme", To: "ada@acme.example", ToName: "Ada",
		Link: "https://id.example/login/reset/confirm?org=acme&token=t0k", AppName: "Partner Portal",
		ExpiresAt: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC), CreatedAt: time.Date(2026, 12, 1, 11, 0, 0, 0, time.UTC)}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	r, err := mail.Builtin.Render(m, mail.Brand{Name: "ACME Corporation"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Subject, "already have") || !strings.Contains(r.Subject, "ACME Corporation") {
		t.Errorf("subject %q", r.Subject)
	}
	for _, part := range []string{r.Text, r.HTML} {
		for _, want := range []string{"already an account", "ada@acme.example", "Partner Portal", "token=t0k"} {
			if !strings.Contains(part, want) {
				t.Errorf("a part lacks %q:\n%s", want, part)
			}
		}
	}
}
