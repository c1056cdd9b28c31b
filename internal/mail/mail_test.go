package mail_test

import (
	"context"
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/orgkeeper/orgkeeper/internal/mail"
	"github.com/orgkeeper/orgkeeper/internal/mail/mailtest"
)

func message(id string) *mail.Message {
	return &mail.Message{
		ID: mail.MessageID("test", id), Kind: mail.KindInvitation, Organization: "acme",
		To: "alice@acme.example", ToName: "Alice Liddell",
		Link:      "https://id.example/login/invitation?org=acme&token=abc",
		AppName:   "Partner Portal",
		ExpiresAt: time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC),
		CreatedAt: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC),
	}
}

var acme = mail.Brand{Name: "ACME Corporation", LogoURL: "https://cdn.acme.example/logo.svg", PrimaryColor: "#0b5fff"}

func render(t *testing.T, tpl *mail.Templates, m *mail.Message, b mail.Brand) *mail.Rendered {
	t.Helper()
	r, err := tpl.Render(m, b)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	return r
}

func TestRenderedInvitationCarriesBrandingAppNameLinkAndExpiry(t *testing.T) {
	r := render(t, nil, message("1"), acme)
	if r.Subject != "ACME Corporation: you are invited to sign in to Partner Portal" {
		t.Errorf("subject = %q", r.Subject)
	}
	for _, want := range []string{"Alice Liddell", "ACME Corporation", "Partner Portal", "https://id.example/login/invitation?org=acme&token=abc", "Friday, 4 December 2026 at 12:00 UTC"} {
		if !strings.Contains(r.Text, want) {
			t.Errorf("text part lacks %q:\n%s", want, r.Text)
		}
	}
	for _, want := range []string{"background:#0B5FFF", `src="https://cdn.acme.example/logo.svg"`, `href="https://id.example/login/invitation?org=acme&amp;token=abc"`} {
		if !strings.Contains(r.HTML, want) {
			t.Errorf("HTML part lacks %q:\n%s", want, r.HTML)
		}
	}
}

func TestEveryKindRendersWithTheBuiltInTemplates(t *testing.T) {
	for _, k := range mail.Kinds {
		m := message(string(k))
		m.Kind = k
		r := render(t, nil, m, mail.Brand{})
		if r.Subject == "" || !strings.Contains(r.Text, m.Link) || !strings.Contains(r.HTML, "token=abc") {
			t.Errorf("%s: subject %q, text or HTML without the link", k, r.Subject)
		}
	}
}

func TestNamesAreEscapedInTheHTMLPartAndInvalidBrandingFallsBack(t *testing.T) {
	m := message("2")
	m.ToName = `<script>alert(1)</script>`
	r := render(t, nil, m, mail.Brand{Name: `Evil "Org"`, PrimaryColor: "red;background:url(x)", LogoURL: "http://plain.example/logo.png"})
	if strings.Contains(r.HTML, "<script>") {
		t.Errorf("a recipient's name reached the HTML unescaped:\n%s", r.HTML)
	}
	if strings.Contains(r.HTML, "url(x)") || !strings.Contains(r.HTML, "background:#2F4F7F") {
		t.Errorf("an invalid colour was not replaced by the default:\n%s", r.HTML)
	}
	if strings.Contains(r.HTML, "plain.example") {
		t.Errorf("a non-https logo was used")
	}
}

func TestASubjectTemplateCannotAddHeaderLines(t *testing.T) {
	tpl, err := mail.ParseTemplates(map[string]string{"invitation.subject": "Hi\r\nBcc: victim@example.com\n{{.Organization}}"})
	if err != nil {
		t.Fatal(err)
	}
	r := render(t, tpl, message("3"), acme)
	if strings.ContainsAny(r.Subject, "\r\n") {
		t.Fatalf("subject spans lines: %q", r.Subject)
	}
	b, err := mail.Bytes("Orgkeeper <no-reply@id.example>", r)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "\nBcc:") {
		t.Errorf("a Bcc header was injected:\n%s", b)
	}
}

