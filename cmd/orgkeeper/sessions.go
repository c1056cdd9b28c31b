package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/orgkeeper/orgkeeper/internal/session"
	"github.com/orgkeeper/orgkeeper/internal/session/redisstore"
)

// sessionFlags choose the OIDC server's session store.
type sessionFlags struct {
	store        string
	addr         string
	username     string
	passwordFile string
	db           int
	tls          bool
	caFile       string
	prefix       string
}

func (s *sessionFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&s.store, "session-store", "memory",
		`where sign-ins in progress, codes, refresh tokens and login sessions live: "memory" (this process only: one replica, lost on restart) or "redis" (shared by every replica; needs --redis-addr)`)
	f.StringVar(&s.addr, "redis-addr", "", "with --session-store=redis: host:port of the Redis server")
	f.StringVar(&s.username, "redis-username", "", "with --session-store=redis: Redis ACL user name (default: the default user)")
	f.StringVar(&s.passwordFile, "redis-password-file", "",
		"with --session-store=redis: file holding the Redis password (for example a mounted Secret); a trailing newline is ignored")
	f.IntVar(&s.db, "redis-db", 0, "with --session-store=redis: Redis database number")
	f.BoolVar(&s.tls, "redis-tls", false, "with --session-store=redis: connect over TLS, verifying the server's certificate")
	f.StringVar(&s.caFile, "redis-ca-file", "", "with --redis-tls: PEM CA bundle to verify the Redis server with, instead of the system's roots")
	f.StringVar(&s.prefix, "redis-key-prefix", redisstore.DefaultPrefix,
		"with --session-store=redis: prefix of every key, so that several installations can share one Redis database")
}

// open returns the chosen store (nil for memory: the server makes its own)
// and a function that releases it.
func (s *sessionFlags) open(ctx context.Context) (session.Store, func(), error) {
	switch s.store {
	case "", "memory":
		if s.addr != "" {
			return nil, nil, errors.New("--redis-addr is set but --session-store is memory; add --session-store=redis")
		}
		return nil, func() {}, nil
	case "redis":
	default:
		return nil, nil, fmt.Errorf(`--session-store %q: use "memory" or "redis"`, s.store)
	}
	if s.addr == "" {
		return nil, nil, errors.New("--session-store=redis needs --redis-addr host:port")
	}
	opts := &redis.Options{Addr: s.addr, Username: s.username, DB: s.db}
	if s.passwordFile != "" {
		raw, err := os.ReadFile(s.passwordFile)
		if err != nil {
			return nil, nil, fmt.Errorf("--redis-password-file: %w", err)
		}
		opts.Password = strings.TrimRight(string(raw), "\r\n")
	}
	if s.caFile != "" && !s.tls {
		return nil, nil, errors.New("--redis-ca-file needs --redis-tls")
	}
	if s.tls {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if s.caFile != "" {
			pem, err := os.ReadFile(s.caFile)
			if err != nil {
				return nil, nil, fmt.Errorf("--redis-ca-file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, nil, fmt.Errorf("--redis-ca-file %s holds no PEM certificate", s.caFile)
			}
			cfg.RootCAs = pool
		}
		opts.TLSConfig = cfg
	}
	rdb := redis.NewClient(opts)
	store := redisstore.New(rdb, redisstore.WithPrefix(s.prefix))
	ping, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := store.Ping(ping); err != nil {
		_ = rdb.Close()
		return nil, nil, fmt.Errorf("--redis-addr %s: %w", s.addr, err)
	}
	return store, func() { _ = rdb.Close() }, nil
}
