package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/client-go/rest"
)

// requestCount is how many requests of one kind kube-apiserver answered.
type requestCount struct {
	verb, resource, subresource, code string
	n                                 float64
}

// writeRequests reads kube-apiserver's own count of the requests it served
// (apiserver_request_total) and returns the writes (create, update, patch,
// delete), so that a run can say how many writes each organization cost and
// of which kind. The count includes the tool's own creates.
func writeRequests(ctx context.Context, cfg *rest.Config) ([]requestCount, error) {
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(cfg.Host, "/")+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		return nil, fmt.Errorf("kube-apiserver /metrics: %s: %s", resp.Status, b)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("kube-apiserver /metrics: %w", err)
	}
	fam := families["apiserver_request_total"]
	if fam == nil {
		return nil, fmt.Errorf("kube-apiserver /metrics has no apiserver_request_total")
	}
	var out []requestCount
	for _, m := range fam.GetMetric() {
		l := labelMap(m)
		switch l["verb"] {
		case "POST", "PUT", "PATCH", "DELETE", "APPLY":
		default:
			continue
		}
		out = append(out, requestCount{verb: l["verb"], resource: l["resource"], subresource: l["subresource"], code: l["code"], n: m.GetCounter().GetValue()})
	}
	slices.SortFunc(out, func(a, b requestCount) int { return cmp.Compare(b.n, a.n) })
	return out, nil
}

func labelMap(m *dto.Metric) map[string]string {
	l := make(map[string]string, len(m.GetLabel()))
	for _, p := range m.GetLabel() {
		l[p.GetName()] = p.GetValue()
	}
	return l
}

// printWrites prints the writes per organization, largest first, and
// returns their sum per organization.
func printWrites(counts []requestCount, orgs int) float64 {
	var total float64
	for _, c := range counts {
		total += c.n
		res := c.resource
		if c.subresource != "" {
			res += "/" + c.subresource
		}
		fmt.Printf("  writes %-6s %-28s %s  %8.0f  %5.2f per organization\n", c.verb, res, c.code, c.n, c.n/float64(orgs))
	}
	return total / float64(orgs)
}

// subtractCounts returns after minus before, request kind by request kind,
// without the kinds that did not grow.
func subtractCounts(after, before []requestCount) []requestCount {
	type key struct{ verb, resource, subresource, code string }
	was := make(map[key]float64, len(before))
	for _, c := range before {
		was[key{c.verb, c.resource, c.subresource, c.code}] = c.n
	}
	var out []requestCount
	for _, c := range after {
		c.n -= was[key{c.verb, c.resource, c.subresource, c.code}]
		if c.n > 0 {
			out = append(out, c)
		}
	}
	return out
}
