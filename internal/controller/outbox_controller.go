package controller

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/orgkeeper/orgkeeper/internal/mail"
	"github.com/orgkeeper/orgkeeper/internal/snapshot"
)

// Outbox delivery defaults.
const (
	// DefaultOutboxMaxAttempts bounds the deliveries tried for one message
	// before it is marked failed.
	DefaultOutboxMaxAttempts = 10
	// outboxBaseBackoff doubles per attempt up to outboxMaxBackoff.
	outboxBaseBackoff = 2 * time.Second
	outboxMaxBackoff  = 5 * time.Minute
	// templateCacheTTL is how long an organization's parsed templates are
	// reused before their ConfigMaps are read again.
	templateCacheTTL = 30 * time.Second
	// DefaultOutboxMailPerOrganization is how many messages the outbox
	// sends per DefaultOutboxMailWindow for one customer: a top-level
	// organization with all its descendants.
	DefaultOutboxMailPerOrganization = 200
	// DefaultOutboxMailWindow is the window of that limit.
	DefaultOutboxMailWindow = time.Hour
	// MailTemplatesConfigMap is the installation's template ConfigMap in
	// the system namespace; MailTemplatesConfigMap + "-" + <organization>
	// overrides it for an organization and its descendants.
	MailTemplatesConfigMap = "orgkeeper-mail-templates"
)

// OutboxReconciler delivers the messages of the outbox (Secrets of type
// mail.OutboxType in the system namespace). It runs on the leader only, one
// reconcile per message at a time, so a message is not delivered by two
// replicas or two workers at once.
//
// Delivery is at least once: the message is marked sent after the relay
// accepted it, so a crash (or a failed mark) between the two delivers it
// again, with the same Message-ID, which lets mail systems and people see
// the copy for what it is. The alternative, marking before sending, loses
// the message instead, and an invitation or a reset link that never arrives
// is worse than one that arrives twice (the link works once either way).
type OutboxReconciler struct {
	client.Client
	// APIReader reads the template ConfigMaps, which are not cached.
	APIReader client.Reader
	// SystemNamespace holds the outbox.
	SystemNamespace string
	// Sender delivers.
	Sender mail.Sender
	// Snapshots gives the organization's effective branding; nil means
	// none (the display name is the handle, default colours).
	Snapshots func() *snapshot.Snapshot
	// MaxAttempts per message; zero means DefaultOutboxMaxAttempts.
	MaxAttempts int
	// MailPerOrganization bounds the messages sent per MailWindow for one
	// customer (the organization below the root, with its descendants; the
	// root's own messages count apart): organization admins choose the
	// recipients of invitations and may ask for new ones at will, and the
	// relay must not become their mass mailer. A message over the limit
	// waits, pending, until the window has room. Zero means
	// DefaultOutboxMailPerOrganization.
	MailPerOrganization int
	// MailWindow is the window of MailPerOrganization; zero means
	// DefaultOutboxMailWindow.
	MailWindow time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu sync.Mutex
	// sentAt holds, per customer, when its messages in the current window
	// were sent (at most MailPerOrganization each).
	sentAt    map[string][]time.Time
	templates map[string]cachedTemplates
	// handled holds the messages this process marked, until
	// handledMemory has passed: long enough for the cache to show the mark.
	handled map[string]handledMessage
}

// handledMessage is how this process handled a message.
type handledMessage struct {
	at            time.Time
	state, reason string
}

// handledMemory is how long a marked message is remembered.
const handledMemory = 10 * time.Minute

// remember records that name was handled (delivered or given up on).
func (r *OutboxReconciler) remember(name string, h handledMessage) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.handled == nil {
		r.handled = map[string]handledMessage{}
	}
	now := r.now()
	for k, old := range r.handled {
		if now.Sub(old.at) > handledMemory {
			delete(r.handled, k)
		}
	}
	h.at = now
	r.handled[name] = h
}

