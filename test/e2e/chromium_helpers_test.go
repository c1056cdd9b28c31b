package e2e

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/audits"
	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	cdppage "github.com/chromedp/cdproto/page"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

const (
	// browserTestsEnv set to "required" turns a missing Chromium into a
	// failure instead of a skip (CI sets it).
	browserTestsEnv = "ORGKEEPER_BROWSER_TESTS"
	// chromeLifetime bounds one browser, start to close: the allocator
	// kills Chromium when it runs out.
	chromeLifetime = 2 * time.Minute
	// chromeStepTimeout bounds one chromedp.Run.
	chromeStepTimeout = 20 * time.Second
)

// chromiumPath finds Debian's Chromium: /usr/bin/chromium, else chromium
// (or chromium-browser) in PATH.
func chromiumPath() (string, bool) {
	if fi, err := os.Stat("/usr/bin/chromium"); err == nil && !fi.IsDir() {
		return "/usr/bin/chromium", true
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, true
		}
	}
	return "", false
}

// requireChromium returns Chromium's path, or skips the spec; with
// ORGKEEPER_BROWSER_TESTS=required it fails instead.
func requireChromium() string {
	GinkgoHelper()
	p, ok := chromiumPath()
	if !ok {
		msg := "Chromium is not installed (no /usr/bin/chromium, no chromium in PATH): install it with `apt-get install chromium`"
		if os.Getenv(browserTestsEnv) == "required" {
			Fail(msg + "; " + browserTestsEnv + "=required makes the browser specs mandatory")
		}
		Skip(msg + "; skipping the browser specs (set " + browserTestsEnv + "=required to fail instead)")
	}
	return p
}

// chrome is one headless Chromium with one tab, closed when the spec ends.
// It records what the page reports as going wrong: console errors,
// uncaught exceptions, error-level log entries and CSP violations.
type chrome struct {
	ctx context.Context // the tab

	mu            sync.Mutex
	problems      []string
	networkErrors []networkError
	url           string          // the main frame's URL, from navigation events
	documents     map[string]bool // every URL the main frame has shown
}

// networkError is a resource that failed to load.
type networkError struct{ url, text string }

// newChrome starts Chromium for the current spec, with JavaScript enabled
// or disabled for the page.
func newChrome(javaScript bool) *chrome {
	GinkgoHelper()
	return newChromeWith(javaScript)
}

// newChromeWith is newChrome with more allocator options (for example a
// test certificate to trust).
func newChromeWith(javaScript bool, extra ...chromedp.ExecAllocatorOption) *chrome {
	GinkgoHelper()
	path := requireChromium()
	// Only the flags this project allows; chromedp adds the DevTools port.
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(GinkgoT().TempDir()),
	}
	opts = append(opts, extra...)
	life, lifeCancel := context.WithTimeout(context.Background(), chromeLifetime)
	allocCtx, allocCancel := chromedp.NewExecAllocator(life, opts...)
	tab, tabCancel := chromedp.NewContext(allocCtx, chromedp.WithErrorf(GinkgoWriter.Printf))
	c := &chrome{ctx: tab, documents: map[string]bool{}}
	// Registered after TempDir, so it runs before the profile is removed:
	// close the browser gracefully, then make sure the process is gone.
	DeferCleanup(func() {
		if err := chromedp.Cancel(tab); err != nil {
			GinkgoWriter.Printf("closing Chromium: %v\n", err)
		}
		tabCancel()
		allocCancel()
		lifeCancel()
	})
	chromedp.ListenTarget(tab, c.observe)

	// The first Run starts the browser; its context must be the tab's own
	// (a shorter one would kill the browser when it ends).
	Expect(chromedp.Run(tab)).To(Succeed(), "starting Chromium at %s", path)
	// chromedp enables the Runtime and Log domains; Audits reports CSP
	// violations as issues.
	actions := []chromedp.Action{audits.Enable()}
	if !javaScript {
		actions = append(actions, emulation.SetScriptExecutionDisabled(true))
	}
	c.run("setting up the tab", actions...)
	return c
}

// run runs actions with a step timeout.
func (c *chrome) run(what string, actions ...chromedp.Action) {
	GinkgoHelper()
	ctx, cancel := context.WithTimeout(c.ctx, chromeStepTimeout)
	defer cancel()
	Expect(chromedp.Run(ctx, actions...)).To(Succeed(), "%s (page %s)", what, c.currentURL())
}

