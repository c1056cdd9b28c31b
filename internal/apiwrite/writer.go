package apiwrite

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Defaults of Options.
const (
	DefaultQueueSize    = 1024
	DefaultMaxAttempts  = 6
	DefaultBaseBackoff  = 100 * time.Millisecond
	DefaultMaxBackoff   = 5 * time.Second
	DefaultWriteTimeout = 10 * time.Second
	// drainTimeout bounds how long Start keeps writing queued changes after
	// its context ended.
	drainTimeout = 5 * time.Second
)

// Results, the values of the metric's result label.
const (
	ResultWritten   = "written"   // the object was changed
	ResultUnchanged = "unchanged" // it already said as much (idempotent repeat, or a later write won)
	ResultGone      = "gone"      // the object no longer exists
	ResultFailed    = "failed"    // every attempt failed, or a permanent error
	ResultQueueFull = "queue_full"
	ResultShutdown  = "shutdown" // still queued when the replica stopped
)

// Options configure New.
type Options struct {
	// Client writes (the manager's client).
	Client client.Client
	// Reader reads the object each attempt starts from. It should be the
	// uncached API reader, so that a retry after a conflict sees the
	// newer object at once; default Client.
	Reader client.Reader
	// Log receives failures and dropped writes.
	Log logr.Logger
	// QueueSize bounds the writes waiting; default DefaultQueueSize.
	QueueSize int
	// MaxAttempts per write; default DefaultMaxAttempts.
	MaxAttempts int
	// BaseBackoff and MaxBackoff bound the exponential wait between
	// attempts.
	BaseBackoff, MaxBackoff time.Duration
	// WriteTimeout bounds one attempt; default DefaultWriteTimeout.
	WriteTimeout time.Duration
	// Registerer takes the metric; default controller-runtime's registry,
	// which the manager serves on --metrics-addr.
	Registerer prometheus.Registerer
	// Events receives a Kubernetes Event on each object a write changed
	// that an administrator should see (a lockout on its OrgUser); nil
	// emits none.
	Events events.EventRecorder
	// SystemNamespace holds the credential Secrets and the outbox
	// (onboarding.go); default "orgkeeper-system".
	SystemNamespace string
	// Now is the clock of link expiry; default time.Now.
	Now func() time.Time
}

// op is one write. apply reads the current object with r, computes the
// change and patches it with optimistic concurrency; it reports whether it
// changed anything. It must be idempotent: it may run again after a
// conflict or a lost reply.
type op struct {
	kind   string // metric label: what is written ("lockout")
	target string // for logs: namespace/name or what identifies it
	apply  func(ctx context.Context, c client.Client, r client.Reader) (changed bool, err error)
}

// Writer applies the server's writes from a bounded queue. It is a
// manager.Runnable on every replica (each replica writes what its own
// requests decided). Create it with New.
type Writer struct {
	opts    Options
	queue   chan op
	results *prometheus.CounterVec
	sleep   func(ctx context.Context, d time.Duration) error
	signup  *signups // signup.go; set by EnableSignup
}

var _ manager.LeaderElectionRunnable = (*Writer)(nil)

// New returns a Writer; add it to the manager to start its worker.
func New(o Options) (*Writer, error) {
	if o.Client == nil {
		return nil, errors.New("apiwrite: a client is required")
	}
	if o.Reader == nil {
		o.Reader = o.Client
	}
	if o.QueueSize <= 0 {
		o.QueueSize = DefaultQueueSize
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.BaseBackoff <= 0 {
		o.BaseBackoff = DefaultBaseBackoff
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.Registerer == nil {
		o.Registerer = ctrlmetrics.Registry
	}
	if o.SystemNamespace == "" {
		o.SystemNamespace = "orgkeeper-system"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	results, err := registerResults(o.Registerer)
	if err != nil {
		return nil, err
	}
	return &Writer{opts: o, queue: make(chan op, o.QueueSize), results: results, sleep: sleepCtx}, nil
}

// registerResults registers the metric, or reuses the one a previous Writer
// registered (several managers in one process, as in tests).
func registerResults(reg prometheus.Registerer) (*prometheus.CounterVec, error) {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "orgkeeper_apiwrite_total",
		Help: "Writes from the OIDC server to the Kubernetes API, by kind and result " +
			"(written, unchanged, gone, failed, queue_full, shutdown).",
	}, []string{"kind", "result"})
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
				return existing, nil
			}
		}
		return nil, fmt.Errorf("apiwrite: registering the metric: %w", err)
	}
	return c, nil
}

