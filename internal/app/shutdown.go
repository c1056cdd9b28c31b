package app

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/orgkeeper/orgkeeper/internal/server"
)

// DefaultShutdownDelay is how long `orgkeeper manager` keeps serving after a
// stop signal with readiness already failing: long enough for the endpoint
// change to reach kube-proxy and ingress controllers, so that no new request
// is sent to a replica that has stopped accepting connections.
const DefaultShutdownDelay = 5 * time.Second

// DefaultShutdownTimeout is how long requests in flight get to finish once
// the issuer stops accepting connections.
const DefaultShutdownTimeout = server.DefaultShutdownTimeout

// drain runs the OIDC server so that a stop takes the replica out of
// rotation before it stops serving:
//
//  1. the manager's context ends (SIGTERM): Ready fails at once, the server
//     keeps serving;
//  2. after delay, the server stops accepting connections and gives the
//     requests in flight its shutdown timeout to finish;
//  3. Start returns, and the manager stops the rest.
//
// The manager stops its probe server last, so /readyz reports the failure
// during all of it.
type drain struct {
	server   manager.Runnable
	delay    time.Duration
	stopping atomic.Bool
	log      logr.Logger
}

var (
	_ manager.Runnable               = (*drain)(nil)
	_ manager.LeaderElectionRunnable = (*drain)(nil)
)

// Start serves until ctx ends, then drains as described on drain.
func (d *drain) Start(ctx context.Context) error {
	// The server's own context outlives ctx by the delay; it keeps ctx's
	// values (the logger).
	serve, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- d.server.Start(serve) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	d.stopping.Store(true)
	d.log.Info("stopping: readiness fails now; the issuer stops accepting connections after the shutdown delay",
		"delay", d.delay.String())
	if d.delay > 0 {
		t := time.NewTimer(d.delay)
		defer t.Stop()
		select {
		case <-t.C:
		case err := <-errc:
			return err
		}
	}
	stop()
	return <-errc
}

// NeedLeaderElection: every replica serves, so every replica drains.
func (d *drain) NeedLeaderElection() bool { return false }

// Ready is the readiness check that fails from the stop signal on.
func (d *drain) Ready(*http.Request) error {
	if d.stopping.Load() {
		return errors.New("shutting down")
	}
	return nil
}
