package main

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"syscall"

	ctrl "sigs.k8s.io/controller-runtime"
)

// interrupts turns the first SIGINT, SIGTERM or SIGHUP into the cancellation
// of a context, for a clean shutdown; a second one runs the registered force
// function (which kills child processes outright) and exits.
type interrupts struct {
	mu    sync.Mutex
	force func()
}

func notifyInterrupts() (context.Context, *interrupts) {
	ctx, cancel := context.WithCancel(context.Background())
	in := &interrupts{}
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		sig := <-ch
		ctrl.Log.Info("stopping; send the signal again to stop at once", "signal", sig.String())
		cancel()
		sig = <-ch
		ctrl.Log.Info("stopping at once", "signal", sig.String())
		in.mu.Lock()
		force := in.force
		in.mu.Unlock()
		if force != nil {
			force()
		}
		os.Exit(1)
	}()
	return ctx, in
}

// onForce registers what a second signal runs before exiting.
func (in *interrupts) onForce(f func()) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.force = f
}
