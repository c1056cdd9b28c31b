package mail

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Sender delivers a rendered message. An error wrapped in PermanentError
// will not get better by retrying (the relay refused the recipient, say);
// any other error is retried.
type Sender interface {
	Send(ctx context.Context, r *Rendered) error
}

// PermanentError marks a delivery failure that retrying cannot fix.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// IsPermanent reports whether err is (or wraps) a PermanentError.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// TLSMode is how the SMTP connection is protected (--smtp-tls).
type TLSMode string

// TLS modes.
const (
	// TLSStartTLS connects in plain text and requires STARTTLS before
	// anything is sent (port 587). The default.
	TLSStartTLS TLSMode = "starttls"
	// TLSImplicit speaks TLS from the first byte (port 465).
	TLSImplicit TLSMode = "tls"
	// TLSNone sends in plain text: only for a relay on the same host or
	// network that does its own TLS onwards.
	TLSNone TLSMode = "none"
)

// ParseTLSMode parses a --smtp-tls value.
func ParseTLSMode(s string) (TLSMode, error) {
	switch m := TLSMode(strings.ToLower(s)); m {
	case TLSStartTLS, TLSImplicit, TLSNone:
		return m, nil
	case "":
		return TLSStartTLS, nil
	}
	return "", fmt.Errorf("--smtp-tls %q: use starttls, tls or none", s)
}

// DefaultSMTPTimeout bounds connecting and each SMTP command.
const DefaultSMTPTimeout = 15 * time.Second

// SMTPConfig configures SMTP delivery.
type SMTPConfig struct {
	// Host and Port of the relay. Port 0 means 587 (starttls), 465 (tls)
	// or 25 (none).
	Host string
	Port int
	// From is the sender address, optionally with a name
	// ("Orgkeeper <no-reply@example.com>").
	From string
	// Username and Password authenticate (PLAIN, or the best the relay
	// offers); no Username means no authentication.
	Username, Password string
	// TLS is the connection's protection; "" means TLSStartTLS.
	TLS TLSMode
	// TLSConfig overrides the TLS client settings (a private CA, say).
	TLSConfig *tls.Config
	// Timeout bounds the connection and each command; 0 means
	// DefaultSMTPTimeout.
	Timeout time.Duration
}

// SMTP delivers through an SMTP relay. Each Send opens its own connection,
// so that one broken connection fails one message, not the queue.
type SMTP struct {
	cfg  SMTPConfig
	from string
}

var _ Sender = (*SMTP)(nil)

// NewSMTP checks cfg and returns a sender.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	if cfg.Host == "" {
		return nil, errors.New("mail: the SMTP host is required")
	}
	if cfg.From == "" {
		return nil, errors.New("mail: the sender address (--smtp-from) is required")
	}
	from, err := parseFrom(cfg.From)
	if err != nil {
		return nil, err
	}
	if cfg.TLS == "" {
		cfg.TLS = TLSStartTLS
	}
	if _, err := ParseTLSMode(string(cfg.TLS)); err != nil {
		return nil, err
	}
	if cfg.Port == 0 {
		cfg.Port = map[TLSMode]int{TLSStartTLS: 587, TLSImplicit: 465, TLSNone: 25}[cfg.TLS]
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return nil, fmt.Errorf("mail: SMTP port %d is out of range", cfg.Port)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultSMTPTimeout
	}
	if cfg.Password != "" && cfg.Username == "" {
		return nil, errors.New("mail: an SMTP password needs a username (--smtp-username)")
	}
	return &SMTP{cfg: cfg, from: from}, nil
}

func parseFrom(s string) (string, error) {
	if strings.ContainsAny(s, "\r\n") {
		return "", errors.New("mail: the sender address spans lines")
	}
	m := gomail.NewMsg()
	if err := m.From(s); err != nil {
		return "", fmt.Errorf("mail: the sender address %q: %w", s, err)
	}
	return s, nil
}

