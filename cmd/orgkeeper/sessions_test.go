package main

import (
	"strings"
	"testing"

	"github.com/orgkeeper/orgkeeper/internal/session/redisstore"
	"github.com/orgkeeper/orgkeeper/internal/session/redisstore/redistest"
)

func TestSessionFlagsRefuseWhatCannotWork(t *testing.T) {
	cases := []struct {
		name string
		fl   sessionFlags
		want string
	}{
		{"an unknown store is named with the choices", sessionFlags{store: "etcd"}, `--session-store "etcd": use "memory" or "redis"`},
		{"redis without an address says which flag is missing", sessionFlags{store: "redis"}, "needs --redis-addr"},
		{"a Redis address with the memory store is a mistake, not ignored", sessionFlags{store: "memory", addr: "r:6379"}, "--session-store is memory"},
		{"a CA file without TLS is refused", sessionFlags{store: "redis", addr: "r:6379", caFile: "/ca.pem"}, "--redis-ca-file needs --redis-tls"},
		{"an unreadable password file is named", sessionFlags{store: "redis", addr: "r:6379", passwordFile: "/nonexistent/pw"}, "--redis-password-file"},
		{"an unreachable Redis fails at start, naming the address", sessionFlags{store: "redis", addr: "127.0.0.1:1"}, "--redis-addr 127.0.0.1:1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := tc.fl.open(t.Context())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("open() error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestSessionFlagsOpenARedisStore(t *testing.T) {
	srv := redistest.Start(t)
	fl := sessionFlags{store: "redis", addr: srv.Addr, prefix: redisstore.DefaultPrefix}
	store, closeFn, err := fl.open(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	if _, ok := store.(*redisstore.Store); !ok {
		t.Fatalf("store is %T, want *redisstore.Store", store)
	}
	if s, _, err := (&sessionFlags{store: "memory"}).open(t.Context()); err != nil || s != nil {
		t.Fatalf("memory: store %v, err %v; want nil, nil (the server makes its own)", s, err)
	}
}
