package e2e

import (
	"net/http"
	"net/http/httptest"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"golang.org/x/oauth2"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

var _ = Describe("Metrics of the manager", func() {
	// scrape reads controller-runtime's registry through the exposition
	// handler, as the manager's --metrics-addr serves it.
	scrape := func() map[string]*dto.MetricFamily {
		GinkgoHelper()
		srv := httptest.NewServer(promhttp.HandlerFor(ctrlmetrics.Registry, promhttp.HandlerOpts{}))
		defer srv.Close()
		resp, err := http.Get(srv.URL)
		Expect(err).NotTo(HaveOccurred())
		defer resp.Body.Close()
		parser := expfmt.NewTextParser(model.UTF8Validation)
		families, err := parser.TextToMetricFamilies(resp.Body)
		Expect(err).NotTo(HaveOccurred())
		return families
	}
	sum := func(f *dto.MetricFamily, labels map[string]string) float64 {
		total := 0.0
	next:
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if v, ok := labels[l.GetName()]; ok && v != l.GetValue() {
					continue next
				}
			}
			total += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
		return total
	}

	It("count a real sign-in and its token, and describe the snapshot served", func() {
		families := scrape()
		before := 0.0
		if f := families["orgkeeper_tokens_issued_total"]; f != nil {
			before = sum(f, map[string]string{"grant_type": "authorization_code", "client": portal.ClientID})
		}

		a := authorize(portal)
		f := signIn(a.URL, "erin@eu.acme.example", password)
		_, err := portal.Exchange(ctx, codeFrom(f, a, portalRedirect()), oauth2.VerifierOption(a.Verifier))
		Expect(err).NotTo(HaveOccurred())

		families = scrape()
		Expect(families).To(HaveKey("orgkeeper_signins_total"))
		Expect(sum(families["orgkeeper_signins_total"], map[string]string{"organization": "acme-eu", "result": "success"})).To(BeNumerically(">=", 1))
		Expect(sum(families["orgkeeper_tokens_issued_total"], map[string]string{"grant_type": "authorization_code", "client": portal.ClientID})).
			To(BeNumerically(">=", before+1))
		Expect(families).To(HaveKey("orgkeeper_snapshot_objects"))
		Expect(sum(families["orgkeeper_snapshot_objects"], map[string]string{"kind": "organizations"})).To(BeNumerically(">", 0))
		Expect(families).To(HaveKey("orgkeeper_http_request_duration_seconds"))
		Expect(families).To(HaveKey("orgkeeper_snapshot_build_duration_seconds"))
	})
})
