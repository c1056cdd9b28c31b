package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"

	"github.com/orgkeeper/orgkeeper/internal/controller"
	"github.com/orgkeeper/orgkeeper/internal/login"
	"github.com/orgkeeper/orgkeeper/internal/mail"
)

// mailFlags configure outgoing mail (invitations, password resets).
type mailFlags struct {
	host          string
	port          int
	from          string
	username      string
	passwordFile  string
	tlsMode       string
	caFile        string
	timeout       time.Duration
	invitationTTL time.Duration
	resetTTL      time.Duration
	// registrationTTL is how long a self-registration's confirmation link
	// works.
	registrationTTL time.Duration
	perOrg          int
	signup          signupFlags
}

func (m *mailFlags) add(cmd *cobra.Command, noHost string) {
	f := cmd.Flags()
	f.StringVar(&m.host, "smtp-host", "", "outgoing mail: host name of the SMTP relay. "+noHost)
	f.IntVar(&m.port, "smtp-port", 0, "outgoing mail: port of the SMTP relay (default 587 with --smtp-tls=starttls, 465 with tls, 25 with none)")
	f.StringVar(&m.from, "smtp-from", "", `outgoing mail: sender address, optionally with a name, e.g. "Example Sign-in <no-reply@example.com>"`)
	f.StringVar(&m.username, "smtp-username", "", "outgoing mail: user name to authenticate to the relay with; empty: no authentication")
	f.StringVar(&m.passwordFile, "smtp-password-file", "",
		"outgoing mail: file holding the relay password (for example a mounted Secret); a trailing newline is ignored")
	f.StringVar(&m.tlsMode, "smtp-tls", string(mail.TLSStartTLS),
		`outgoing mail: "starttls" (require STARTTLS, never send in clear), "tls" (TLS from the first byte) or "none" (plain text: only for a relay on the same host or network)`)
	f.StringVar(&m.caFile, "smtp-ca-file", "", "outgoing mail: PEM CA bundle to verify the relay's certificate with, instead of the system's roots")
	f.DurationVar(&m.timeout, "smtp-timeout", mail.DefaultSMTPTimeout, "outgoing mail: bound on connecting to the relay and on each SMTP command")
	f.DurationVar(&m.invitationTTL, "invitation-ttl", controller.DefaultInvitationTTL, "how long an invitation link works")
	f.DurationVar(&m.resetTTL, "password-reset-ttl", login.DefaultResetTTL, "how long a password-reset link works")
	f.DurationVar(&m.registrationTTL, "registration-ttl", login.DefaultRegistrationTTL,
		fmt.Sprintf("self-registration: how long the mailed confirmation link works (from %s to %s); the account is created only if it is opened in time; 0 keeps the default",
			login.MinRegistrationTTL, login.MaxRegistrationTTL))
	f.IntVar(&m.perOrg, "mail-per-organization", controller.DefaultOutboxMailPerOrganization,
		"outgoing mail: messages sent per hour for one customer (a top-level organization with all its sub-organizations); more wait for the next hour")
	m.signup.add(cmd)
}

// sender returns the SMTP sender, or nil when --smtp-host is empty. It
// checks the other mail flags first.
func (m *mailFlags) sender() (mail.Sender, error) {
	// Zero is unset (the default applies), as for the other durations.
	if m.registrationTTL != 0 {
		if err := login.CheckRegistrationTTL(m.registrationTTL); err != nil {
			return nil, fmt.Errorf("--registration-ttl: %w", err)
		}
	}
	if m.host == "" {
		for name, v := range map[string]string{"--smtp-from": m.from, "--smtp-username": m.username, "--smtp-password-file": m.passwordFile, "--smtp-ca-file": m.caFile} {
			if v != "" {
				return nil, fmt.Errorf("%s is set but --smtp-host is not", name)
			}
		}
		return nil, nil
	}
	mode, err := mail.ParseTLSMode(m.tlsMode)
	if err != nil {
		return nil, err
	}
	cfg := mail.SMTPConfig{Host: m.host, Port: m.port, From: m.from, Username: m.username, TLS: mode, Timeout: m.timeout}
	if m.passwordFile != "" {
		raw, err := os.ReadFile(m.passwordFile)
		if err != nil {
			return nil, fmt.Errorf("--smtp-password-file: %w", err)
		}
		cfg.Password = strings.TrimRight(string(raw), "\r\n")
	}
	if m.caFile != "" {
		if mode == mail.TLSNone {
			return nil, errors.New("--smtp-ca-file needs --smtp-tls=starttls or tls")
		}
		pem, err := os.ReadFile(m.caFile)
		if err != nil {
			return nil, fmt.Errorf("--smtp-ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--smtp-ca-file %s holds no PEM certificate", m.caFile)
		}
		cfg.TLSConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	s, err := mail.NewSMTP(cfg)
	if err != nil {
		return nil, fmt.Errorf("--smtp-*: %w", err)
	}
	return s, nil
}

// outbox is dev's sender without SMTP: .eml files under <state-dir>/outbox,
// each logged with its link.
func outbox(stateDir string, log logr.Logger) mail.Sender {
	dir := filepath.Join(stateDir, "outbox")
	return &mail.FileSender{Dir: dir, Logf: func(file, to, subject, link string) {
		log.Info("mail written to the outbox", "file", file, "to", to, "subject", subject, "link", link)
	}}
}
