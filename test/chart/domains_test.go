package chart

import (
	"slices"
	"strings"
	"testing"
)

func TestDomainValuesReachTheManagersDNSFlags(t *testing.T) {
	r := mustRender(t, `
domains:
  dnsResolver: 10.96.0.10:53
  recheckPeriod: 10m
`)
	args := r.managerArgs(t)
	for _, want := range []string{"--dns-resolver=10.96.0.10:53", "--domain-recheck-period=10m"} {
		if !slices.Contains(args, want) {
			t.Errorf("args %v lack %s", args, want)
		}
	}
	for _, a := range mustRender(t, ``).managerArgs(t) {
		if strings.HasPrefix(a, "--dns-resolver") || strings.HasPrefix(a, "--domain-recheck-period") {
			t.Errorf("the default values pass %s; the manager's defaults should apply", a)
		}
	}
}
