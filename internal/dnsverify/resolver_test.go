package dnsverify_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orgkeeper/orgkeeper/internal/dnsverify"
	"github.com/orgkeeper/orgkeeper/internal/dnsverify/dnstest"
)

func resolver(t *testing.T, addr string, timeout time.Duration) *dnsverify.Resolver {
	t.Helper()
	r, err := dnsverify.New(dnsverify.Config{Server: addr, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestLookupTXTAgainstARealServer(t *testing.T) {
	zone := dnstest.Start(t)
	zone.Add("_orgkeeper-challenge.acme.example", "orgkeeper-verify=abc", "v=spf1 -all")
	long := strings.Repeat("x", 700) // several 255-byte strings in one record
	zone.Add("long.acme.example", long)
	zone.Add("empty.acme.example") // exists, no TXT
	r := resolver(t, zone.Addr(), 0)
	ctx := context.Background()

	t.Run("every value of the record set comes back", func(t *testing.T) {
		got, err := r.LookupTXT(ctx, "_orgkeeper-challenge.acme.example")
		if err != nil || !slices.Equal(got, []string{"orgkeeper-verify=abc", "v=spf1 -all"}) {
			t.Fatalf("LookupTXT = %q, %v", got, err)
		}
	})
	t.Run("the strings of one record are joined", func(t *testing.T) {
		got, err := r.LookupTXT(ctx, "long.acme.example")
		if err != nil || !slices.Equal(got, []string{long}) {
			t.Fatalf("LookupTXT = %d values, %v", len(got), err)
		}
	})
	t.Run("a name that does not exist is ErrNotFound", func(t *testing.T) {
		if _, err := r.LookupTXT(ctx, "_orgkeeper-challenge.globex.example"); !errors.Is(err, dnsverify.ErrNotFound) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
	})
	t.Run("a name without TXT records is ErrNotFound", func(t *testing.T) {
		if _, err := r.LookupTXT(ctx, "empty.acme.example"); !errors.Is(err, dnsverify.ErrNotFound) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
	})
}

func TestLookupTXTBoundsTheRecordSet(t *testing.T) {
	zone := dnstest.Start(t)
	var many []string
	for i := range 3 * dnsverify.MaxRecords {
		many = append(many, fmt.Sprintf("record-%03d-%s", i, strings.Repeat("y", 100)))
	}
	zone.Add("many.example", many...)
	zone.Add("huge.example", strings.Repeat("z", dnsverify.MaxValueLen+1), "orgkeeper-verify=abc")

	r := resolver(t, zone.Addr(), 0)
	got, err := r.LookupTXT(context.Background(), "many.example")
	if err != nil {
		t.Fatalf("an answer too large for UDP must be fetched over TCP: %v", err)
	}
	if len(got) != dnsverify.MaxRecords || got[0] != many[0] {
		t.Fatalf("got %d values (first %q), want the first %d", len(got), got[0], dnsverify.MaxRecords)
	}
	got, err = r.LookupTXT(context.Background(), "huge.example")
	if err != nil || !slices.Equal(got, []string{"orgkeeper-verify=abc"}) {
		t.Fatalf("an oversized value must be dropped, the others kept: %q, %v", got, err)
	}
}

func TestLookupTXTFailsWhenTheResolverDoesNotAnswer(t *testing.T) {
	t.Run("a stopped server is an error, not an absent record", func(t *testing.T) {
		zone := dnstest.Start(t)
		zone.Add("_orgkeeper-challenge.acme.example", "orgkeeper-verify=abc")
		zone.Stop()
		_, err := resolver(t, zone.Addr(), 2*time.Second).LookupTXT(context.Background(), "_orgkeeper-challenge.acme.example")
		if err == nil || errors.Is(err, dnsverify.ErrNotFound) {
			t.Fatalf("err = %v, want a lookup failure", err)
		}
		if !strings.Contains(err.Error(), zone.Addr()) || !strings.HasSuffix(err.Error(), ": connection refused") {
			t.Fatalf("the error %q should name the resolver and the cause, in words that stay the same between retries", err)
		}
	})
	t.Run("a server that never answers is cut off by the timeout", func(t *testing.T) {
		silent, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer silent.Close()
		_, err = resolver(t, silent.LocalAddr().String(), 200*time.Millisecond).LookupTXT(context.Background(), "acme.example")
		if err == nil || errors.Is(err, dnsverify.ErrNotFound) {
			t.Fatalf("err = %v, want a timeout", err)
		}
	})
}

func TestNewRefusesAResolverWithoutPort(t *testing.T) {
	for _, addr := range []string{"10.0.0.10", ":53", "dns.example:"} {
		if _, err := dnsverify.New(dnsverify.Config{Server: addr}); err == nil {
			t.Errorf("New(%q) accepted it", addr)
		}
	}
	if _, err := dnsverify.New(dnsverify.Config{}); err != nil {
		t.Errorf("the system resolver: %v", err)
	}
}

// BenchmarkLookupTXT measures one lookup against a DNS server on loopback.
func BenchmarkLookupTXT(b *testing.B) {
	zone := dnstest.Start(b)
	zone.Add("_orgkeeper-challenge.acme.example", "orgkeeper-verify=abc")
	r, err := dnsverify.New(dnsverify.Config{Server: zone.Addr()})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		if _, err := r.LookupTXT(ctx, "_orgkeeper-challenge.acme.example"); err != nil {
			b.Fatal(err)
		}
	}
}
