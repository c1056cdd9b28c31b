package apiwrite

import (
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/connector"
	"github.com/orgkeeper/orgkeeper/internal/login"
)

// A burst of first sign-ins: 1,000 distinct people, each signing in from
// two tabs at once, through one Writer with the manager's default client
// rate (--kube-api-qps 200, burst 400), 64 sign-ins in flight.
var _ = Describe("A burst of just-in-time provisioning", func() {
	It("creates each of 1,000 distinct users exactly once, with its identity, and both tabs of a person get the same user", func() {
		const people, tabs, inFlight = 1000, 2, 64
		ns := "prov-burst"
		Expect(k8s.Create(envCtx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
		cfg := rest.CopyConfig(env.Config)
		cfg.QPS, cfg.Burst = 200, 400
		c, err := client.New(cfg, client.Options{Scheme: k8s.Scheme()})
		Expect(err).NotTo(HaveOccurred())
		w, err := New(Options{Client: c, Log: logr.Discard(), Registerer: prometheus.NewRegistry(), BaseBackoff: 10 * time.Millisecond})
		Expect(err).NotTo(HaveOccurred())

		ids := make([][tabs]string, people)
		errs := make(chan error, people*tabs)
		work := make(chan [2]int)
		var wg sync.WaitGroup
		for range inFlight {
			wg.Go(func() {
				for job := range work {
					p, tab := job[0], job[1]
					subject := fmt.Sprintf("person-%04d", p)
					res, err := w.Provision(envCtx, login.ProvisionRequest{
						Action: login.ProvisionCreate, Namespace: ns, IdentityProvider: "corp",
						Identity: connector.Identity{Subject: subject, Email: subject + "@burst.example", EmailVerified: true},
					})
					if err != nil {
						errs <- fmt.Errorf("%s (tab %d): %w", subject, tab, err)
						continue
					}
					ids[p][tab] = res.UserID
				}
			})
		}
		start := time.Now()
		for p := range people {
			for tab := range tabs {
				work <- [2]int{p, tab}
			}
		}
		close(work)
		wg.Wait()
		took := time.Since(start)
		close(errs)
		for err := range errs {
			Expect(err).NotTo(HaveOccurred())
		}
		AddReportEntry("burst", fmt.Sprintf("%d people x %d tabs provisioned in %s", people, tabs, took.Round(time.Millisecond)))
		GinkgoWriter.Printf("%d first sign-ins (%d people) provisioned in %s\n", people*tabs, people, took)

		users := &iamv1.OrgUserList{}
		Expect(k8s.List(envCtx, users, client.InNamespace(ns))).To(Succeed())
		Expect(users.Items).To(HaveLen(people), "one OrgUser per person")
		byUID := map[string]iamv1.OrgUser{}
		for _, u := range users.Items {
			Expect(u.Status.FederatedIdentities).To(HaveLen(1), "user %s", u.Name)
			Expect(u.Name).To(Equal(FederatedUserName("", "corp", u.Status.FederatedIdentities[0].Subject)))
			byUID[string(u.UID)] = u
		}
		for p := range people {
			Expect(ids[p][0]).NotTo(BeEmpty())
			Expect(ids[p][1]).To(Equal(ids[p][0]), "both tabs of person %d", p)
			Expect(byUID).To(HaveKey(ids[p][0]))
		}
	})
})
