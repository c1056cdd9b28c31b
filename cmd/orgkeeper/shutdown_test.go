package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/orgkeeper/orgkeeper/internal/controller"
	"github.com/orgkeeper/orgkeeper/internal/devenv"
)

// TestManagerShutsDownGracefully runs `orgkeeper manager` in process against
// a real API server and stops it while a token request is in flight.
func TestManagerShutsDownGracefully(t *testing.T) {
	if _, ok := os.LookupEnv("KUBEBUILDER_ASSETS"); !ok && !buildScriptFound() {
		t.Skip(devenv.ErrNoAssets.Error())
	}
	fl := devLogOptions()
	fl.DestWriter = io.Discard
	setupLogging(&fl)
	env, err := devenv.Start(context.Background(), devenv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := env.WriteKubeconfig(kubeconfig); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(env.Config, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := devenv.EnsureNamespace(context.Background(), c, defaultSystemNamespace); err != nil {
		t.Fatal(err)
	}

	t.Run("on SIGTERM readiness fails while the issuer still serves, then the listener closes, and the request in flight still gets its answer before the process exits", func(t *testing.T) {
		g := NewWithT(t)
		// The delay only has to outlast the few requests below.
		m := startManager(t, kubeconfig, 5*time.Second, time.Minute, true)
		req := m.beginTokenRequest(g)

		g.Expect(syscall.Kill(os.Getpid(), syscall.SIGTERM)).To(Succeed())
		g.Eventually(m.readyz, 30*time.Second, 50*time.Millisecond).Should(ContainSubstring("[-]shutdown failed"),
			"/readyz must fail once the signal arrives")
		body, err := httpGet(http.DefaultClient, "http://"+m.httpAddr+"/.well-known/openid-configuration")
		g.Expect(err).NotTo(HaveOccurred(), "during the shutdown delay a new request is still served")
		g.Expect(body).To(ContainSubstring(`"issuer":"http://` + m.httpAddr + `"`))

		g.Eventually(m.dialIssuer, 30*time.Second, 50*time.Millisecond).Should(HaveOccurred(),
			"after the shutdown delay the issuer stops accepting connections")
		g.Expect(m.readyzStatus()).To(Equal(http.StatusInternalServerError), "readiness still fails while the request drains")
		select {
		case <-m.exited:
			t.Fatalf("the manager exited (%v) while a request was in flight", m.err)
		default:
		}

		resp := req.finish(g)
		g.Expect(resp.StatusCode).To(Equal(http.StatusUnauthorized), "the token endpoint answers the request begun before the signal")
		g.Eventually(m.exited, 30*time.Second).Should(BeClosed(), "the manager exits once the request is answered")
		g.Expect(m.err).NotTo(HaveOccurred())
	})

	t.Run("a request that does not finish within the shutdown timeout is cut off, and the process still exits", func(t *testing.T) {
		g := NewWithT(t)
		m := startManager(t, kubeconfig, 0, time.Second, false)
		req := m.beginTokenRequest(g)

		m.cancel()
		g.Eventually(m.exited, 30*time.Second).Should(BeClosed(), "the manager must not wait for a request that never ends")
		g.Expect(m.err).NotTo(HaveOccurred())
		_ = req.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err := http.ReadResponse(req.r, nil)
		g.Expect(err).To(HaveOccurred(), "the connection of the unfinished request is closed without an answer")
	})
}

type runningManager struct {
	httpAddr, healthAddr string
	cancel               context.CancelFunc
	// exited is closed when runManager has returned err.
	exited chan struct{}
	err    error
}

// startManager runs runManager with the issuer on loopback; with signals,
// the context is the one SIGTERM cancels, as in `orgkeeper manager`.
func startManager(t *testing.T, kubeconfig string, delay, timeout time.Duration, signals bool) *runningManager {
	t.Helper()
	m := &runningManager{httpAddr: freeAddr(t), healthAddr: freeAddr(t), exited: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	if signals {
		var sigctx context.Context
		sigctx, _ = notifyInterrupts()
		ctx, cancel = context.WithCancel(sigctx)
	}
	m.cancel = cancel
	fl := &managerFlags{
		kubeconfig: kubeconfig, systemNamespace: defaultSystemNamespace,
		metricsAddr: "0", healthAddr: m.healthAddr,
		maxConcurrentReconciles: 2, kubeAPIQPS: 50, kubeAPIBurst: 100,
		shutdownDelay: delay, shutdownTimeout: timeout,
		server: serverFlags{issuerURL: "http://" + m.httpAddr, httpAddr: m.httpAddr,
			keyRotationPeriod: controller.DefaultKeyRotationPeriod},
		sessions: sessionFlags{store: "memory", prefix: "orgkeeper:"},
	}
	go func() {
		defer close(m.exited)
		m.err = runManager(ctx, fl)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-m.exited:
		case <-time.After(time.Minute):
			t.Error("the manager did not stop")
		}
	})
	NewWithT(t).Eventually(m.readyzStatus, 2*time.Minute, 100*time.Millisecond).Should(Equal(http.StatusOK), "the manager never became ready")
	return m
}

func (m *runningManager) readyzStatus() int {
	resp, err := http.Get("http://" + m.healthAddr + "/readyz")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	return resp.StatusCode
}

// readyz returns /readyz's verbose answer, which names each check.
func (m *runningManager) readyz() string {
	resp, err := http.Get("http://" + m.healthAddr + "/readyz?verbose")
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func (m *runningManager) dialIssuer() error {
	c, err := net.DialTimeout("tcp", m.httpAddr, time.Second)
	if err == nil {
		_ = c.Close()
	}
	return err
}

// tokenRequest is a POST to the token endpoint whose body is half sent.
type tokenRequest struct {
	conn net.Conn
	r    *bufio.Reader
	rest string
}

// beginTokenRequest sends the headers and half the body of a
// client_credentials request. Expect: 100-continue makes the server say
// when its handler starts reading the body: from then on the request is
// in flight.
func (m *runningManager) beginTokenRequest(g Gomega) *tokenRequest {
	body := "grant_type=client_credentials&client_id=nobody&client_secret=not-a-secret"
	conn, err := net.Dial("tcp", m.httpAddr)
	g.Expect(err).NotTo(HaveOccurred())
	_, err = io.WriteString(conn, "POST /oauth/token HTTP/1.1\r\nHost: "+m.httpAddr+
		"\r\nContent-Type: application/x-www-form-urlencoded\r\nExpect: 100-continue\r\nContent-Length: "+
		strconv.Itoa(len(body))+"\r\n\r\n"+body[:len(body)/2])
	g.Expect(err).NotTo(HaveOccurred())
	r := bufio.NewReader(conn)
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	line, err := r.ReadString('\n')
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(line).To(HavePrefix("HTTP/1.1 100"), "the handler should be reading the body")
	_, err = r.ReadString('\n') // the blank line after the interim response
	g.Expect(err).NotTo(HaveOccurred())
	_ = conn.SetReadDeadline(time.Time{})
	return &tokenRequest{conn: conn, r: r, rest: body[len(body)/2:]}
}

// finish sends the rest of the body and reads the answer.
func (q *tokenRequest) finish(g Gomega) *http.Response {
	_, err := io.WriteString(q.conn, q.rest)
	g.Expect(err).NotTo(HaveOccurred())
	_ = q.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(q.r, nil)
	g.Expect(err).NotTo(HaveOccurred())
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	_ = q.conn.Close()
	return resp
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
