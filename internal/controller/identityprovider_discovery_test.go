package controller

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/connector"
	"github.com/orgkeeper/orgkeeper/internal/connector/upstreamtest"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

// discoveryRecheck is the suite's DiscoveryRecheckPeriod.
const discoveryRecheck = time.Second

// idpUpstream is a working upstream provider on loopback, the default
// issuer of the specs' IdentityProviders.
var idpUpstream *upstreamtest.Fake

// suiteT is the test running the Ginkgo suite: upstreamtest.NewFake needs a
// testing.TB, and its Fakes stop when the suite ends.
var suiteT *testing.T

// stoppableUpstream fronts a Fake on a fixed loopback address that can be
// stopped (connections refused) and started again on the same address,
// like a provider that goes down and comes back.
type stoppableUpstream struct {
	fake  *upstreamtest.Fake
	addr  string
	proxy http.Handler
	srv   *httptest.Server
}

func newStoppableUpstream() *stoppableUpstream {
	GinkgoHelper()
	f := upstreamtest.NewFake(suiteT)
	backend, err := url.Parse(f.URL)
	Expect(err).NotTo(HaveOccurred())
	u := &stoppableUpstream{fake: f, proxy: httputil.NewSingleHostReverseProxy(backend)}
	u.start("127.0.0.1:0")
	u.addr = u.srv.Listener.Addr().String()
	// The Fake names the front as its issuer and endpoints.
	f.Set(func(f *upstreamtest.Fake) { f.URL = "http://" + u.addr })
	DeferCleanup(func() { u.stop() })
	return u
}

func (u *stoppableUpstream) start(addr string) {
	GinkgoHelper()
	l, err := net.Listen("tcp", addr)
	Expect(err).NotTo(HaveOccurred())
	u.srv = httptest.NewUnstartedServer(u.proxy)
	u.srv.Listener.Close()
	u.srv.Listener = l
	u.srv.Start()
}

func (u *stoppableUpstream) stop() {
	if u.srv != nil {
		u.srv.CloseClientConnections()
		u.srv.Close()
		u.srv = nil
	}
}

func (u *stoppableUpstream) url() string { return "http://" + u.addr }

func discoveryMessage(namespace, name string) string {
	c := meta.FindStatusCondition(get(newIdP(), namespace, name).Status.Conditions, iamv1.ConditionDiscoveryReady)
	if c == nil {
		return ""
	}
	return c.Message
}

