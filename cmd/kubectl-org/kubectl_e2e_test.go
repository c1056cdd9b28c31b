package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/config"
	"github.com/orgkeeper/orgkeeper/internal/app"
	"github.com/orgkeeper/orgkeeper/internal/controller"
	"github.com/orgkeeper/orgkeeper/internal/devenv"
	"github.com/orgkeeper/orgkeeper/internal/dnsverify"
	"github.com/orgkeeper/orgkeeper/internal/kubeauth"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

const systemNamespace = "orgkeeper-system"

// world is a running control plane whose kube-apiserver trusts an issuer
// served over HTTPS, with the demo organizations of config/samples, as
// `orgkeeper dev` runs them.
type world struct {
	env     *devenv.Env
	issuer  string
	tls     *devenv.IssuerTLS
	logins  map[string]devenv.DemoLogin // by email
	kubectl string
	plugin  string
	dir     string
	c       client.Client
}

// kubectlBinary is the kubectl that `make kubectl` builds (next to the
// control plane), or $ORGKEEPER_KUBECTL.
func kubectlBinary(t *testing.T) string {
	if p := os.Getenv("ORGKEEPER_KUBECTL"); p != "" {
		return p
	}
	p := filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl")
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("ORGKEEPER_KUBECTL_TESTS") == "required" {
			t.Fatalf("no kubectl at %s: build it with make kubectl", p)
		}
		t.Skipf("no kubectl at %s: build it with make kubectl (WITH_KUBECTL=1 hack/envtest/build.sh)", p)
	}
	return p
}