// observe is the tab's event listener; it must not block.
func (c *chrome) observe(ev any) {
	switch ev := ev.(type) {
	case *cdppage.EventFrameNavigated:
		if ev.Frame.ParentID == "" {
			c.mu.Lock()
			c.url = ev.Frame.URL
			c.documents[ev.Frame.URL] = true
			c.mu.Unlock()
		}
	case *cdpruntime.EventExceptionThrown:
		c.problem("exception: %s", ev.ExceptionDetails.Error())
	case *cdpruntime.EventConsoleAPICalled:
		if ev.Type == cdpruntime.APITypeError || ev.Type == cdpruntime.APITypeAssert {
			var args []string
			for _, a := range ev.Args {
				args = append(args, string(a.Value))
			}
			c.problem("console.%s: %s", ev.Type, strings.Join(args, " "))
		}
	case *cdplog.EventEntryAdded:
		e := ev.Entry
		if e.Source == cdplog.SourceNetwork && e.URL != "" {
			// Kept apart until the end: an error page's own 4xx status
			// is deliberate, a subresource failing to load is not, and
			// this event may come before the document's navigation event.
			c.mu.Lock()
			c.networkErrors = append(c.networkErrors, networkError{url: e.URL, text: e.Text})
			c.mu.Unlock()
			return
		}
		if e.Level == cdplog.LevelError || strings.Contains(e.Text, "Content Security Policy") {
			c.problem("log %s/%s at %s: %s", e.Source, e.Level, e.URL, e.Text)
		}
	case *audits.EventIssueAdded:
		if ev.Issue.Code == audits.InspectorIssueCodeContentSecurityPolicyIssue {
			d := ev.Issue.Details.ContentSecurityPolicyIssueDetails
			if d != nil {
				c.problem("CSP issue: directive %s blocked %s (%s)", d.ViolatedDirective, d.BlockedURL, d.ContentSecurityPolicyViolationType)
			} else {
				c.problem("CSP issue")
			}
		}
	}
}

func (c *chrome) problem(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

// reported is what the page reported as going wrong so far.
func (c *chrome) reported() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := append([]string(nil), c.problems...)
	for _, e := range c.networkErrors {
		if !c.documents[e.url] {
			out = append(out, "resource "+e.url+": "+e.text)
		}
	}
	return out
}

func (c *chrome) currentURL() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.url
}

// expectCleanConsole checks that no page reported an error or a CSP
// violation.
func (c *chrome) expectCleanConsole() {
	GinkgoHelper()
	Expect(c.reported()).To(BeEmpty(), "console errors or CSP violations on the login pages")
}

// openAuthorization opens an authorization URL and waits for the
// identifier-first page.
func (c *chrome) openAuthorization(authURL string) {
	GinkgoHelper()
	c.run("opening the authorization URL",
		chromedp.Navigate(authURL),
		chromedp.WaitReady(`input[name="username"]`, chromedp.ByQuery))
	Expect(c.currentURL()).To(HavePrefix(issuer+"/login"), "the issuer shows its login page")
}

// submitIdentifier types an email into the identifier-first page and
// submits it with a click (a real form submission, no script), then waits
// for the password page.
func (c *chrome) submitIdentifier(email string) {
	GinkgoHelper()
	c.run("submitting the identifier",
		chromedp.SendKeys(`input[name="username"]`, email, chromedp.ByQuery),
		chromedp.Click(`form button[type="submit"]`, chromedp.ByQuery),
		chromedp.WaitReady(`input[name="password"]`, chromedp.ByQuery))
}

// submitPassword types the password and submits the form with a click.
func (c *chrome) submitPassword(pass string) {
	GinkgoHelper()
	c.run("submitting the password",
		chromedp.SendKeys(`input[name="password"]`, pass, chromedp.ByQuery),
		chromedp.Click(`form button[type="submit"]`, chromedp.ByQuery))
}

// waitForRedirect waits until the browser has arrived at redirectURI and
// returns the authorization response as a flow for codeFrom.
func (c *chrome) waitForRedirect(redirectURI string) flow {
	GinkgoHelper()
	Eventually(c.currentURL).WithTimeout(chromeStepTimeout).Should(HavePrefix(redirectURI+"?"),
		"the browser ends at the relying party's redirect URI")
	u, err := url.Parse(c.currentURL())
	Expect(err).NotTo(HaveOccurred())
	return flow{Response: u}
}

// formError waits for the form's error message and returns its text.
func (c *chrome) formError() string {
	GinkgoHelper()
	var text string
	c.run("reading the form's error message",
		chromedp.WaitVisible(`#form-error`, chromedp.ByQuery),
		chromedp.Text(`#form-error`, &text, chromedp.ByQuery))
	return strings.TrimSpace(text)
}