var _ = Describe("IdentityProvider discovery", func() {
	const org = "disco-acme"
	BeforeEach(func() {
		ensureRoot()
		ensureOrg(org, rootName)
	})

	It("records the discovered endpoints and the RFC 9207 promise, and is Ready without revealing the client secret", func() {
		const secret = "upstream-client-secret-value"
		createFrom(st.Secret(org, "found-secret", "client-secret", secret))
		createFrom(st.IdP(org, "found", st.WithIssuer(idpUpstream.URL), st.WithIdPSecretRef("found-secret", "client-secret")))
		i := idpCondition(org, "found", iamv1.ConditionReady, metav1.ConditionTrue, iamv1.ReasonReconciled)
		Expect(meta.IsStatusConditionTrue(i.Status.Conditions, iamv1.ConditionDiscoveryReady)).To(BeTrue())
		Expect(i.Status.Discovery).To(Equal(&iamv1.IdentityProviderDiscovery{
			AuthorizationEndpoint: idpUpstream.URL + "/authorize",
			TokenEndpoint:         idpUpstream.URL + "/token",
			JWKSURI:               idpUpstream.URL + "/keys",
			UserinfoEndpoint:      idpUpstream.URL + "/userinfo",
			AuthorizationResponseIssParameterSupported: true,
		}))
		status, err := json.Marshal(i.Status)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(status)).NotTo(ContainSubstring(secret))
	})

	It("says DiscoveryInvalid when the document names another issuer, and recovers once the upstream is fixed", func() {
		u := newStoppableUpstream()
		u.fake.Set(func(f *upstreamtest.Fake) {
			f.Discovery = func(doc map[string]any) { doc["issuer"] = "https://evil.example" }
		})
		createFrom(st.IdP(org, "mismatch", st.WithIssuer(u.url())))
		i := idpCondition(org, "mismatch", iamv1.ConditionDiscoveryReady, metav1.ConditionFalse, iamv1.ReasonDiscoveryInvalid)
		Expect(discoveryMessage(org, "mismatch")).To(And(ContainSubstring(`"https://evil.example"`), ContainSubstring("spec.oidc.issuer")))
		Expect(i.Status.Discovery).To(BeNil())
		idpCondition(org, "mismatch", iamv1.ConditionReady, metav1.ConditionFalse, iamv1.ReasonDiscoveryInvalid)

		u.fake.Set(func(f *upstreamtest.Fake) { f.Discovery = nil })
		i = idpCondition(org, "mismatch", iamv1.ConditionReady, metav1.ConditionTrue, iamv1.ReasonReconciled)
		Expect(i.Status.Discovery).NotTo(BeNil())
		Expect(i.Status.Discovery.TokenEndpoint).To(Equal(u.url() + "/token"))
	})

	It("shows an upstream that stops within the recheck period, and comes back on its own when it restarts", func() {
		u := newStoppableUpstream()
		createFrom(st.IdP(org, "flaky", st.WithIssuer(u.url())))
		idpCondition(org, "flaky", iamv1.ConditionReady, metav1.ConditionTrue, iamv1.ReasonReconciled)

		u.stop()
		// Nothing but the recheck schedule reconciles the provider now;
		// the timeout is a few recheck periods, for a loaded machine.
		Eventually(func(g Gomega) {
			i := get(newIdP(), org, "flaky")
			c := meta.FindStatusCondition(i.Status.Conditions, iamv1.ConditionDiscoveryReady)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Reason).To(Equal(iamv1.ReasonIssuerUnreachable), c.Message)
			g.Expect(i.Status.Discovery).To(BeNil())
			g.Expect(meta.FindStatusCondition(i.Status.Conditions, iamv1.ConditionReady).Reason).To(Equal(iamv1.ReasonIssuerUnreachable))
		}).WithTimeout(15 * discoveryRecheck).Should(Succeed())
		Expect(discoveryMessage(org, "flaky")).To(ContainSubstring("retried on its own"))

		u.start(u.addr)
		Eventually(func(g Gomega) {
			i := get(newIdP(), org, "flaky")
			g.Expect(meta.IsStatusConditionTrue(i.Status.Conditions, iamv1.ConditionReady)).To(BeTrue())
			g.Expect(i.Status.Discovery).NotTo(BeNil())
		}).WithTimeout(15 * discoveryRecheck).Should(Succeed())
	})

	It("follows a changed spec.oidc.issuer without a restart", func() {
		down := newStoppableUpstream()
		down.stop()
		createFrom(st.IdP(org, "moved", st.WithIssuer(down.url())))
		idpCondition(org, "moved", iamv1.ConditionDiscoveryReady, metav1.ConditionFalse, iamv1.ReasonIssuerUnreachable)

		i := get(newIdP(), org, "moved")
		i.Spec.OIDC.Issuer = idpUpstream.URL
		Expect(k8s.Update(ctx, i)).To(Succeed())
		i = idpCondition(org, "moved", iamv1.ConditionReady, metav1.ConditionTrue, iamv1.ReasonReconciled)
		Expect(i.Status.Discovery.JWKSURI).To(Equal(idpUpstream.URL + "/keys"))
	})
})

