package dnsverify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/miekg/dns"
)

// Records answers for the Server: the TXT values of name (lower case, fully
// qualified without the final dot), and whether the name exists.
type Records func(name string) (values []string, exists bool)

// Server is a small DNS server that answers TXT questions from Records over
// UDP and TCP on one address. It is meant for loopback: `orgkeeper dev`
// serves the demo domains' verification records with it, and tests use it as
// the resolver. Other questions get an empty answer.
type Server struct {
	addr     string
	udp, tcp *dns.Server
}

// Serve starts a Server on addr (host:port; port 0 picks a free port, the
// same for UDP and TCP).
func Serve(addr string, records Records) (*Server, error) {
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) { answer(w, q, records) })
	var lastErr error
	// With port 0 the UDP port may be taken for TCP by someone else: try a
	// few ports.
	for range 10 {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, fmt.Errorf("DNS server on %s: %w", addr, err)
		}
		l, err := net.Listen("tcp", pc.LocalAddr().String())
		if err != nil {
			_ = pc.Close()
			lastErr = err
			continue
		}
		s := &Server{
			addr: pc.LocalAddr().String(),
			udp:  &dns.Server{PacketConn: pc, Handler: handler},
			tcp:  &dns.Server{Listener: l, Handler: handler},
		}
		started := make(chan error, 2)
		for _, srv := range []*dns.Server{s.udp, s.tcp} {
			ready := make(chan struct{})
			srv.NotifyStartedFunc = func() { close(ready) }
			go func() {
				if err := srv.ActivateAndServe(); err != nil {
					started <- err
				}
			}()
			select {
			case <-ready:
			case err := <-started:
				_ = s.Close()
				return nil, fmt.Errorf("DNS server on %s: %w", s.addr, err)
			}
		}
		return s, nil
	}
	return nil, fmt.Errorf("DNS server on %s: %w", addr, lastErr)
}

// Addr is the host:port the server answers on, for --dns-resolver.
func (s *Server) Addr() string { return s.addr }

// Close stops the server.
func (s *Server) Close() error {
	ctx := context.Background()
	return errors.Join(s.udp.ShutdownContext(ctx), s.tcp.ShutdownContext(ctx))
}

func answer(w dns.ResponseWriter, q *dns.Msg, records Records) {
	m := new(dns.Msg)
	m.SetReply(q)
	m.Authoritative = true
	if len(q.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		_ = w.WriteMsg(m)
		return
	}
	question := q.Question[0]
	name := strings.TrimSuffix(strings.ToLower(question.Name), ".")
	values, exists := records(name)
	switch {
	case !exists:
		m.Rcode = dns.RcodeNameError
	case question.Qtype == dns.TypeTXT || question.Qtype == dns.TypeANY:
		for _, v := range values {
			m.Answer = append(m.Answer, &dns.TXT{
				Hdr: dns.RR_Header{Name: question.Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 5},
				Txt: chunks(v),
			})
		}
	}
	// Over UDP an answer that does not fit is sent truncated, so that the
	// client asks again over TCP.
	size := dns.MinMsgSize
	if opt := q.IsEdns0(); opt != nil {
		size = int(opt.UDPSize())
	}
	if _, ok := w.RemoteAddr().(*net.UDPAddr); ok {
		m.Truncate(size)
	} else {
		m.Truncate(dns.MaxMsgSize)
	}
	_ = w.WriteMsg(m)
}

// chunks splits v into the 255-byte strings a TXT record is made of.
func chunks(v string) []string {
	var out []string
	for len(v) > 255 {
		out = append(out, v[:255])
		v = v[255:]
	}
	return append(out, v)
}
