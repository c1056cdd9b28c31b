package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/orgkeeper/orgkeeper/internal/controller"
	"github.com/orgkeeper/orgkeeper/internal/dnsverify"
)

// dnsFlags configure how domains are verified under domainVerification DNS.
type dnsFlags struct {
	resolver      string
	recheckPeriod time.Duration
}

func (d *dnsFlags) add(cmd *cobra.Command, resolverHelp string) {
	f := cmd.Flags()
	f.StringVar(&d.resolver, "dns-resolver", "", resolverHelp)
	f.DurationVar(&d.recheckPeriod, "domain-recheck-period", controller.DefaultDomainRecheckPeriod,
		"how often the TXT record of a verified domain is looked up again; a domain whose record is gone stops routing sign-ins "+
			"after the next look-up. Domains not verified yet are looked up at least every minute, failed look-ups sooner, backing off")
}

// open returns the resolver that --dns-resolver names (the system's when
// empty).
func (d *dnsFlags) open() (*dnsverify.Resolver, error) {
	if d.recheckPeriod < 0 {
		return nil, fmt.Errorf("--domain-recheck-period cannot be negative; use a period such as 5m; got %s", d.recheckPeriod)
	}
	return dnsverify.New(dnsverify.Config{Server: d.resolver})
}
