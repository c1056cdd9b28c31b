package e2e

import (
	"context"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/redis/go-redis/v9"
	"golang.org/x/oauth2"
	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/orgkeeper/orgkeeper/internal/app"
	"github.com/orgkeeper/orgkeeper/internal/controller"
	"github.com/orgkeeper/orgkeeper/internal/server"
	"github.com/orgkeeper/orgkeeper/internal/session/redisstore"
	"github.com/orgkeeper/orgkeeper/internal/session/redisstore/redistest"
)

// replica is one issuer replica: a manager with its own listener.
type replica struct {
	name string
	url  *url.URL
	srv  *server.Server
	stop context.CancelFunc
	done chan struct{}
}

// roundRobin is a load balancer on loopback: each request goes to the next
// replica still in rotation, as a Service does across ready endpoints.
type roundRobin struct {
	mu       sync.Mutex
	backends []*replica
	next     int
	// served logs, per request, the path and the replica that served it.
	served []hop
}

type hop struct{ path, replica string }

func (rr *roundRobin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rr.mu.Lock()
	if len(rr.backends) == 0 {
		rr.mu.Unlock()
		http.Error(w, "no replica", http.StatusBadGateway)
		return
	}
	b := rr.backends[rr.next%len(rr.backends)]
	rr.next++
	rr.served = append(rr.served, hop{r.URL.Path, b.name})
	rr.mu.Unlock()
	// The Host header stays the balancer's, as with a real load balancer.
	httputil.NewSingleHostReverseProxy(b.url).ServeHTTP(w, r)
}

// remove takes a replica out of rotation (its endpoint stops being ready).
func (rr *roundRobin) remove(name string) {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	for i, b := range rr.backends {
		if b.name == name {
			rr.backends = append(rr.backends[:i], rr.backends[i+1:]...)
			return
		}
	}
}

// since returns the hops logged after the first n.
func (rr *roundRobin) since(n int) []hop {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	return append([]hop(nil), rr.served[n:]...)
}

func (rr *roundRobin) count() int {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	return len(rr.served)
}

func replicasOf(hops []hop) map[string]int {
	m := map[string]int{}
	for _, h := range hops {
		m[h.replica]++
	}
	return m
}