// Send delivers r. Temporary failures (a 4xx answer, a dropped or refused
// connection, a timeout) are returned as they are, to be retried; a 5xx
// refusal is a PermanentError.
func (s *SMTP) Send(ctx context.Context, r *Rendered) error {
	msg, err := buildMsg(s.from, r)
	if err != nil {
		return &PermanentError{err}
	}
	opts := []gomail.Option{
		gomail.WithPort(s.cfg.Port),
		gomail.WithTimeout(s.cfg.Timeout),
	}
	tlsConf := s.cfg.TLSConfig
	if tlsConf == nil {
		tlsConf = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	tlsConf = tlsConf.Clone()
	if tlsConf.ServerName == "" {
		tlsConf.ServerName = s.cfg.Host
	}
	opts = append(opts, gomail.WithTLSConfig(tlsConf))
	switch s.cfg.TLS {
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if s.cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(s.cfg.Username), gomail.WithPassword(s.cfg.Password))
	}
	c, err := gomail.NewClient(s.cfg.Host, opts...)
	if err != nil {
		return &PermanentError{fmt.Errorf("mail: SMTP client: %w", err)}
	}
	ctx, cancel := context.WithTimeout(ctx, 4*s.cfg.Timeout)
	defer cancel()
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return classify(err)
	}
	return nil
}

// classify makes a 5xx answer of the relay permanent. Everything else
// (4xx, network, TLS handshake, timeouts) is worth another attempt later.
func classify(err error) error {
	var se *gomail.SendError
	if errors.As(err, &se) && se.ErrorCode() >= 500 && se.ErrorCode() < 600 {
		return &PermanentError{err}
	}
	return err
}

// buildMsg makes the MIME message: multipart/alternative with the plain
// text first and the HTML last (the one clients prefer), a Message-ID that
// identifies the message across retries, and no header a template can add.
func buildMsg(from string, r *Rendered) (*gomail.Msg, error) {
	m := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := m.From(from); err != nil {
		return nil, err
	}
	if r.ToName != "" {
		if err := m.AddToFormat(r.ToName, r.To); err != nil {
			return nil, err
		}
	} else if err := m.To(r.To); err != nil {
		return nil, err
	}
	m.Subject(r.Subject)
	m.SetMessageIDWithValue(r.MessageID)
	if r.Date.IsZero() {
		m.SetDate()
	} else {
		m.SetDateWithValue(r.Date)
	}
	m.SetGenHeader(gomail.HeaderUserAgent, "Orgkeeper")
	m.SetGenHeader("Auto-Submitted", "auto-generated")
	m.SetBodyString(gomail.TypeTextPlain, r.Text)
	m.AddAlternativeString(gomail.TypeTextHTML, r.HTML)
	return m, nil
}

// Bytes returns r as an RFC 5322 message from from: what an .eml file
// holds and what the relay receives.
func Bytes(from string, r *Rendered) ([]byte, error) {
	m, err := buildMsg(from, r)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if _, err := m.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// FileSender writes each message as an .eml file into Dir, for
// `orgkeeper dev` without SMTP. The file is named after the message ID and
// written under a temporary name first, so a message is in the outbox
// once, whole, or not at all.
type FileSender struct {
	Dir  string
	From string
	// Logf, if set, is told each file and its link.
	Logf func(file, to, subject, link string)
}

var _ Sender = (*FileSender)(nil)

// Send writes r to Dir/<date>-<message id>.eml, unless a file for the
// message is already there.
func (f *FileSender) Send(_ context.Context, r *Rendered) error {
	if err := os.MkdirAll(f.Dir, 0o700); err != nil {
		return err
	}
	from := f.From
	if from == "" {
		from = "Orgkeeper <no-reply@orgkeeper.invalid>"
	}
	id := strings.TrimSuffix(r.MessageID, "@orgkeeper")
	if matches, _ := filepath.Glob(filepath.Join(f.Dir, "*-"+id+".eml")); len(matches) > 0 {
		return nil
	}
	b, err := Bytes(from, r)
	if err != nil {
		return &PermanentError{err}
	}
	date := r.Date
	if date.IsZero() {
		date = time.Now()
	}
	name := filepath.Join(f.Dir, date.UTC().Format("20060102T150405Z")+"-"+id+".eml")
	tmp := name + ".tmp-" + strconv.Itoa(os.Getpid())
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, name); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	if f.Logf != nil {
		f.Logf(name, r.To, r.Subject, linkOf(r.Text))
	}
	return nil
}

// linkOf finds the first http(s) URL on a line of its own in a text body,
// which is where the templates put the link.
func linkOf(text string) string {
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "https://") || strings.HasPrefix(line, "http://") {
			return line
		}
	}
	return ""
}
