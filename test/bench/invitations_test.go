package bench

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/orgkeeper/orgkeeper/internal/app"
	"github.com/orgkeeper/orgkeeper/internal/controller"
	"github.com/orgkeeper/orgkeeper/internal/devenv"
	"github.com/orgkeeper/orgkeeper/internal/mail"
	"github.com/orgkeeper/orgkeeper/internal/mail/mailtest"
	st "github.com/orgkeeper/orgkeeper/internal/snapshot/snapshottest"
)

// invitationBatch is how many OrgUsers with spec.invitation.send each
// iteration applies at once.
const invitationBatch = 1000

// BenchmarkInvitationsMailedOnce applies 1,000 OrgUsers with
// spec.invitation.send at once and measures how long it takes until every
// invitation has arrived at a real SMTP server on loopback (STARTTLS and
// authentication, a connection per message), checking that each address
// got exactly one. It reports the seconds per batch (target: under 60) and
// the peak heap and resident memory of this process, which runs the whole
// manager (target: under 500 MiB; kube-apiserver and etcd run apart).
//
//	make bench BENCH_ARGS='-benchtime 1x' (or go test ./test/bench -run '^$' -bench Invitations -benchtime 1x)
func BenchmarkInvitationsMailedOnce(b *testing.B) {
	log.SetLogger(logr.Discard())
	ctx, cancel := context.WithCancel(context.Background())
	env, err := devenv.Start(ctx, devenv.Options{})
	if err != nil {
		b.Fatalf("starting the control plane (run with `make bench`): %v", err)
	}
	b.Cleanup(func() { cancel(); _ = env.Stop() })
	scheme, err := app.NewScheme()
	must(b, err)
	c, err := client.New(env.Config, client.Options{Scheme: scheme})
	must(b, err)
	must(b, devenv.EnsureNamespace(ctx, c, systemNamespace))

	relay, err := mailtest.Start(mailtest.Options{TLS: mailtest.StartTLS, Username: "relay", Password: "relay-secret"})
	must(b, err)
	b.Cleanup(func() { _ = relay.Close() })
	sender, err := mail.NewSMTP(mail.SMTPConfig{Host: relay.Host, Port: relay.Port, From: "no-reply@id.example",
		Username: "relay", Password: "relay-secret", TLS: mail.TLSStartTLS,
		TLSConfig: &tls.Config{RootCAs: relay.RootCAs(), MinVersion: tls.VersionTLS12}})
	must(b, err)
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	must(b, err)
	cfg := *env.Config
	cfg.QPS, cfg.Burst = 200, 400 // as `orgkeeper manager` defaults
	mgr, _, err := app.NewManager(&cfg, app.Settings{
		Controller:  controller.Options{SystemNamespace: systemNamespace},
		MetricsAddr: "0", HealthAddr: "0", Issuer: "http://" + listener.Addr().String(), Listener: listener,
		Mail: sender,
		// The benchmark measures the mail pipeline, not the hourly limit
		// per customer (TestOutboxLimitsTheMailOfOneCustomer covers that),
		// which would hold back all but the first 200 of a batch.
		PerOrganization: 1 << 30,
	})
	must(b, err)
	go func() { _ = mgr.Start(ctx) }()
	must(b, c.Create(ctx, st.ForCreate(st.Org("platform", st.WithDisplayName("Platform")))))
	waitFor(b, func() bool { return c.Get(ctx, client.ObjectKey{Name: "platform"}, &corev1.Namespace{}) == nil })

	var peakHeap, elapsed float64
	for i := 0; b.Loop(); i++ {
		org := "invite-" + strconv.Itoa(i)
		must(b, c.Create(ctx, st.ForCreate(st.Org(org, st.WithParent("platform"), st.WithDisplayName("Invitees "+strconv.Itoa(i))))))
		waitFor(b, func() bool { return c.Get(ctx, client.ObjectKey{Name: org}, &corev1.Namespace{}) == nil })
		domain := org + ".example"
		start := time.Now()
		var wg sync.WaitGroup
		work := make(chan int)
		for range 32 {
			wg.Go(func() {
				for n := range work {
					// Invited by address, the admin not vouching for the
					// email (spec.emailVerified false).
					u := st.ForCreate(st.User(org, fmt.Sprintf("u%04d", n), fmt.Sprintf("u%04d@%s", n, domain),
						st.Invited(), st.WithEmailVerified(false)))
					if err := c.Create(ctx, u); err != nil {
						b.Error(err)
					}
				}
			})
		}
		for n := range invitationBatch {
			work <- n
		}
		close(work)
		wg.Wait()

		deadline := start.Add(5 * time.Minute)
		for {
			got := 0
			for _, m := range relay.Messages() {
				if strings.HasSuffix(m.To[0], "@"+domain) {
					got++
				}
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			peakHeap = max(peakHeap, float64(ms.HeapInuse)/(1<<20))
			if got >= invitationBatch {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("%d of %d invitations arrived in 5 minutes", got, invitationBatch)
			}
			time.Sleep(20 * time.Millisecond)
		}
		elapsed = time.Since(start).Seconds()
		seen := map[string]int{}
		for _, m := range relay.Messages() {
			if strings.HasSuffix(m.To[0], "@"+domain) {
				seen[m.To[0]]++
			}
		}
		for addr, n := range seen {
			if n != 1 {
				b.Errorf("%s got %d invitations", addr, n)
			}
		}
		if len(seen) != invitationBatch {
			b.Errorf("%d addresses got an invitation, want %d", len(seen), invitationBatch)
		}
	}
	b.ReportMetric(elapsed, "s/1000_invitations")
	b.ReportMetric(peakHeap, "peak_heap_MiB")
	b.ReportMetric(peakRSS(), "peak_rss_MiB")
}

// peakRSS is this process's peak resident set (VmHWM), in MiB; 0 where
// /proc is not available.
func peakRSS() float64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}