func startWorld(t *testing.T) *world {
	t.Helper()
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Skip("KUBEBUILDER_ASSETS is not set: run with make test")
	}
	w := &world{kubectl: kubectlBinary(t), dir: t.TempDir()}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)

	w.plugin = filepath.Join(w.dir, "kubectl-org")
	if out, err := exec.Command("go", "build", "-o", w.plugin, ".").CombinedOutput(); err != nil {
		t.Fatalf("building kubectl-org: %v\n%s", err, out)
	}

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w.issuer = "https://" + listener.Addr().String()
	if w.tls, err = devenv.WriteIssuerTLS(filepath.Join(w.dir, "tls"), time.Now()); err != nil {
		t.Fatal(err)
	}
	authn, err := kubeauth.ConfigurationYAML(kubeauth.Options{IssuerURL: w.issuer, CA: w.tls.CA})
	if err != nil {
		t.Fatal(err)
	}
	w.env, err = devenv.Start(ctx, devenv.Options{AuthenticationConfig: authn})
	if err != nil {
		t.Fatalf("starting the control plane: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			// The API server's view of the tokens it refused.
			b, _ := os.ReadFile(filepath.Join(w.env.StateDir, "logs", "kube-apiserver.log"))
			for _, l := range strings.Split(string(b), "\n") {
				if strings.Contains(l, "authenticat") || strings.Contains(l, "jwt") || strings.Contains(l, "oidc") {
					t.Log(l)
				}
			}
		}
		if err := w.env.Stop(); err != nil {
			t.Errorf("stopping the control plane: %v", err)
		}
	})
	scheme, err := app.NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(w.env.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	w.c = c
	if err := devenv.EnsureNamespace(ctx, c, systemNamespace); err != nil {
		t.Fatal(err)
	}
	// The samples as dev applies them: without globex's corporate provider,
	// which dev runs and this test does not, and with the demo domains
	// verified over a DNS server on loopback.
	samples, err := config.Samples()
	if err != nil {
		t.Fatal(err)
	}
	samples = devenv.WithoutUpstreamSample(samples)
	dns, err := devenv.StartDemoDNS(ctx, c, samples, "127.0.0.1:0", logf.Log)
	if err != nil {
		t.Fatal(err)
	}
	resolver, err := dnsverify.New(dnsverify.Config{Server: dns.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	mgr, srv, err := app.NewManager(w.env.Config, app.Settings{
		Controller:  controller.Options{SystemNamespace: systemNamespace, DomainResolver: resolver},
		MetricsAddr: "0",
		HealthAddr:  "0",
		Issuer:      w.issuer,
		Listener:    listener,
		TLSCertFile: w.tls.CertFile,
		TLSKeyFile:  w.tls.KeyFile,
		Log:         logf.Log.WithName("oidc"),
	})
	if err != nil {
		t.Fatal(err)
	}
	mgrDone := make(chan error, 1)
	go func() { mgrDone <- mgr.Start(ctx) }()
	t.Cleanup(func() { cancel(); <-mgrDone })
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		t.Fatal("caches did not sync")
	}
	if err := devenv.ApplyObjects(ctx, c, samples, 2*time.Minute, logf.Log); err != nil {
		t.Fatal(err)
	}
	logins, err := devenv.DemoPasswords(ctx, c, samples)
	if err != nil {
		t.Fatal(err)
	}
	w.logins = map[string]devenv.DemoLogin{}
	for _, l := range logins {
		w.logins[l.Email] = l
	}
	if err := devenv.WaitForReady(ctx, c, devenv.ServedKinds(samples), 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := devenv.WaitUntil(ctx, time.Minute, func() error { return srv.Ready(nil) }); err != nil {
		t.Fatal(err)
	}
	return w
}

// kubeconfig writes a kubeconfig whose user signs in with the plugin, with
// its own token cache.
func (w *world) kubeconfig(t *testing.T, name string, extraArgs ...string) string {
	t.Helper()
	path := filepath.Join(w.dir, name+".kubeconfig")
	err := w.env.WriteExecKubeconfig(path, "orgkeeper", &clientcmdapi.ExecConfig{
		APIVersion: "client.authentication.k8s.io/v1",
		Command:    w.plugin,
		Args: append([]string{"login", "--issuer-url=" + w.issuer, "--certificate-authority=" + w.tls.CAFile,
			"--cache-dir=" + filepath.Join(w.dir, name+"-cache"), "--no-browser", "--timeout=90s"}, extraArgs...),
		InteractiveMode: clientcmdapi.IfAvailableExecInteractiveMode,
	})
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// kubectlResult is one kubectl run.
type kubectlResult struct {
	stdout, stderr string
	err            error
	// signInURL is the address the plugin printed, if it asked to sign in.
	signInURL string
}

// run runs kubectl with args; when the plugin prints a sign-in address,
// signIn is called with it (in the background, as a person in the browser).
func (w *world) run(t *testing.T, kubeconfig string, signIn func(string), args ...string) kubectlResult {
	t.Helper()
	return w.kubectlRun(t, signIn, append([]string{"--kubeconfig", kubeconfig}, args...)...)
}

// org runs `kubectl org args... --kubeconfig kubeconfig`: kubectl finds the
// plugin on the PATH, as it finds any krew plugin (and, like for any plugin,
// takes no flags before the plugin's name).
func (w *world) org(t *testing.T, kubeconfig string, signIn func(string), args ...string) kubectlResult {
	t.Helper()
	return w.kubectlRun(t, signIn, append(append([]string{"org"}, args...), "--kubeconfig", kubeconfig)...)
}

func (w *world) kubectlRun(t *testing.T, signIn func(string), args ...string) kubectlResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, w.kubectl, args...)
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(w.plugin)+string(os.PathListSeparator)+os.Getenv("PATH"))
	var stdout strings.Builder
	cmd.Stdout = &stdout
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var res kubectlResult
	var stderr strings.Builder
	s := bufio.NewScanner(errPipe)
	for s.Scan() {
		line := s.Text()
		stderr.WriteString(line + "\n")
		if u := strings.TrimSpace(line); res.signInURL == "" && strings.HasPrefix(u, w.issuer+"/") && strings.Contains(u, "code_challenge") {
			res.signInURL = u
			if signIn == nil {
				t.Errorf("kubectl %v asked to sign in again: %s", args, u)
				continue
			}
			go signIn(u)
		}
	}
	res.err = cmd.Wait()
	res.stdout, res.stderr = stdout.String(), stderr.String()
	return res
}

// browserSignIn signs in at authURL as email through the issuer's HTML
// forms and delivers the answer to the plugin's loopback server.
func (w *world) browserSignIn(t *testing.T, email string) func(string) {
	return func(authURL string) {
		if err := w.signIn(authURL, email, w.logins[email].Password); err != nil {
			t.Errorf("signing in as %s: %v", email, err)
		}
	}
}