// handledRecently returns how this process handled name, if it did lately.
func (r *OutboxReconciler) handledRecently(name string) (handledMessage, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h, ok := r.handled[name]
	return h, ok && r.now().Sub(h.at) <= handledMemory
}

type cachedTemplates struct {
	t       *mail.Templates
	expires time.Time
}

// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get

// Reconcile delivers one pending message, or deletes a delivered or failed
// one once SentRetention has passed.
func (r *OutboxReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	s := &corev1.Secret{}
	if err := r.Get(ctx, req.NamespacedName, s); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if s.Type != mail.OutboxType {
		return ctrl.Result{}, nil
	}
	if s.Labels[mail.LabelOutbox] != mail.StatePending {
		return r.expire(ctx, s)
	}
	// The cache may be behind this reconciler's own mark: a message this
	// process has handled is not sent again, whatever the cache says. (A
	// new leader starts with a cache listed after the old one's marks.)
	if h, ok := r.handledRecently(s.Name); ok {
		// Marked already (the cache is behind), or the mark failed after
		// delivery: mark again, never send again.
		return ctrl.Result{}, r.mark(ctx, s, h.state, h.reason)
	}
	log := logf.FromContext(ctx)
	m, err := mail.ParseOutbox(s)
	if err != nil {
		return ctrl.Result{}, r.mark(ctx, s, mail.StateFailed, "the outbox message is unreadable: "+err.Error())
	}
	if !r.now().Before(m.ExpiresAt) {
		return ctrl.Result{}, r.mark(ctx, s, mail.StateFailed, "the link expired before the message could be delivered")
	}
	rendered, err := r.render(ctx, m)
	if err != nil {
		return ctrl.Result{}, r.mark(ctx, s, mail.StateFailed, "the message cannot be rendered: "+err.Error())
	}
	customer := r.customerOf(m.Organization)
	if wait := r.takeMailBudget(customer); wait > 0 {
		log.Info("the organization's mail limit is reached; the message waits", "outbox", s.Name, "kind", m.Kind,
			"customer", customer, "retryAfter", wait.String())
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	if err := r.Sender.Send(ctx, rendered); err != nil {
		attempts, _ := strconv.Atoi(s.Annotations[mail.AnnotationAttempts])
		attempts++
		if mail.IsPermanent(err) || attempts >= r.maxAttempts() {
			log.Error(err, "message not delivered; giving up", "outbox", s.Name, "kind", m.Kind, "attempts", attempts)
			return ctrl.Result{}, r.mark(ctx, s, mail.StateFailed, fmt.Sprintf("not delivered after %d attempts: %v", attempts, err))
		}
		log.Info("message not delivered yet; retrying", "outbox", s.Name, "kind", m.Kind, "attempt", attempts, "error", err.Error())
		patch := client.MergeFrom(s.DeepCopy())
		setAnnotation(s, mail.AnnotationAttempts, strconv.Itoa(attempts))
		setAnnotation(s, mail.AnnotationLastError, bounded(err.Error()))
		if perr := r.Patch(ctx, s, patch); perr != nil {
			return ctrl.Result{}, perr
		}
		return ctrl.Result{RequeueAfter: outboxBackoff(attempts)}, nil
	}
	log.Info("message delivered", "outbox", s.Name, "kind", m.Kind, "organization", m.Organization)
	if err := r.mark(ctx, s, mail.StateSent, ""); err != nil {
		// Delivered but not marked: the retry delivers it again (at least
		// once, with the same Message-ID).
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: mail.SentRetention}, nil
}

// customerOf is whose mail budget a message of org counts against: the
// organization below the root on org's path (org itself for the root, or
// when the snapshot does not serve org).
func (r *OutboxReconciler) customerOf(org string) string {
	if r.Snapshots == nil {
		return org
	}
	snap := r.Snapshots()
	if snap == nil {
		return org
	}
	if o := snap.Org(org); o != nil && len(o.Path) >= 2 {
		return o.Path[1]
	}
	return org
}

// takeMailBudget counts one message of customer and returns zero, or, when
// the customer's window is full, how long until it has room (and counts
// nothing).
func (r *OutboxReconciler) takeMailBudget(customer string) time.Duration {
	limit, window := r.MailPerOrganization, r.MailWindow
	if limit <= 0 {
		limit = DefaultOutboxMailPerOrganization
	}
	if window <= 0 {
		window = DefaultOutboxMailWindow
	}
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sentAt == nil {
		r.sentAt = map[string][]time.Time{}
	}
	for k, ts := range r.sentAt {
		i := 0
		for i < len(ts) && !now.Before(ts[i].Add(window)) {
			i++
		}
		if i == len(ts) {
			delete(r.sentAt, k)
		} else if i > 0 {
			r.sentAt[k] = ts[i:]
		}
	}
	ts := r.sentAt[customer]
	if len(ts) >= limit {
		return ts[0].Add(window).Sub(now) + time.Second
	}
	r.sentAt[customer] = append(ts, now)
	return 0
}

// mark records the message's final state and drops its content (the link
// and its token), keeping the Secret as the record that the message was
// handled. No optimistic lock: after a delivery nothing may stop the mark.
func (r *OutboxReconciler) mark(ctx context.Context, s *corev1.Secret, state, reason string) error {
	r.remember(s.Name, handledMessage{state: state, reason: reason})
	patch := client.MergeFrom(s.DeepCopy())
	s.Labels[mail.LabelOutbox] = state
	setAnnotation(s, mail.AnnotationSentAt, r.now().UTC().Format(time.RFC3339))
	if reason != "" {
		setAnnotation(s, mail.AnnotationLastError, bounded(reason))
		logf.FromContext(ctx).Info("outbox message failed", "outbox", s.Name, "reason", reason)
	}
	s.Data = nil
	if err := r.Patch(ctx, s, patch); err != nil {
		return fmt.Errorf("marking outbox message %s %s: %w", s.Name, state, err)
	}
	return nil
}

// expire deletes a handled message once SentRetention has passed.
func (r *OutboxReconciler) expire(ctx context.Context, s *corev1.Secret) (ctrl.Result, error) {
	at, err := time.Parse(time.RFC3339, s.Annotations[mail.AnnotationSentAt])
	if err != nil {
		at = s.CreationTimestamp.Time
	}
	if left := at.Add(mail.SentRetention).Sub(r.now()); left > 0 {
		return ctrl.Result{RequeueAfter: left}, nil
	}
	err = r.Delete(ctx, s, client.Preconditions{UID: &s.UID})
	return ctrl.Result{}, client.IgnoreNotFound(err)
}

// render renders m with its organization's branding and templates. An
// override that does not parse is reported and the built-in templates are
// used: a vendor's typo must not stop invitations.
func (r *OutboxReconciler) render(ctx context.Context, m *mail.Message) (*mail.Rendered, error) {
	brand := mail.Brand{Name: m.Organization}
	var chain []string // the organization and its ancestors, nearest first
	if r.Snapshots != nil {
		if snap := r.Snapshots(); snap != nil {
			if o := snap.Org(m.Organization); o != nil {
				brand = mail.Brand{Name: o.DisplayName, LogoURL: o.Branding.LogoURL,
					PrimaryColor: o.Branding.PrimaryColor, BackgroundColor: o.Branding.BackgroundColor, TextColor: o.Branding.TextColor}
				for a := o; a != nil; a = a.Parent {
					chain = append(chain, a.Name)
				}
			}
		}
	}
	if len(chain) == 0 {
		chain = []string{m.Organization}
	}
	t, err := r.templatesFor(ctx, chain)
	if err != nil {
		logf.FromContext(ctx).Error(err, "mail templates unusable; using the built-in ones", "organization", m.Organization)
		t = mail.Builtin
	}
	out, err := t.Render(m, brand)
	if err != nil && t != mail.Builtin {
		logf.FromContext(ctx).Error(err, "mail template failed; using the built-in one", "organization", m.Organization, "kind", m.Kind)
		return mail.Builtin.Render(m, brand)
	}
	return out, err
}

// templatesFor merges the installation's ConfigMap and those of the
// organization's ancestors and itself (nearer ones win, key by key), and
// parses the result; cached for templateCacheTTL.
func (r *OutboxReconciler) templatesFor(ctx context.Context, chain []string) (*mail.Templates, error) {
	org := chain[0]
	r.mu.Lock()
	if c, ok := r.templates[org]; ok && r.now().Before(c.expires) {
		r.mu.Unlock()
		return c.t, nil
	}
	r.mu.Unlock()
	merged := map[string]string{}
	names := []string{MailTemplatesConfigMap}
	for i := len(chain) - 1; i >= 0; i-- {
		names = append(names, MailTemplatesConfigMap+"-"+chain[i])
	}
	for _, name := range names {
		cm := &corev1.ConfigMap{}
		// ConfigMaps are not cached (the cache would hold the cluster's);
		// templateCacheTTL bounds the reads.
		err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: r.SystemNamespace, Name: name}, cm)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for k, v := range cm.Data {
			merged[k] = v
		}
	}
	t := mail.Builtin
	var err error
	if len(merged) > 0 {
		t, err = mail.ParseTemplates(merged)
		if err != nil {
			err = fmt.Errorf("ConfigMaps %s in %s: %w", strings.Join(names, ", "), r.SystemNamespace, err)
			t = nil
		}
	}
	if t != nil {
		r.mu.Lock()
		if r.templates == nil {
			r.templates = map[string]cachedTemplates{}
		}
		r.templates[org] = cachedTemplates{t: t, expires: r.now().Add(templateCacheTTL)}
		r.mu.Unlock()
	}
	return t, err
}