// startLoadBalancer serves a roundRobin on a loopback port until cleanup
// and returns it with the issuer URL it answers on.
func startLoadBalancer() (*roundRobin, string) {
	GinkgoHelper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	lb := &roundRobin{}
	srv := &http.Server{Handler: lb, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	DeferCleanup(func() { _ = srv.Close() })
	return lb, "http://" + l.Addr().String()
}

// startReplica starts the issuer replica name: a manager with leader
// election on, talking to the API server of cfg, serving issuer on a
// loopback port of its own and keeping its sessions in rdb. It runs until
// cleanup; the caller waits for it to be ready.
func startReplica(name string, cfg *rest.Config, issuer string, rdb *redis.Client) *replica {
	GinkgoHelper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	mgr, srv, err := app.NewManager(cfg, app.Settings{
		Controller:  controller.Options{SystemNamespace: systemNamespace},
		LeaderElect: true,
		MetricsAddr: "0",
		HealthAddr:  "0",
		Issuer:      issuer,
		Listener:    l,
		Sessions:    redisstore.New(rdb),
		Log:         logf.Log.WithName(name),
	})
	Expect(err).NotTo(HaveOccurred())
	rctx, stop := context.WithCancel(ctx)
	r := &replica{name: name, url: &url.URL{Scheme: "http", Host: l.Addr().String()}, srv: srv, stop: stop, done: make(chan struct{})}
	go func() {
		defer GinkgoRecover()
		defer close(r.done)
		Expect(mgr.Start(rctx)).To(Succeed())
	}()
	DeferCleanup(func() { stop(); <-r.done })
	return r
}

var _ = Describe("Several issuer replicas on a shared Redis session store", Ordered, func() {
	var (
		lb       *roundRobin
		replicas []*replica
		lbIssuer string
		conf     oauth2.Config
		verifier *gooidc.IDTokenVerifier
	)

	BeforeAll(func() {
		rdb := redistest.Start(GinkgoT()).Client(GinkgoT())

		// The suite's own manager runs the reconcilers without leader
		// election. Holding the Lease keeps the replicas from becoming
		// leader as well: like every replica but one in a Deployment,
		// they only serve.
		holdLeaderLease()

		lb, lbIssuer = startLoadBalancer()

		for _, name := range []string{"replica-a", "replica-b"} {
			replicas = append(replicas, startReplica(name, env.Config, lbIssuer, rdb))
		}
		for _, r := range replicas {
			Eventually(func() error { return r.srv.Ready(nil) }).Should(Succeed(), "%s never became ready", r.name)
		}
		lb.backends = append(lb.backends, replicas...)

		p, err := gooidc.NewProvider(ctx, lbIssuer)
		Expect(err).NotTo(HaveOccurred())
		conf = portal
		conf.Endpoint = p.Endpoint()
		verifier = p.Verifier(&gooidc.Config{ClientID: "portal", SupportedSigningAlgs: []string{gooidc.ES256}})
	})

	var refreshToken string

	It("finish a sign-in on a replica other than the one where it started, and redeem its code on either", func() {
		start := lb.count()
		a := authorize(conf)
		b := newBrowser()
		f := replicaSignIn(b, lbIssuer, replicaFollow(b, lbIssuer, b.get(a.URL)), "alice@acme.example")
		code := replicaCode(f, a, lbIssuer)
		tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(a.Verifier))
		Expect(err).NotTo(HaveOccurred())
		raw, _ := tok.Extra("id_token").(string)
		idt, err := verifier.Verify(ctx, raw)
		Expect(err).NotTo(HaveOccurred())
		Expect(idt.Subject).To(Equal(getUser("acme", "alice").Status.ID))
		refreshToken = tok.RefreshToken
		Expect(refreshToken).NotTo(BeEmpty())

		hops := lb.since(start)
		Expect(replicasOf(hops)).To(HaveLen(2), "the flow should have hopped between both replicas: %v", hops)
		for i := 1; i < len(hops); i++ {
			Expect(hops[i].replica).NotTo(Equal(hops[i-1].replica), "round robin: every step on the other replica: %v", hops)
		}
	})

	It("rotate a refresh token on either replica, and detect a replay across them", func() {
		var rotatedOn []string
		rt := refreshToken
		for range 2 {
			start := lb.count()
			tok, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: rt}).Token()
			Expect(err).NotTo(HaveOccurred())
			Expect(tok.RefreshToken).NotTo(Equal(rt))
			hops := lb.since(start)
			Expect(hops).To(HaveLen(1))
			rotatedOn = append(rotatedOn, hops[0].replica)
			rt = tok.RefreshToken
		}
		Expect(rotatedOn[0]).NotTo(Equal(rotatedOn[1]), "the two rotations should have run on different replicas")
		refreshToken = rt

		// A token rotated on one replica is a replay on the other: the
		// family ends, the newest token included.
		old := rt
		tok, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: old}).Token()
		Expect(err).NotTo(HaveOccurred())
		_, err = conf.TokenSource(ctx, &oauth2.Token{RefreshToken: old}).Token()
		Expect(oauthError(err)).To(Equal("invalid_grant"))
		_, err = conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
		Expect(oauthError(err)).To(Equal("invalid_grant"), "the replay on the other replica revoked the family")
	})

	It("lose no sign-in or refresh token when one replica stops in the middle of a flow", func() {
		// A fresh grant whose refresh token must survive the stop.
		a := authorize(conf)
		b := newBrowser()
		f := replicaSignIn(b, lbIssuer, replicaFollow(b, lbIssuer, b.get(a.URL)), "alice@acme.example")
		tok, err := conf.Exchange(ctx, replicaCode(f, a, lbIssuer), oauth2.VerifierOption(a.Verifier))
		Expect(err).NotTo(HaveOccurred())
		survivor := tok.RefreshToken

		// Start a second sign-in: the login page is open, the auth
		// request lives in the store. Then the replica that served the
		// last step goes away.
		a2 := authorize(conf)
		b2 := newBrowser()
		start := lb.count()
		p := replicaFollow(b2, lbIssuer, b2.get(a2.URL))
		hops := lb.since(start)
		Expect(hops).NotTo(BeEmpty())
		gone := hops[len(hops)-1].replica
		for _, r := range replicas {
			if r.name == gone {
				lb.remove(r.name)
				r.stop()
				Eventually(r.done).Should(BeClosed(), "%s did not stop", r.name)
			}
		}

		start = lb.count()
		f2 := replicaSignIn(b2, lbIssuer, p, "alice@acme.example")
		tok2, err := conf.Exchange(ctx, replicaCode(f2, a2, lbIssuer), oauth2.VerifierOption(a2.Verifier))
		Expect(err).NotTo(HaveOccurred(), "the sign-in begun before the stop finishes on the remaining replica")
		Expect(tok2.Extra("id_token")).NotTo(BeNil())
		_, err = conf.TokenSource(ctx, &oauth2.Token{RefreshToken: survivor}).Token()
		Expect(err).NotTo(HaveOccurred(), "a refresh token issued before the stop still rotates")
		Expect(replicasOf(lb.since(start))).NotTo(HaveKey(gone))
	})
})

