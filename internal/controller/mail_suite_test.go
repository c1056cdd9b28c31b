package controller

import (
	"crypto/tls"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/orgkeeper/orgkeeper/internal/mail"
	"github.com/orgkeeper/orgkeeper/internal/mail/mailtest"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
)

// smtpServer captures the suite's mail: a real SMTP server on loopback
// that requires STARTTLS and authentication.
var smtpServer *mailtest.Server

const suiteIssuer = "https://id.suite.test"

func startSuiteMail(snapshots *snapshot.Store) MailOptions {
	var err error
	smtpServer, err = mailtest.Start(mailtest.Options{TLS: mailtest.StartTLS, Username: "relay", Password: "relay-secret"})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() { _ = smtpServer.Close() })
	sender, err := mail.NewSMTP(mail.SMTPConfig{
		Host: smtpServer.Host, Port: smtpServer.Port, From: "Orgkeeper <no-reply@id.suite.test>",
		Username: "relay", Password: "relay-secret", TLS: mail.TLSStartTLS, Timeout: 5 * time.Second,
		TLSConfig: &tls.Config{RootCAs: smtpServer.RootCAs(), MinVersion: tls.VersionTLS12},
	})
	Expect(err).NotTo(HaveOccurred())
	return MailOptions{Sender: sender, Snapshots: snapshots.Load, IssuerURL: suiteIssuer}
}
