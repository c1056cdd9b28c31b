package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/oauth2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/app"
	"github.com/orgkeeper/orgkeeper/internal/controller"
	"github.com/orgkeeper/orgkeeper/internal/devenv"
	"github.com/orgkeeper/orgkeeper/internal/login"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

const systemNamespace = "orgkeeper-system"

var (
	ctx    context.Context
	cancel context.CancelFunc
	env    *devenv.Env
	k8s    client.Client
	scheme = runtime.NewScheme()

	// issuer is the OIDC server's URL, http on loopback.
	issuer string
	// rp is the relying party's callback server; it only has to exist
	// (the browser stops at the redirect to it).
	rp *httptest.Server
	// provider is go-oidc's view of the issuer (discovery, JWKS).
	provider *gooidc.Provider
	// portal (confidential) and spa (public) are the relying parties'
	// oauth2 configurations; portalVerifier verifies portal's ID tokens.
	portal, spa    oauth2.Config
	portalVerifier *gooidc.IDTokenVerifier
)

func TestE2E(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Orgkeeper end-to-end suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	SetDefaultEventuallyTimeout(30 * time.Second)
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	ctx, cancel = context.WithCancel(context.Background())
	Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	Expect(iamv1.AddToScheme(scheme)).To(Succeed())

	// A real kube-apiserver and etcd with the CRDs and the org-admin
	// ClusterRole installed, as `orgkeeper dev` runs them.
	var err error
	env, err = devenv.Start(ctx, devenv.Options{})
	Expect(err).NotTo(HaveOccurred(), "run with `make test`, which builds the control plane")
	cfg := env.Config
	k8s, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	Expect(devenv.EnsureNamespace(ctx, k8s, systemNamespace)).To(Succeed())

	// The manager, wired exactly as `orgkeeper manager` wires it, with the
	// issuer on a port bound before the issuer URL is built from it.
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	issuer = "http://" + listener.Addr().String()
	mgr, srv, err := app.NewManager(cfg, app.Settings{
		Controller:  controller.Options{SystemNamespace: systemNamespace, UpstreamAllowedNetworks: upstreamNetworks},
		MetricsAddr: "0",
		HealthAddr:  "0",
		Issuer:      issuer,
		Listener:    listener,
		Connectors:  upstreamConnectors(), // federation_test.go
		// Mail goes to a real SMTP server on loopback (onboarding_test.go);
		// every spec comes from 127.0.0.1, so the per-address limits are
		// raised (the login package's tests cover them).
		Mail:       startMail(),
		MailLimits: login.MailLimits{PerAddress: 10000, LinkAttempts: 10000},
		Log:        logf.Log.WithName("server"),
	})
	Expect(err).NotTo(HaveOccurred())

	go func() {
		defer GinkgoRecover()
		Expect(mgr.Start(ctx)).To(Succeed())
	}()

	rp = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "relying party")
	}))

	applyWorld()

	Eventually(func() error { return srv.Ready(nil) }).Should(Succeed())
	Eventually(func() error {
		provider, err = gooidc.NewProvider(ctx, issuer)
		return err
	}).Should(Succeed())

	secret := &corev1.Secret{}
	Eventually(func() error {
		return k8s.Get(ctx, client.ObjectKey{Namespace: "platform", Name: "portal-oidc-client"}, secret)
	}).Should(Succeed())
	Expect(secret.Data).To(HaveKey("client-secret"))
	portal = oauth2.Config{
		ClientID:     "portal",
		ClientSecret: string(secret.Data["client-secret"]),
		Endpoint:     provider.Endpoint(),
		RedirectURL:  portalRedirect(),
		Scopes:       []string{gooidc.ScopeOpenID, "profile", "email", gooidc.ScopeOfflineAccess},
	}
	spa = oauth2.Config{
		ClientID:    "spa",
		Endpoint:    provider.Endpoint(),
		RedirectURL: spaRedirect(),
		Scopes:      []string{gooidc.ScopeOpenID, "profile", "email"},
	}
	spa.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	portalVerifier = provider.Verifier(&gooidc.Config{ClientID: "portal", SupportedSigningAlgs: []string{gooidc.ES256}})
})

var _ = AfterSuite(func() {
	if rp != nil {
		rp.Close()
	}
	if cancel != nil {
		cancel()
	}
	if env != nil {
		Expect(env.Stop()).To(Succeed())
	}
})

func portalRedirect() string { return rp.URL + "/callback" }
func spaRedirect() string    { return rp.URL + "/spa/callback" }

// portalLocalhostRedirect is portal's second redirect URI, with a host name.
func portalLocalhostRedirect() string {
	return strings.Replace(rp.URL, "127.0.0.1", "localhost", 1) + "/callback"
}

// password is every user's initial password.
const password = "correct horse battery staple"

