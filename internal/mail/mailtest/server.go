// Package mailtest runs a real SMTP server on loopback for tests
// (github.com/emersion/go-smtp): plain, STARTTLS with a throw-away
// certificate, or implicit TLS; optional PLAIN authentication; injected
// failures. It captures every accepted message and decodes its parts.
package mailtest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// TLS modes of the test server.
const (
	Plain    = "none"
	StartTLS = "starttls"
	Implicit = "tls"
)

// Options configure Start.
type Options struct {
	// TLS is Plain (default), StartTLS or Implicit.
	TLS string
	// Username and Password, when set, are required (AUTH PLAIN) before
	// MAIL FROM.
	Username, Password string
}

// Message is one accepted message.
type Message struct {
	From string
	To   []string
	Raw  []byte
	// Header is the parsed header; Text and HTML the decoded parts.
	Header     mail.Header
	Text, HTML string
}

// MessageID is the Message-ID header without angle brackets.
func (m Message) MessageID() string {
	return strings.Trim(m.Header.Get("Message-Id"), "<>")
}

// Subject is the decoded Subject header.
func (m Message) Subject() string {
	s, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		return m.Header.Get("Subject")
	}
	return s
}

// Link is the first http(s) URL on a line of its own in the text part.
func (m Message) Link() string {
	for _, line := range strings.Split(m.Text, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "http://") || strings.HasPrefix(line, "https://") {
			return line
		}
	}
	return ""
}

// Server is a running test SMTP server.
type Server struct {
	// Addr is host:port on 127.0.0.1.
	Addr string
	// Host and Port split Addr.
	Host string
	Port int

	srv   *smtp.Server
	roots *x509.CertPool
	opts  Options

	mu       sync.Mutex
	messages []Message
	failures []int // SMTP codes to answer DATA with, in order
	sessions int
}

// Start starts a server; Close stops it.
func Start(opts Options) (*Server, error) {
	s := &Server{opts: opts}
	be := smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		s.mu.Lock()
		s.sessions++
		s.mu.Unlock()
		return &session{s: s}, nil
	})
	srv := smtp.NewServer(be)
	srv.Domain = "localhost"
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.MaxMessageBytes = 1 << 20
	srv.MaxRecipients = 10
	srv.AllowInsecureAuth = opts.TLS == Plain || opts.TLS == ""
	var ln net.Listener
	var err error
	switch opts.TLS {
	case StartTLS, Implicit:
		cert, roots, cerr := selfSigned()
		if cerr != nil {
			return nil, cerr
		}
		s.roots = roots
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		if opts.TLS == Implicit {
			ln, err = tls.Listen("tcp", "127.0.0.1:0", srv.TLSConfig)
		} else {
			ln, err = net.Listen("tcp", "127.0.0.1:0")
		}
	case Plain, "":
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	default:
		return nil, fmt.Errorf("mailtest: unknown TLS mode %q", opts.TLS)
	}
	if err != nil {
		return nil, err
	}
	s.srv = srv
	s.Addr = ln.Addr().String()
	s.Host = "127.0.0.1"
	s.Port = ln.Addr().(*net.TCPAddr).Port
	go func() { _ = srv.Serve(ln) }()
	return s, nil
}

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

// RootCAs trusts the server's certificate (nil for Plain).
func (s *Server) RootCAs() *x509.CertPool { return s.roots }

// Messages returns a copy of the accepted messages, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Sessions counts the connections that reached the backend.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions
}

// To returns the accepted messages to addr.
func (s *Server) To(addr string) []Message {
	var out []Message
	for _, m := range s.Messages() {
		for _, t := range m.To {
			if strings.EqualFold(t, addr) {
				out = append(out, m)
				break
			}
		}
	}
	return out
}

// FailNext makes the next DATA commands fail with these SMTP codes (4xx:
// temporary, 5xx: permanent), one per message.
func (s *Server) FailNext(codes ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, codes...)
}

// Reset forgets the captured messages.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages = nil
}

type session struct {
	s      *Server
	authed bool
	from   string
	to     []string
}

var _ smtp.AuthSession = (*session)(nil)

func (x *session) AuthMechanisms() []string {
	if x.s.opts.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (x *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != x.s.opts.Username || pass != x.s.opts.Password {
			return errors.New("invalid credentials")
		}
		x.authed = true
		return nil
	}), nil
}

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	if x.s.opts.Username != "" && !x.authed {
		return smtp.ErrAuthRequired
	}
	x.from = from
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.to = append(x.to, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	x.s.mu.Lock()
	defer x.s.mu.Unlock()
	if len(x.s.failures) > 0 {
		code := x.s.failures[0]
		x.s.failures = x.s.failures[1:]
		return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCodeNotSet, Message: "injected failure"}
	}
	m := Message{From: x.from, To: append([]string(nil), x.to...), Raw: raw}
	if err := decode(&m); err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCodeNotSet, Message: "unparseable message: " + err.Error()}
	}
	x.s.messages = append(x.s.messages, m)
	return nil
}

func (x *session) Reset()        { x.from, x.to = "", nil }
func (x *session) Logout() error { return nil }

// Parse decodes a raw message (an .eml file, say) as the server does.
func Parse(raw []byte) (Message, error) {
	m := Message{Raw: raw}
	return m, decode(&m)
}

// decode parses the header and the text and HTML parts.
func decode(m *Message) error {
	msg, err := mail.ReadMessage(bytes.NewReader(m.Raw))
	if err != nil {
		return err
	}
	m.Header = msg.Header
	return decodePart(m, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
}

func decodePart(m *Message, ctype, enc string, body io.Reader) error {
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		return err
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if err := decodePart(m, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p); err != nil {
				return err
			}
		}
	}
	var r = body
	switch strings.ToLower(enc) {
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	case "base64":
		return errors.New("base64 parts are not expected")
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	switch mt {
	case "text/plain":
		m.Text = string(b)
	case "text/html":
		m.HTML = string(b)
	}
	return nil
}

// selfSigned makes a certificate for 127.0.0.1 and localhost and a pool
// that trusts it.
func selfSigned() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "mailtest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, pool, nil
}