func (w *world) signIn(authURL, email, password string) error {
	jar, _ := cookiejar.New(nil)
	hc := w.tls.HTTPClient()
	hc.Jar = jar
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	next, method, form := authURL, http.MethodGet, url.Values(nil)
	for range 12 {
		var req *http.Request
		var err error
		if method == http.MethodPost {
			req, err = http.NewRequest(method, next, strings.NewReader(form.Encode()))
			if req != nil {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
		} else {
			req, err = http.NewRequest(method, next, nil)
		}
		if err != nil {
			return err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); resp.StatusCode/100 == 3 && loc != "" {
			u, err := req.URL.Parse(loc)
			if err != nil {
				return err
			}
			next, method = u.String(), http.MethodGet
			if u.Scheme == "http" && u.Hostname() == "127.0.0.1" {
				// The authorization response: the browser goes back to kubectl-org.
				r, err := http.Get(next)
				if err != nil {
					return err
				}
				b, _ := io.ReadAll(r.Body)
				r.Body.Close()
				if r.StatusCode != http.StatusOK {
					return fmt.Errorf("the plugin answered %s: %s", r.Status, b)
				}
				return nil
			}
			continue
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s %s: %s: %.300s", method, next, resp.Status, body)
		}
		action, fields, ok := postForm0(req.URL, string(body))
		if !ok {
			return fmt.Errorf("no form at %s: %.300s", next, body)
		}
		if _, isPassword := fields["password"]; isPassword {
			fields.Set("password", password)
		}
		if fields.Get("username") == "" {
			fields.Set("username", email)
		}
		next, method, form = action, http.MethodPost, fields
	}
	return fmt.Errorf("sign-in did not finish")
}

// postForm0 finds a page's first POST form: its action and input values.
func postForm0(base *url.URL, page string) (string, url.Values, bool) {
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		return "", nil, false
	}
	var formNode *html.Node
	var find func(*html.Node)
	find = func(n *html.Node) {
		if formNode != nil {
			return
		}
		if n.Type == html.ElementNode && n.Data == "form" && strings.EqualFold(attrOf(n, "method"), "post") {
			formNode = n
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			find(c)
		}
	}
	find(doc)
	if formNode == nil {
		return "", nil, false
	}
	action, err := base.Parse(attrOf(formNode, "action"))
	if err != nil {
		return "", nil, false
	}
	fields := url.Values{}
	var inputs func(*html.Node)
	inputs = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "input" && attrOf(n, "name") != "" {
			fields.Set(attrOf(n, "name"), attrOf(n, "value"))
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			inputs(c)
		}
	}
	inputs(formNode)
	return action.String(), fields, true
}

