package devenv

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/dnsverify"
	"github.com/orgkeeper/orgkeeper/internal/rules"
)

// demoDNSLookupTimeout bounds the API read behind one DNS answer.
const demoDNSLookupTimeout = 2 * time.Second

// StartDemoDNS starts a DNS server on addr (loopback; port 0 picks one) that
// publishes, for each domain an Organization of objs claims, the TXT record
// that verifies the domain for that Organization: what the domain's owner
// does in a real installation. The record's value depends on the
// Organization's UID, so each answer reads the Organization from the API;
// until it exists the name does not either. Domains that the samples do not
// claim get no record, as with a domain nobody has published for. The server
// stops when ctx ends.
func StartDemoDNS(ctx context.Context, c client.Reader, objs []*unstructured.Unstructured, addr string, log logr.Logger) (*dnsverify.Server, error) {
	owners := demoDomainOwners(objs)
	records := func(name string) ([]string, bool) {
		domain, ok := strings.CutPrefix(name, rules.DomainChallengePrefix)
		owner, claimed := owners[domain]
		if !ok || !claimed {
			return nil, false
		}
		rctx, cancel := context.WithTimeout(ctx, demoDNSLookupTimeout)
		defer cancel()
		org := &iamv1.Organization{}
		if err := c.Get(rctx, owner, org); err != nil {
			if client.IgnoreNotFound(err) != nil {
				log.Error(err, "demo DNS: reading the organization that owns a domain", "domain", domain, "organization", owner)
			}
			return nil, false
		}
		return []string{rules.DomainVerificationValue(string(org.UID), domain)}, true
	}
	srv, err := dnsverify.Serve(addr, records)
	if err != nil {
		return nil, fmt.Errorf("the demo DNS server: %w", err)
	}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	log.Info("demo DNS server publishes the demo domains' verification records", "addr", srv.Addr(), "domains", len(owners))
	return srv, nil
}

// demoDomainOwners maps each domain that an Organization of objs claims to
// the first Organization that claims it.
func demoDomainOwners(objs []*unstructured.Unstructured) map[string]client.ObjectKey {
	owners := map[string]client.ObjectKey{}
	for _, o := range Organizations(objs) {
		domains, _, _ := unstructured.NestedStringSlice(o.Object, "spec", "domains")
		for _, d := range domains {
			d = strings.ToLower(d)
			if _, taken := owners[d]; !taken {
				owners[d] = client.ObjectKeyFromObject(o)
			}
		}
	}
	return owners
}