func TestDiscoveryCheck(t *testing.T) {
	mismatch := connectorError(t, func(f *upstreamtest.Fake) {
		f.Discovery = func(doc map[string]any) { doc["issuer"] = "https://other.example" }
	})
	plainHTTP := connectorError(t, func(f *upstreamtest.Fake) {
		f.Discovery = func(doc map[string]any) { doc["token_endpoint"] = "http://tokens.example/token" }
	})
	f := upstreamtest.NewFake(t)
	_, productionLoopback := connector.Discover(t.Context(), f.URL, connector.Config{})
	if productionLoopback == nil {
		t.Fatal("a plain-http loopback issuer passed discovery without AllowLoopbackHTTP")
	}
	down := connectorError(t, func(f *upstreamtest.Fake) {
		f.Handlers["/.well-known/openid-configuration"] = func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	for _, tc := range []struct {
		name   string
		err    error
		ok     bool
		reason string
		says   string
	}{
		{"works", nil, true, iamv1.ReasonReconciled, "checked again every 1m0s"},
		{"another issuer", mismatch, false, iamv1.ReasonDiscoveryInvalid, `"https://other.example"`},
		{"endpoint without https", plainHTTP, false, iamv1.ReasonDiscoveryInvalid, "token_endpoint"},
		{"plain http in production", productionLoopback, false, iamv1.ReasonDiscoveryInvalid, "https"},
		{"server error", down, false, iamv1.ReasonIssuerUnreachable, "503"},
		{"not a connector error", errors.New("boom"), false, iamv1.ReasonIssuerUnreachable, "retried on its own"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := discoveryCheck("https://idp.example", discoveryResult{err: tc.err}, time.Minute)
			if !c.ran || c.ok != tc.ok || c.reason != tc.reason || !strings.Contains(c.message, tc.says) {
				t.Errorf("got %+v; want ok=%v reason %s, a message saying %q", c, tc.ok, tc.reason, tc.says)
			}
		})
	}
}

// connectorError is what connector.Discover says of a Fake changed by change.
func connectorError(t *testing.T, change func(*upstreamtest.Fake)) error {
	t.Helper()
	f := upstreamtest.NewFake(t)
	f.Set(change)
	_, err := connector.Discover(t.Context(), f.URL, connector.Config{AllowLoopbackHTTP: true})
	if err == nil {
		t.Fatal("discovery passed")
	}
	return err
}

func TestDiscoveryRetryAfter(t *testing.T) {
	const recheck = 10 * time.Second
	for _, tc := range []struct {
		failures int
		want     time.Duration
	}{
		{0, recheck}, // a success waits the full period
		{1, time.Second},
		{2, 2 * time.Second},
		{4, 8 * time.Second},
		{5, recheck}, // capped
		{60, recheck},
	} {
		r := discoveryResult{failures: tc.failures}
		if tc.failures > 0 {
			r.err = errors.New("down")
		}
		if got := r.retryAfter(recheck); got != tc.want {
			t.Errorf("%d failures: retry after %s, want %s", tc.failures, got, tc.want)
		}
	}
}

func TestSetIdPConditions(t *testing.T) {
	ok := passed(iamv1.ReasonReconciled, "ok")
	unreachable := failed(iamv1.ReasonIssuerUnreachable, "down")
	noSecret := failed(iamv1.ReasonSecretNotFound, "no secret")
	noOrg := failed(iamv1.ReasonOrganizationNotFound, "no org")
	type want struct{ secret, discovery, ready metav1.ConditionStatus }
	for _, tc := range []struct {
		name        string
		out         idpOutcome
		want        want
		readyReason string
	}{
		{"all good", idpOutcome{organization: ok, secret: ok, discovery: ok, served: ok},
			want{metav1.ConditionTrue, metav1.ConditionTrue, metav1.ConditionTrue}, iamv1.ReasonReconciled},
		{"discovery fails", idpOutcome{organization: ok, secret: ok, discovery: unreachable},
			want{metav1.ConditionTrue, metav1.ConditionFalse, metav1.ConditionFalse}, iamv1.ReasonIssuerUnreachable},
		{"secret missing comes first", idpOutcome{organization: ok, secret: noSecret, discovery: unreachable},
			want{metav1.ConditionFalse, metav1.ConditionFalse, metav1.ConditionFalse}, iamv1.ReasonSecretNotFound},
		{"secret missing, discovery works", idpOutcome{organization: ok, secret: noSecret, discovery: ok},
			want{metav1.ConditionFalse, metav1.ConditionTrue, metav1.ConditionFalse}, iamv1.ReasonSecretNotFound},
		{"no organization", idpOutcome{organization: noOrg},
			want{metav1.ConditionFalse, metav1.ConditionFalse, metav1.ConditionFalse}, iamv1.ReasonOrganizationNotFound},
		{"not served yet", idpOutcome{organization: ok, secret: ok, discovery: ok},
			want{metav1.ConditionTrue, metav1.ConditionTrue, metav1.ConditionUnknown}, iamv1.ReasonReconciling},
	} {
		t.Run(tc.name, func(t *testing.T) {
			idp := &iamv1.IdentityProvider{ObjectMeta: metav1.ObjectMeta{Generation: 3}}
			setIdPConditions(idp, &tc.out)
			got := func(typ string) *metav1.Condition { return meta.FindStatusCondition(idp.Status.Conditions, typ) }
			if c := got(iamv1.ConditionSecretFound); c.Status != tc.want.secret {
				t.Errorf("SecretFound %s, want %s", c.Status, tc.want.secret)
			}
			if c := got(iamv1.ConditionDiscoveryReady); c.Status != tc.want.discovery {
				t.Errorf("DiscoveryReady %s, want %s", c.Status, tc.want.discovery)
			}
			if c := got(iamv1.ConditionReady); c.Status != tc.want.ready || c.Reason != tc.readyReason || c.ObservedGeneration != 3 {
				t.Errorf("Ready %s %s (generation %d), want %s %s", c.Status, c.Reason, c.ObservedGeneration, tc.want.ready, tc.readyReason)
			}
		})
	}
}