// applyWorld creates the world, built with snapshottest, through the API,
// parents first (a child's namespace exists only once its parent's
// Organization is reconciled), and waits until everything is Ready. The
// reconcilers place the organizations and write every status.
func applyWorld() {
	var ready []client.Object
	for _, o := range []iamv1.Organization{
		st.Org("platform", st.WithDisplayName("Platform"), st.WithDomainVerification(iamv1.DomainVerificationNone)),
		st.Org("acme", st.WithParent("platform"), st.WithDisplayName("ACME Corporation"), st.WithDomains("acme.example")),
		st.Org("acme-eu", st.WithParent("acme"), st.WithDisplayName("ACME Europe"), st.WithDomains("eu.acme.example")),
		st.Org("globex", st.WithParent("platform"), st.WithDisplayName("Globex"), st.WithDomains("globex.example")),
	} {
		obj := st.ForCreate(o)
		create(obj)
		ready = append(ready, obj)
	}

	ready = append(ready,
		user("acme", "alice", "alice@acme.example", st.WithNames("Alice Liddell", "", ""),
			st.WithRoles("admin"), st.WithApplicationRoles("portal", "buyer")),
		user("acme-eu", "erin", "erin@eu.acme.example", st.WithNames("Erin Europa", "", "")),
		user("globex", "gabe", "gabe@globex.example"),
		user("acme", "dan", "dan@acme.example", st.Disabled()),
		user("acme", "lou", "lou@acme.example"), // locked out by the lockout spec
	)

	// Both are shared with acme and its sub-organizations.
	for _, a := range []iamv1.SharedApplication{
		st.App("platform", "portal", st.WithAppDisplayName("Partner Portal"),
			// The localhost form lets the redirect URI specs try a host
			// name in another case.
			st.WithRedirectURIs(portalRedirect(), portalLocalhostRedirect()),
			st.WithGrantTypes(iamv1.GrantTypeAuthorizationCode, iamv1.GrantTypeRefreshToken, iamv1.GrantTypeClientCredentials),
			st.DescribedRole("buyer", "Can place orders"), st.SharedWith(true, "acme")),
		st.App("platform", "spa", st.WithAppDisplayName("Single-Page App"), st.Public(),
			st.WithRedirectURIs(spaRedirect()),
			st.WithGrantTypes(iamv1.GrantTypeAuthorizationCode, iamv1.GrantTypeRefreshToken), st.SharedWith(true, "acme")),
	} {
		obj := st.ForCreate(a)
		create(obj)
		ready = append(ready, obj)
	}

	for _, o := range ready {
		eventuallyReady(o)
	}
}

// create creates obj, waiting for its namespace (made by the operator for
// the parent organization) to exist.
func create(obj client.Object) {
	GinkgoHelper()
	Eventually(func() error {
		err := k8s.Create(ctx, obj)
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return err
	}).Should(Succeed(), "creating %T %s", obj, client.ObjectKeyFromObject(obj))
}

// user creates the OrgUser that snapshottest builds from the arguments,
// with the initial password in a Secret of its own, and returns what it
// created.
func user(org, name, email string, opts ...st.UserOption) *iamv1.OrgUser {
	GinkgoHelper()
	secret := name + "-initial-password"
	create(st.ForCreate(st.Secret(org, secret, "password", password)))
	u := st.ForCreate(st.User(org, name, email, append([]st.UserOption{st.WithInitialPassword(secret, "password")}, opts...)...))
	create(u)
	return u
}

// eventuallyReady waits until obj has Ready=True for its current generation
// (for OrgUsers and SharedApplications: the OIDC server serves it), and
// leaves the object as read then in obj.
func eventuallyReady(obj client.Object) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(obj), obj)).To(Succeed())
		var conds []metav1.Condition
		var observed int64
		switch o := obj.(type) {
		case *iamv1.Organization:
			conds, observed = o.Status.Conditions, o.Status.ObservedGeneration
		case *iamv1.OrgUser:
			conds, observed = o.Status.Conditions, o.Status.ObservedGeneration
		case *iamv1.SharedApplication:
			conds, observed = o.Status.Conditions, o.Status.ObservedGeneration
		}
		c := meta.FindStatusCondition(conds, iamv1.ConditionReady)
		g.Expect(c).NotTo(BeNil(), "no Ready condition on %T %s", obj, client.ObjectKeyFromObject(obj))
		g.Expect(c.Status).To(Equal(metav1.ConditionTrue), "%T %s: %s: %s", obj, client.ObjectKeyFromObject(obj), c.Reason, c.Message)
		g.Expect(observed).To(Equal(obj.GetGeneration()))
		g.Expect(c.ObservedGeneration).To(Equal(obj.GetGeneration()))
	}).Should(Succeed())
}

// update changes an object, retrying on conflicts with the operator's
// status writes.
func update[T client.Object](obj T, change func(T)) {
	GinkgoHelper()
	Eventually(func() error {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		change(obj)
		return k8s.Update(ctx, obj)
	}).Should(Succeed())
}

func getOrg(ns, name string) *iamv1.Organization {
	GinkgoHelper()
	o := &iamv1.Organization{}
	Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, o)).To(Succeed())
	return o
}

func getUser(ns, name string) *iamv1.OrgUser {
	GinkgoHelper()
	u := &iamv1.OrgUser{}
	Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, u)).To(Succeed())
	return u
}