func TestOverridesReplaceOnlyTheirKeysAndBadOnesAreRefused(t *testing.T) {
	tpl, err := mail.ParseTemplates(map[string]string{"invitation.txt": "Welcome to {{.Organization}}: {{.Link}}"})
	if err != nil {
		t.Fatal(err)
	}
	r := render(t, tpl, message("4"), acme)
	if r.Text != "Welcome to ACME Corporation: https://id.example/login/invitation?org=acme&token=abc" {
		t.Errorf("text = %q", r.Text)
	}
	if !strings.Contains(r.HTML, "Accept the invitation") {
		t.Errorf("the built-in HTML part was not kept")
	}
	for name, o := range map[string]map[string]string{
		"unknown key":  {"invitaton.txt": "x"},
		"syntax error": {"invitation.html": "{{.Link"},
		"oversized":    {"invitation.txt": strings.Repeat("x", 65<<10)},
	} {
		if _, err := mail.ParseTemplates(o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	tpl, err = mail.ParseTemplates(map[string]string{"invitation.txt": "{{.NoSuchField}}"})
	if err == nil {
		if _, err := tpl.Render(message("5"), acme); err == nil {
			t.Errorf("a template naming an unknown field rendered")
		}
	}
}

func TestMessagesWithMalformedFieldsAreRefused(t *testing.T) {
	for name, change := range map[string]func(*mail.Message){
		"two recipients":   func(m *mail.Message) { m.To = "a@x.example, b@y.example" },
		"header injection": func(m *mail.Message) { m.To = "a@x.example\r\nBcc: b@y.example" },
		"display name":     func(m *mail.Message) { m.To = "Eve <a@x.example>" },
		"javascript link":  func(m *mail.Message) { m.Link = "javascript:alert(1)" },
		"unknown kind":     func(m *mail.Message) { m.Kind = "newsletter" },
		"long name":        func(m *mail.Message) { m.ToName = strings.Repeat("n", 300) },
	} {
		m := message(name)
		change(m)
		if _, err := mail.Builtin.Render(m, acme); err == nil {
			t.Errorf("%s: rendered", name)
		}
	}
}

func startSMTP(t *testing.T, o mailtest.Options) *mailtest.Server {
	t.Helper()
	s, err := mailtest.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func sender(t *testing.T, s *mailtest.Server, mode mail.TLSMode, user, pass string) *mail.SMTP {
	t.Helper()
	snd, err := mail.NewSMTP(mail.SMTPConfig{
		Host: s.Host, Port: s.Port, From: "Orgkeeper <no-reply@id.example>", TLS: mode,
		Username: user, Password: pass, Timeout: 5 * time.Second,
		TLSConfig: &tls.Config{RootCAs: s.RootCAs(), MinVersion: tls.VersionTLS12},
	})
	if err != nil {
		t.Fatal(err)
	}
	return snd
}

func TestSMTPDeliversOneMultipartMessageOverEachTLSMode(t *testing.T) {
	for _, tc := range []struct {
		server string
		mode   mail.TLSMode
	}{{mailtest.Plain, mail.TLSNone}, {mailtest.StartTLS, mail.TLSStartTLS}, {mailtest.Implicit, mail.TLSImplicit}} {
		t.Run(string(tc.mode), func(t *testing.T) {
			// Credentials go only over TLS: go-mail refuses PLAIN in clear.
			user, pass := "relay", "relay-secret"
			if tc.mode == mail.TLSNone {
				user, pass = "", ""
			}
			s := startSMTP(t, mailtest.Options{TLS: tc.server, Username: user, Password: pass})
			r := render(t, nil, message("smtp"+string(tc.mode)), acme)
			if err := sender(t, s, tc.mode, user, pass).Send(context.Background(), r); err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := s.Messages()
			if len(got) != 1 {
				t.Fatalf("%d messages arrived, want 1", len(got))
			}
			m := got[0]
			if m.MessageID() != r.MessageID || m.To[0] != "alice@acme.example" || m.Subject() != r.Subject {
				t.Errorf("message-id %q to %v subject %q", m.MessageID(), m.To, m.Subject())
			}
			if !strings.HasPrefix(m.Header.Get("Content-Type"), "multipart/alternative") {
				t.Errorf("content type %q", m.Header.Get("Content-Type"))
			}
			if m.Link() != "https://id.example/login/invitation?org=acme&token=abc" || !strings.Contains(m.HTML, "Accept the invitation") {
				t.Errorf("link %q, or no HTML part", m.Link())
			}
		})
	}
}

func TestStartTLSIsRequiredAndNeverFallsBackToPlainText(t *testing.T) {
	s := startSMTP(t, mailtest.Options{TLS: mailtest.Plain})
	err := sender(t, s, mail.TLSStartTLS, "", "").Send(context.Background(), render(t, nil, message("nostarttls"), acme))
	if err == nil || len(s.Messages()) != 0 {
		t.Fatalf("a message was sent in plain text to a relay without STARTTLS (err %v)", err)
	}
}

func TestAnUntrustedCertificateIsRefused(t *testing.T) {
	s := startSMTP(t, mailtest.Options{TLS: mailtest.StartTLS})
	snd, err := mail.NewSMTP(mail.SMTPConfig{Host: s.Host, Port: s.Port, From: "no-reply@id.example", TLS: mail.TLSStartTLS, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := snd.Send(context.Background(), render(t, nil, message("untrusted"), acme)); err == nil || len(s.Messages()) != 0 {
		t.Fatalf("sent to a relay whose certificate is not trusted (err %v)", err)
	}
}

func TestWrongRelayCredentialsFailAndNothingIsSent(t *testing.T) {
	s := startSMTP(t, mailtest.Options{TLS: mailtest.StartTLS, Username: "relay", Password: "relay-secret"})
	err := sender(t, s, mail.TLSStartTLS, "relay", "wrong").Send(context.Background(), render(t, nil, message("badauth"), acme))
	if err == nil || len(s.Messages()) != 0 {
		t.Fatalf("err %v, %d messages", err, len(s.Messages()))
	}
}

func TestTemporaryAndPermanentRefusalsAreTold(t *testing.T) {
	s := startSMTP(t, mailtest.Options{})
	snd := sender(t, s, mail.TLSNone, "", "")
	s.FailNext(451, 550)
	err := snd.Send(context.Background(), render(t, nil, message("t1"), acme))
	if err == nil || mail.IsPermanent(err) {
		t.Errorf("451: err %v, want a temporary error", err)
	}
	err = snd.Send(context.Background(), render(t, nil, message("t2"), acme))
	if err == nil || !mail.IsPermanent(err) {
		t.Errorf("550: err %v, want a permanent error", err)
	}
	if err := snd.Send(context.Background(), render(t, nil, message("t3"), acme)); err != nil {
		t.Errorf("after the failures: %v", err)
	}
}

func TestAnUnreachableRelayIsATemporaryError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close() // nothing listens there now
	snd, err := mail.NewSMTP(mail.SMTPConfig{Host: "127.0.0.1", Port: port, From: "no-reply@id.example", TLS: mail.TLSNone, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = snd.Send(context.Background(), render(t, nil, message("down"), acme))
	if err == nil || mail.IsPermanent(err) {
		t.Fatalf("err %v, want a temporary error", err)
	}
}

func TestFileSenderWritesEachMessageOnceAsAnEMLFile(t *testing.T) {
	dir := t.TempDir()
	var logged []string
	f := &mail.FileSender{Dir: filepath.Join(dir, "outbox"), Logf: func(file, to, subject, link string) { logged = append(logged, link) }}
	r := render(t, nil, message("file"), acme)
	for range 2 {
		if err := f.Send(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "outbox", "*.eml"))
	if len(files) != 1 {
		t.Fatalf("%d files, want 1: %v", len(files), files)
	}
	raw, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	m, err := mailtest.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if m.Link() != "https://id.example/login/invitation?org=acme&token=abc" || m.MessageID() != r.MessageID {
		t.Errorf("link %q message-id %q", m.Link(), m.MessageID())
	}
	if len(logged) != 1 || logged[0] != m.Link() {
		t.Errorf("logged %v", logged)
	}
}

func TestSMTPSettingsAreChecked(t *testing.T) {
	for name, c := range map[string]mail.SMTPConfig{
		"no host":           {From: "a@b.example"},
		"no from":           {Host: "smtp.example"},
		"bad from":          {Host: "smtp.example", From: "not an address"},
		"password, no user": {Host: "smtp.example", From: "a@b.example", Password: "x"},
		"unknown tls":       {Host: "smtp.example", From: "a@b.example", TLS: "ssl3"},
		"port out of range": {Host: "smtp.example", From: "a@b.example", Port: 70000},
	} {
		if _, err := mail.NewSMTP(c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