// holdLeaderLease takes the manager's leader Lease for the test suite, so
// that replicas started with leader election only serve.
func holdLeaderLease() {
	GinkgoHelper()
	now := metav1.NewMicroTime(time.Now())
	lease := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Namespace: systemNamespace, Name: app.LeaderElectionID},
		Spec: coordinationv1.LeaseSpec{
			HolderIdentity:       ptr.To("e2e-suite"),
			LeaseDurationSeconds: ptr.To[int32](3600),
			AcquireTime:          &now,
			RenewTime:            &now,
		},
	}
	if err := k8s.Create(ctx, lease); err != nil && !apierrors.IsAlreadyExists(err) {
		Expect(err).NotTo(HaveOccurred())
	}
}

// replicaFollow follows redirects that stay on the issuer iss.
func replicaFollow(b *browser, iss string, p page) page {
	GinkgoHelper()
	u, _ := url.Parse(iss)
	for i := 0; p.Location != nil && p.Location.Host == u.Host; i++ {
		Expect(i).To(BeNumerically("<", 10), "redirect loop at %s", p.URL)
		p = b.get(p.Location.String())
	}
	return p
}

// replicaSignIn fills the login forms from page p on, as signIn does, for
// the issuer iss.
func replicaSignIn(b *browser, iss string, p page, email string) flow {
	GinkgoHelper()
	var f flow
	for range 4 {
		if p.Location != nil {
			f.Last, f.Response = p, p.Location
			return f
		}
		fm, ok := findForm(p)
		if !ok || p.Status != http.StatusOK {
			break
		}
		if _, isPassword := fm.Fields["password"]; isPassword {
			if fm.Fields.Get("username") == "" {
				fm.Fields.Set("username", email)
			}
			fm.Fields.Set("password", password)
		} else {
			fm.Fields.Set("username", email)
		}
		f.Steps = append(f.Steps, fm.Action.Path)
		p = replicaFollow(b, iss, b.post(fm.Action.String(), fm.Fields))
	}
	f.Last = p
	return f
}

// replicaCode checks the authorization response of issuer iss and returns
// its code.
func replicaCode(f flow, a authorization, iss string) string {
	GinkgoHelper()
	Expect(f.Response).NotTo(BeNil(), "no authorization response; last page %d at %s:\n%s", f.Last.Status, f.Last.URL, f.Last.Body)
	q := f.Response.Query()
	Expect(q.Get("error")).To(BeEmpty(), "error response: %s", f.Response)
	Expect(q.Get("state")).To(Equal(a.State))
	Expect(q.Get("iss")).To(Equal(iss))
	return q.Get("code")
}
