// Package dnstest runs a real DNS server on loopback whose TXT records tests
// change as they go, to stand in for --dns-resolver.
package dnstest

import (
	"strings"
	"sync"
	"testing"

	"github.com/orgkeeper/orgkeeper/internal/dnsverify"
)

// Zone is a DNS server on 127.0.0.1 serving the TXT records set on it. Names
// without records do not exist (NXDOMAIN).
type Zone struct {
	mu      sync.Mutex
	records map[string][]string
	addr    string
	srv     *dnsverify.Server
	queries map[string]int
}

// Start starts a Zone that stops when the test ends.
func Start(t testing.TB) *Zone {
	t.Helper()
	z := &Zone{records: map[string][]string{}, queries: map[string]int{}}
	if err := z.serve("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(z.Stop)
	return z
}

func (z *Zone) serve(addr string) error {
	srv, err := dnsverify.Serve(addr, z.lookup)
	if err != nil {
		return err
	}
	z.mu.Lock()
	z.srv, z.addr = srv, srv.Addr()
	z.mu.Unlock()
	return nil
}

func (z *Zone) lookup(name string) ([]string, bool) {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.queries[name]++
	v, ok := z.records[name]
	return append([]string(nil), v...), ok
}

// Addr is the server's host:port.
func (z *Zone) Addr() string {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.addr
}

// Add adds TXT values to name.
func (z *Zone) Add(name string, values ...string) {
	z.mu.Lock()
	defer z.mu.Unlock()
	name = strings.ToLower(name)
	z.records[name] = append(z.records[name], values...)
}

// Remove removes name and its records.
func (z *Zone) Remove(name string) {
	z.mu.Lock()
	defer z.mu.Unlock()
	delete(z.records, strings.ToLower(name))
}

// Queries is how many questions for name the server answered.
func (z *Zone) Queries(name string) int {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.queries[strings.ToLower(name)]
}

// Stop stops the server: lookups fail as with a resolver that is down.
func (z *Zone) Stop() {
	z.mu.Lock()
	srv := z.srv
	z.srv = nil
	z.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// Restart serves again on the address of before Stop; on a running server it
// does nothing.
func (z *Zone) Restart() error {
	z.mu.Lock()
	running := z.srv != nil
	z.mu.Unlock()
	if running {
		return nil
	}
	return z.serve(z.Addr())
}