// NeedLeaderElection: every replica writes what its requests decided.
func (w *Writer) NeedLeaderElection() bool { return false }

// submit queues o without blocking. A full queue drops it, loudly.
func (w *Writer) submit(o op) error {
	select {
	case w.queue <- o:
		return nil
	default:
		w.results.WithLabelValues(o.kind, ResultQueueFull).Inc()
		err := fmt.Errorf("apiwrite: queue full (%d writes waiting); %s of %s not recorded", cap(w.queue), o.kind, o.target)
		w.opts.Log.Error(err, "dropping a write to the API server", "kind", o.kind, "target", o.target)
		return err
	}
}

// Start runs the worker until ctx ends, then spends up to a few seconds
// writing what is still queued; what is left after that is logged and
// counted.
func (w *Writer) Start(ctx context.Context) error {
	for {
		select {
		case o := <-w.queue:
			w.run(ctx, o)
		case <-ctx.Done():
			w.drain()
			return nil
		}
	}
}

func (w *Writer) drain() {
	ctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	for {
		select {
		case o := <-w.queue:
			if ctx.Err() != nil {
				w.results.WithLabelValues(o.kind, ResultShutdown).Inc()
				w.opts.Log.Error(ctx.Err(), "replica stopping: write to the API server not done", "kind", o.kind, "target", o.target)
				continue
			}
			w.run(ctx, o)
		default:
			return
		}
	}
}

// run applies one write with bounded retries.
func (w *Writer) run(ctx context.Context, o op) {
	var err error
	for attempt := 1; ; attempt++ {
		var changed bool
		changed, err = w.attempt(ctx, o)
		switch {
		case err == nil && changed:
			w.results.WithLabelValues(o.kind, ResultWritten).Inc()
			return
		case err == nil:
			w.results.WithLabelValues(o.kind, ResultUnchanged).Inc()
			return
		case apierrors.IsNotFound(err):
			w.results.WithLabelValues(o.kind, ResultGone).Inc()
			w.opts.Log.Info("write to the API server skipped: the object is gone", "kind", o.kind, "target", o.target)
			return
		}
		if !retriable(err) || attempt >= w.opts.MaxAttempts {
			break
		}
		w.opts.Log.V(1).Info("retrying a write to the API server", "kind", o.kind, "target", o.target, "attempt", attempt, "error", err.Error())
		if serr := w.sleep(ctx, w.backoff(attempt)); serr != nil {
			err = errors.Join(err, serr)
			break
		}
	}
	w.results.WithLabelValues(o.kind, ResultFailed).Inc()
	w.opts.Log.Error(err, "write to the API server failed", "kind", o.kind, "target", o.target)
}

func (w *Writer) attempt(ctx context.Context, o op) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, w.opts.WriteTimeout)
	defer cancel()
	return o.apply(ctx, w.opts.Client, w.opts.Reader)
}

// backoff is the wait before attempt n (n >= 1): BaseBackoff doubling, at
// most MaxBackoff.
func (w *Writer) backoff(n int) time.Duration {
	d := w.opts.BaseBackoff
	for i := 1; i < n && d < w.opts.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, w.opts.MaxBackoff)
}

// retriable reports whether another attempt may succeed: a conflict (the
// next attempt starts from the newer object) or a transient server or
// network error. Invalid or forbidden writes will not get better.
func retriable(err error) bool {
	switch {
	case apierrors.IsConflict(err), apierrors.IsServerTimeout(err), apierrors.IsTimeout(err),
		apierrors.IsTooManyRequests(err), apierrors.IsServiceUnavailable(err), apierrors.IsInternalError(err),
		errors.Is(err, context.DeadlineExceeded):
		return true
	case apierrors.IsInvalid(err), apierrors.IsForbidden(err), apierrors.IsUnauthorized(err),
		apierrors.IsBadRequest(err), apierrors.IsMethodNotSupported(err), errors.Is(err, errNoMatch):
		return false
	}
	var status apierrors.APIStatus
	return !errors.As(err, &status) // a network error has no API status
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