func (r *OutboxReconciler) maxAttempts() int {
	if r.MaxAttempts > 0 {
		return r.MaxAttempts
	}
	return DefaultOutboxMaxAttempts
}

func (r *OutboxReconciler) now() time.Time { return nowOr(r.Now) }

// outboxBackoff is the wait after attempt n: doubling from
// outboxBaseBackoff, at most outboxMaxBackoff.
func outboxBackoff(n int) time.Duration {
	d := outboxBaseBackoff
	for i := 1; i < n && d < outboxMaxBackoff; i++ {
		d *= 2
	}
	return min(d, outboxMaxBackoff)
}

func setAnnotation(s *corev1.Secret, k, v string) {
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	s.Annotations[k] = v
}

// bounded keeps an error message short enough for an annotation.
func bounded(s string) string {
	if len(s) > 512 {
		return s[:512] + "…"
	}
	return s
}

// SetupWithManager registers the reconciler: Secrets of the system
// namespace that are outbox messages, reconciled when they appear or change
// state (its own annotation updates do not requeue it; RequeueAfter does).
func (r *OutboxReconciler) SetupWithManager(mgr ctrl.Manager, concurrency int) error {
	if r.Sender == nil {
		return errors.New("outbox: a Sender is required")
	}
	isOutbox := func(o client.Object) bool {
		_, ok := o.GetLabels()[mail.LabelOutbox]
		return o.GetNamespace() == r.SystemNamespace && ok
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("outbox").
		For(&corev1.Secret{}, builder.WithPredicates(predicate.Funcs{
			CreateFunc: func(e event.CreateEvent) bool { return isOutbox(e.Object) },
			UpdateFunc: func(e event.UpdateEvent) bool {
				return isOutbox(e.ObjectNew) && e.ObjectOld.GetLabels()[mail.LabelOutbox] != e.ObjectNew.GetLabels()[mail.LabelOutbox]
			},
			DeleteFunc:  func(event.DeleteEvent) bool { return false },
			GenericFunc: func(e event.GenericEvent) bool { return isOutbox(e.Object) },
		})).
		WithOptions(controller.Options{MaxConcurrentReconciles: concurrency}).
		Complete(r)
}
