package main

import (
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/time/rate"

	"github.com/orgkeeper/orgkeeper/internal/apiwrite"
	"github.com/orgkeeper/orgkeeper/internal/login"
)

// signupFlags configure self-service signup of organizations (on when the
// root Organization's spec.selfService.enabled and mail is configured).
type signupFlags struct {
	ttl          time.Duration
	perHour      float64
	burst        int
	publicDomain []string
}

func (s *signupFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.DurationVar(&s.ttl, "signup-ttl", login.DefaultSignupTTL, "organization signup: how long the mailed confirmation link works; unconfirmed signups are deleted after it")
	f.Float64Var(&s.perHour, "signup-organizations-per-hour", 60, "organization signup: at most this many organizations are created per hour by each replica, whatever the number of signups (a token bucket)")
	f.IntVar(&s.burst, "signup-organizations-burst", apiwrite.DefaultSignupBurst, "organization signup: how many organizations may be created at once before --signup-organizations-per-hour applies")
	f.StringSliceVar(&s.publicDomain, "signup-public-mail-domains", nil,
		"organization signup: email domains of public mail providers, which a signed-up organization does not claim (comma-separated; replaces the built-in list of well-known providers; \"none\" claims every domain)")
}

// options are the write path's settings.
func (s *signupFlags) options() apiwrite.SignupOptions {
	o := apiwrite.SignupOptions{Rate: rate.Limit(s.perHour / 3600), Burst: s.burst}
	switch {
	case len(s.publicDomain) == 1 && strings.EqualFold(s.publicDomain[0], "none"):
		o.PublicMailDomains = []string{}
	case len(s.publicDomain) > 0:
		o.PublicMailDomains = s.publicDomain
	}
	return o
}