func attrOf(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// TestKubectlSignsInWithTheOrganizationAccount drives a real kubectl with
// the plugin as its exec credential against a kube-apiserver configured by
// kubeauth: alice (an admin of acme) signs in once, manages the users of
// acme and of its sub-organization acme-eu, is refused in globex, and the
// API server knows her by the prefixed names the operator's RBAC binds.
func TestKubectlSignsInWithTheOrganizationAccount(t *testing.T) {
	w := startWorld(t)
	const alice = "alice@acme.example"
	kc := w.kubeconfig(t, "alice")

	r := w.run(t, kc, w.browserSignIn(t, alice), "get", "orgusers", "-n", "acme", "-o", "name")
	signInURL := r.signInURL
	// kube-apiserver loads the issuer's keys in the background and retries
	// every few seconds when the issuer was not serving yet: until then it
	// refuses every token, which kubectl reports in one of two ways. Poll
	// with the cached token (no new sign-in).
	refused := func(r kubectlResult) bool {
		return r.err != nil && (strings.Contains(r.stderr, "provide credentials") || strings.Contains(r.stderr, "(Unauthorized)"))
	}
	deadline := time.Now().Add(time.Minute)
	for refused(r) && time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
		r = w.run(t, kc, nil, "get", "orgusers", "-n", "acme", "-o", "name")
	}
	r.signInURL = signInURL
	if r.err != nil || !strings.Contains(r.stdout, "orguser.iam.orgkeeper.io/alice") {
		t.Fatalf("alice lists acme's users: %v\nstdout: %s\nstderr: %s", r.err, r.stdout, r.stderr)
	}
	if r.signInURL == "" || !strings.Contains(r.signInURL, "client_id=kubernetes") || !strings.Contains(r.signInURL, "code_challenge_method=S256") {
		t.Errorf("the plugin's sign-in address %q is not an authorization code request with PKCE for kubernetes", r.signInURL)
	}

	// The cached token serves the next commands: no second sign-in.
	r = w.run(t, kc, nil, "get", "orgusers", "-n", "acme-eu", "-o", "name")
	if r.err != nil || !strings.Contains(r.stdout, "orguser.iam.orgkeeper.io/erin") {
		t.Fatalf("alice lists acme-eu's users: %v\nstdout: %s\nstderr: %s", r.err, r.stdout, r.stderr)
	}
	r = w.run(t, kc, nil, "get", "orgusers", "-n", "globex", "-o", "name")
	if r.err == nil || !strings.Contains(r.stderr, "Forbidden") && !strings.Contains(r.stderr, "forbidden") {
		t.Fatalf("alice must be refused in globex: %v\nstdout: %s\nstderr: %s", r.err, r.stdout, r.stderr)
	}
	r = w.run(t, kc, nil, "create", "secret", "generic", "x", "-n", "platform", "--from-literal=a=b")
	if r.err == nil {
		t.Fatalf("alice must not create Secrets in the root's namespace: %s", r.stdout)
	}

	// An expired ID token is renewed silently with the refresh token: no
	// sign-in address, and the issuer's rotated refresh token is kept.
	c := cache{dir: filepath.Join(w.dir, "alice-cache")}
	key := cacheKey{Issuer: w.issuer, ClientID: "kubernetes"}
	e, err := c.load(key)
	if err != nil || e.RefreshToken == "" {
		t.Fatalf("the cache holds no refresh token for alice: %v %+v", err, e)
	}
	oldRefresh, oldID := e.RefreshToken, e.IDToken
	e.Expiry = time.Now().Add(-time.Minute)
	if err := c.save(e); err != nil {
		t.Fatal(err)
	}
	r = w.run(t, kc, nil, "get", "orgusers", "-n", "acme", "-o", "name")
	if r.err != nil || r.signInURL != "" {
		t.Fatalf("renewing alice's expired token: %v\n%s", r.err, r.stderr)
	}
	if e, err = c.load(key); err != nil || e.RefreshToken == oldRefresh || e.IDToken == oldID || !e.fresh(time.Now(), time.Minute) {
		t.Fatalf("after the renewal the cache holds %+v (%v); want a new ID token and refresh token", e, err)
	}

	r = w.run(t, kc, nil, "auth", "whoami", "-o", "json")
	if r.err != nil {
		t.Fatalf("kubectl auth whoami: %v\n%s", r.err, r.stderr)
	}
	var review struct {
		Status struct {
			UserInfo struct {
				Username string              `json:"username"`
				Groups   []string            `json:"groups"`
				Extra    map[string][]string `json:"extra"`
			} `json:"userInfo"`
		} `json:"status"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &review); err != nil {
		t.Fatalf("kubectl auth whoami -o json: %v\n%s", err, r.stdout)
	}
	u := review.Status.UserInfo
	if u.Username != "orgkeeper:acme:alice@acme.example" {
		t.Errorf("username = %q, want orgkeeper:acme:alice@acme.example", u.Username)
	}
	for _, g := range []string{"orgkeeper:purchasing", "orgkeeper:orgkeeper:org:acme:admins", "system:authenticated"} {
		if !contains(u.Groups, g) {
			t.Errorf("groups %v lack %s", u.Groups, g)
		}
	}
	for _, g := range u.Groups {
		if g != "system:authenticated" && !strings.HasPrefix(g, "orgkeeper:") {
			t.Errorf("group %q of an Orgkeeper token is not under the prefix", g)
		}
	}
	if got := u.Extra[kubeauth.ExtraOrganization]; len(got) != 1 || got[0] != "acme" {
		t.Errorf("extra %s = %v, want [acme]", kubeauth.ExtraOrganization, got)
	}

	// The plugin's own commands, with the same kubeconfig and cache.
	r = w.org(t, kc, nil, "whoami")
	if r.err != nil || !strings.Contains(r.stdout, "orgkeeper:acme:alice@acme.example") || !strings.Contains(r.stdout, "orgusers") {
		t.Errorf("kubectl org whoami: %v\n%s%s", r.err, r.stdout, r.stderr)
	}
	r = w.org(t, kc, nil, "tree")
	if r.err != nil || !strings.Contains(r.stdout, "└── acme-eu") || !strings.Contains(r.stdout, "True") {
		t.Errorf("kubectl org tree: %v\n%s%s", r.err, r.stdout, r.stderr)
	}
	r = w.org(t, kc, nil, "invite", "bob@acme.example")
	if r.err != nil {
		t.Errorf("kubectl org invite: %v\n%s%s", r.err, r.stdout, r.stderr)
	}
	r = w.run(t, kc, nil, "get", "orguser", "bob", "-n", "acme", "-o", "jsonpath={.spec.invitation.send}")
	if r.err != nil || r.stdout != "true" {
		t.Errorf("the invited user: %v %q %s", r.err, r.stdout, r.stderr)
	}

	t.Run("switch", func(t *testing.T) { testSwitch(t, w, kc) })
}

// testSwitch: alice, an admin of acme, switches to acme-eu by token
// exchange and back, and cannot switch to globex.
func testSwitch(t *testing.T, w *world, kc string) {
	// The sample kubernetes application enables the grant. A build that
	// does not serve it answers unsupported_grant_type.
	ctx := context.Background()
	hc := w.tls.HTTPClient()
	var probe struct {
		Error string `json:"error"`
	}
	form := url.Values{"grant_type": {grantTokenExchange}, "client_id": {"kubernetes"}}
	if err := postForm(ctx, hc, w.issuer+"/oauth/token", form, &probe); err != nil {
		t.Fatal(err)
	}
	if probe.Error == "unsupported_grant_type" {
		t.Skip("this build of the issuer does not serve the token exchange grant")
	}
	plugin := func(args ...string) (string, error) {
		out, err := exec.Command(w.plugin, append([]string{"--kubeconfig", kc}, args...)...).CombinedOutput()
		return string(out), err
	}
	whoami := func() string {
		r := w.run(t, kc, nil, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username} {.status.userInfo.groups}")
		if r.err != nil {
			t.Fatalf("kubectl auth whoami: %v %s", r.err, r.stderr)
		}
		return r.stdout
	}
	if out, err := plugin("switch", "acme-eu"); err != nil {
		t.Fatalf("kubectl org switch acme-eu: %v\n%s", err, out)
	}
	if got := whoami(); !strings.HasPrefix(got, "orgkeeper:acme/acme-eu:alice@acme.example ") || !strings.Contains(got, "orgkeeper:orgkeeper:org:acme-eu:admins") {
		t.Errorf("after the switch alice is %q; want acme-eu's admin", got)
	}
	if r := w.org(t, kc, nil, "whoami"); r.err != nil || !strings.Contains(r.stdout, "an administrator of acme") || !strings.Contains(r.stdout, "Organization:  acme-eu") {
		t.Errorf("kubectl org whoami after the switch: %v\n%s%s", r.err, r.stdout, r.stderr)
	}
	if r := w.run(t, kc, nil, "get", "orgusers", "-n", "acme-eu", "-o", "name"); r.err != nil || !strings.Contains(r.stdout, "erin") {
		t.Errorf("switched to acme-eu, alice lists its users: %v %s", r.err, r.stderr)
	}
	if r := w.run(t, kc, nil, "get", "orgusers", "-n", "acme", "-o", "name"); r.err == nil {
		t.Errorf("switched to acme-eu, alice must not act in acme: %s", r.stdout)
	}
	if out, err := plugin("switch", "globex"); err == nil {
		t.Errorf("alice switched to globex, which she does not administer: %s", out)
	}
	if out, err := plugin("switch", "acme"); err != nil {
		t.Fatalf("kubectl org switch acme (back): %v\n%s", err, out)
	}
	if got := whoami(); !strings.HasPrefix(got, "orgkeeper:acme:alice@acme.example ") {
		t.Errorf("after switching back alice is %q", got)
	}
}

// TestOtherOrganizationsUsersAreRefused: gabe administers globex, and his
// token maps to names the operator bound only in globex. A globex user whose
// admin gave her acme-eu's admin's email and acme's admin group gets neither:
// her Kubernetes user name carries her own organization, and the group is
// not in her token.
func TestOtherOrganizationsUsersAreRefused(t *testing.T) {
	w := startWorld(t)
	ctx := context.Background()
	const gabe = "gabe@globex.example"
	kc := w.kubeconfig(t, "gabe")
	// Signing in ahead of time, as the README's tour does.
	r := w.org(t, kc, w.browserSignIn(t, gabe), "login")
	if r.err != nil || !strings.Contains(r.stdout, "Signed in to organization globex as gabe@globex.example") {
		t.Fatalf("kubectl org login: %v\n%s%s", r.err, r.stdout, r.stderr)
	}
	signInURL := r.signInURL
	r = w.run(t, kc, nil, "get", "orgusers", "-n", "globex", "-o", "name")
	deadline := time.Now().Add(time.Minute)
	for r.err != nil && strings.Contains(r.stderr, "provide credentials") && time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
		r = w.run(t, kc, nil, "get", "orgusers", "-n", "globex", "-o", "name")
	}
	if signInURL == "" || r.err != nil || !strings.Contains(r.stdout, "orguser.iam.orgkeeper.io/gabe") {
		t.Fatalf("gabe lists globex's users: %v\n%s%s", r.err, r.stdout, r.stderr)
	}
	for _, ns := range []string{"acme", "acme-eu", "platform", systemNamespace} {
		if r := w.run(t, kc, nil, "get", "orgusers", "-n", ns); r.err == nil {
			t.Errorf("gabe lists users in %s: %s", ns, r.stdout)
		}
	}

	// acme-eu names erin@eu.acme.example as its admin (config/samples).
	const impostor = "erin@eu.acme.example"
	const password = "globex impostor password 1"
	if err := w.c.Create(ctx, st.ForCreate(st.Secret("globex", "imp-password", "password", password))); err != nil {
		t.Fatal(err)
	}
	if err := w.c.Create(ctx, st.ForCreate(st.User("globex", "imp", impostor, st.WithEmailVerified(false),
		st.WithGroups("acme-admins"), st.WithInitialPassword("imp-password", "password")))); err != nil {
		t.Fatal(err)
	}
	if err := devenv.WaitUntil(ctx, time.Minute, func() error {
		u := &iamv1.OrgUser{}
		if err := w.c.Get(ctx, client.ObjectKey{Namespace: "globex", Name: "imp"}, u); err != nil {
			return err
		}
		if !u.Status.PasswordSet {
			return fmt.Errorf("no password yet")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	w.logins[impostor] = devenv.DemoLogin{Organization: "globex", Email: impostor, Password: password}
	kc = w.kubeconfig(t, "impostor", "--organization=globex")
	r = w.run(t, kc, w.browserSignIn(t, impostor), "auth", "whoami", "-o", "jsonpath={.status.userInfo.username} {.status.userInfo.groups}")
	if r.err != nil || !strings.HasPrefix(r.stdout, "orgkeeper:globex:erin@eu.acme.example ") || strings.Contains(r.stdout, "acme-admins") {
		t.Fatalf("the impostor is %q (%v %s); want the globex user orgkeeper:globex:erin@eu.acme.example without acme-admins", r.stdout, r.err, r.stderr)
	}
	for _, ns := range []string{"acme", "acme-eu"} {
		if r := w.run(t, kc, nil, "get", "orgusers", "-n", ns); r.err == nil || !strings.Contains(r.stderr, "forbidden") {
			t.Errorf("the globex impostor lists users in %s: %v %s%s", ns, r.err, r.stdout, r.stderr)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
