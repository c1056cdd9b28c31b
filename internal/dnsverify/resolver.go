package dnsverify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/miekg/dns"
)

// TXTResolver looks up the TXT records of a DNS name.
type TXTResolver interface {
	// LookupTXT returns the values of name's TXT records (the strings of
	// each record joined), ErrNotFound when the resolver answered that there
	// are none, or another error when it gave no usable answer.
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// ErrNotFound is the resolver's answer that a name has no TXT record (the
// name does not exist, or has records of other types only).
var ErrNotFound = errors.New("no TXT record")

// Limits of one lookup.
const (
	// DefaultTimeout bounds one lookup, retries over TCP included.
	DefaultTimeout = 5 * time.Second
	// MaxRecords is how many TXT values a lookup keeps; a verification
	// needs one, a busy name may hold a few dozen.
	MaxRecords = 64
	// MaxValueLen is the longest TXT value kept; a verification value is
	// about 50 characters, anything far longer is another record.
	MaxValueLen = 1024
	// udpSize is the EDNS0 buffer size offered; larger answers come back
	// truncated and are asked again over TCP (at most 64 KiB).
	udpSize = 1232
)

// Config chooses the resolver.
type Config struct {
	// Server is the host:port of a DNS server that resolves recursively (or
	// is authoritative for the domains); empty means the system's resolver.
	Server string
	// Timeout bounds one lookup; zero means DefaultTimeout.
	Timeout time.Duration
}

// Resolver is the TXTResolver of a Config.
type Resolver struct {
	server  string
	timeout time.Duration
}

var _ TXTResolver = (*Resolver)(nil)

// New checks cfg and returns its resolver.
func New(cfg Config) (*Resolver, error) {
	r := &Resolver{server: cfg.Server, timeout: cfg.Timeout}
	if r.timeout <= 0 {
		r.timeout = DefaultTimeout
	}
	if r.server != "" {
		host, port, err := net.SplitHostPort(r.server)
		if err != nil || host == "" || port == "" {
			return nil, fmt.Errorf("DNS resolver %q: want host:port, for example 10.0.0.10:53", cfg.Server)
		}
	}
	return r, nil
}

// String names the resolver for messages.
func (r *Resolver) String() string {
	if r.server == "" {
		return "the system's resolver"
	}
	return "DNS server " + r.server
}

// LookupTXT implements TXTResolver.
func (r *Resolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	var values []string
	var err error
	if r.server == "" {
		values, err = r.system(ctx, name)
	} else {
		values, err = r.direct(ctx, name)
	}
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, ErrNotFound
		}
		return nil, &LookupError{Name: name, Resolver: r.String(), Reason: describe(err), err: err}
	}
	return bound(values), nil
}

// LookupError is a lookup that got no usable answer. Its text is stable for
// one cause (no addresses or ports of the moment), so that a status that
// shows it does not change with every retry.
type LookupError struct {
	// Name is the name looked up; Resolver names the resolver asked.
	Name, Resolver string
	// Reason says why in a few words.
	Reason string
	err    error
}

func (e *LookupError) Error() string {
	return "looking up TXT " + e.Name + " at " + e.Resolver + ": " + e.Reason
}

// Unwrap returns the underlying error.
func (e *LookupError) Unwrap() error { return e.err }

// describe says in stable words why a lookup failed.
func describe(err error) string {
	var netErr net.Error
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "no answer in time"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.As(err, &dnsErr):
		return dnsErr.Err
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	var rc rcodeError
	if errors.As(err, &rc) {
		return string(rc)
	}
	return "the answer could not be read"
}

// rcodeError is an answer with an error code other than NXDOMAIN.
type rcodeError string

func (e rcodeError) Error() string { return string(e) }

// system asks the resolver of the operating system (resolv.conf), as
// net.Resolver does.
func (r *Resolver) system(ctx context.Context, name string) ([]string, error) {
	values, err := net.DefaultResolver.LookupTXT(ctx, dns.Fqdn(name))
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return nil, ErrNotFound
	}
	return values, err
}

// direct asks r.server, over UDP and, when the answer does not fit, TCP.
func (r *Resolver) direct(ctx context.Context, name string) ([]string, error) {
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), dns.TypeTXT)
	q.RecursionDesired = true
	q.SetEdns0(udpSize, false)
	c := &dns.Client{Net: "udp", UDPSize: udpSize, Timeout: r.timeout}
	in, _, err := c.ExchangeContext(ctx, q, r.server)
	if err == nil && in.Truncated {
		c.Net = "tcp"
		in, _, err = c.ExchangeContext(ctx, q, r.server)
	}
	if err != nil {
		return nil, err
	}
	switch in.Rcode {
	case dns.RcodeSuccess:
	case dns.RcodeNameError:
		return nil, ErrNotFound
	default:
		return nil, rcodeError("the server answered " + dns.RcodeToString[in.Rcode])
	}
	values := txtOf(in.Answer, q.Question[0].Name)
	if len(values) == 0 {
		return nil, ErrNotFound
	}
	return values, nil
}

// txtOf returns the TXT values in answer that belong to name, following
// the CNAME chain that a recursive resolver puts before them; records of
// other names are ignored.
func txtOf(answer []dns.RR, name string) []string {
	names := map[string]bool{strings.ToLower(name): true}
	// A chain is normally in order; a few passes also take it out of order,
	// and bound the work on a looping one.
	for range 8 {
		grew := false
		for _, rr := range answer {
			if c, ok := rr.(*dns.CNAME); ok && names[strings.ToLower(c.Hdr.Name)] && !names[strings.ToLower(c.Target)] {
				names[strings.ToLower(c.Target)] = true
				grew = true
			}
		}
		if !grew {
			break
		}
	}
	var values []string
	for _, rr := range answer {
		if t, ok := rr.(*dns.TXT); ok && names[strings.ToLower(t.Hdr.Name)] {
			values = append(values, strings.Join(t.Txt, ""))
		}
	}
	return values
}

// bound keeps at most MaxRecords values of at most MaxValueLen bytes.
func bound(values []string) []string {
	out := make([]string, 0, min(len(values), MaxRecords))
	for _, v := range values {
		if len(out) == MaxRecords {
			break
		}
		if len(v) <= MaxValueLen {
			out = append(out, v)
		}
	}
	return out
}
