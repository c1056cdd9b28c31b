package controller

import (
	"context"
	"errors"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/connector"
)

// DefaultDiscoveryRecheckPeriod is how often a provider whose discovery
// works is asked again, so that one that goes away shows in its status.
const DefaultDiscoveryRecheckPeriod = 5 * time.Minute

// discoveryFirstRetry is the wait after a first failed discovery; it
// doubles with every further failure, up to the recheck period.
const discoveryFirstRetry = time.Second

// discoveryResult is the last discovery attempt for one provider version.
type discoveryResult struct {
	uid        types.UID // a re-created provider starts afresh
	issuer     string
	generation int64
	at         time.Time
	found      connector.Discovery
	err        error
	failures   int // consecutive failures, for the backoff
}

// discoveries remembers each provider's last discovery attempt, so that a
// reconcile triggered by anything else (a Secret, the server's
// announcements) does not ask the provider again before it is due. Keyed
// by name, so that a deleted provider's entry can be forgotten when its
// reconcile finds it gone.
type discoveries struct {
	mu     sync.Mutex
	byName map[types.NamespacedName]discoveryResult
}

func (d *discoveries) get(key types.NamespacedName) (discoveryResult, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r, ok := d.byName[key]
	return r, ok
}

func (d *discoveries) put(key types.NamespacedName, r discoveryResult) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.byName == nil {
		d.byName = map[types.NamespacedName]discoveryResult{}
	}
	d.byName[key] = r
}

func (d *discoveries) forget(key types.NamespacedName) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.byName, key)
}

// retryAfter is how long after r the next attempt is due: the recheck
// period after a success, an exponential backoff capped at it after
// failures.
func (r discoveryResult) retryAfter(recheck time.Duration) time.Duration {
	if r.err == nil {
		return recheck
	}
	wait := discoveryFirstRetry
	for i := 1; i < r.failures && wait < recheck; i++ {
		wait *= 2
	}
	return min(wait, recheck)
}

// discover returns the discovery of idp's issuer, fetched through
// connector.Discover (the connector's own rules: bounded, the issuer named
// exactly, https endpoints) when none is known for this generation or the
// last one is due, and how long until the next attempt.
func (r *IdentityProviderReconciler) discover(ctx context.Context, idp *iamv1.IdentityProvider, issuer string) (discoveryResult, time.Duration) {
	now := r.now()
	recheck := r.recheckPeriod()
	key := types.NamespacedName{Namespace: idp.Namespace, Name: idp.Name}
	last, ok := r.discoveries.get(key)
	if ok && last.uid == idp.UID && last.issuer == issuer && last.generation == idp.Generation {
		if due := last.at.Add(last.retryAfter(recheck)); now.Before(due) {
			return last, due.Sub(now)
		}
	} else {
		last = discoveryResult{}
	}
	found, err := connector.Discover(ctx, issuer, connector.Config{
		Timeout:           r.DiscoveryTimeout,
		AllowLoopbackHTTP: r.AllowLoopbackIssuers,
		AllowedNetworks:   r.AllowedNetworks,
	})
	res := discoveryResult{uid: idp.UID, issuer: issuer, generation: idp.Generation, at: now, found: found, err: err}
	if err != nil {
		res.failures = last.failures + 1
	}
	r.discoveries.put(key, res)
	return res, res.retryAfter(recheck)
}

// discoveryCheck turns a discovery result into DiscoveryReady's check. The
// error texts of connector.Discover hold URLs and reasons, never a secret.
func discoveryCheck(issuer string, res discoveryResult, recheck time.Duration) check {
	var cerr *connector.Error
	switch {
	case res.err == nil:
		return passed(iamv1.ReasonReconciled, "the discovery document of %s was fetched and is usable; it is checked again every %s", issuer, recheck)
	case errors.As(res.err, &cerr) && cerr.Reason == connector.ReasonMisconfigured:
		return failed(iamv1.ReasonDiscoveryInvalid,
			"the discovery document of %s cannot be used (%v); correct spec.oidc.issuer or the provider's configuration", issuer, res.err)
	}
	return failed(iamv1.ReasonIssuerUnreachable,
		"the discovery document of %s could not be fetched (%v); check that the issuer is right and reachable from Orgkeeper; it is retried on its own, at least every %s",
		issuer, res.err, recheck)
}
