package main

import (
	"context"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/app"
)

// demoDomainsVerifyOverDNS checks, in a running `orgkeeper dev`, that the
// demo root verifies domains over DNS and that the demo organizations'
// domains get verified through dev's DNS server on loopback, so that sign-in
// by email domain works in the demo as in a real installation.
func demoDomainsVerifyOverDNS(t *testing.T, cfg *rest.Config) {
	t.Helper()
	scheme, err := app.NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	root := &iamv1.Organization{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: defaultSystemNamespace, Name: "platform"}, root); err != nil {
		t.Fatal(err)
	}
	if root.Spec.DomainVerification != iamv1.DomainVerificationDNS {
		t.Errorf("the demo root's domainVerification is %q, want DNS", root.Spec.DomainVerification)
	}
	for _, name := range []client.ObjectKey{{Namespace: "platform", Name: "acme"}, {Namespace: "acme", Name: "acme-eu"}} {
		var last []iamv1.DomainStatus
		// Polled until verified or the deadline: the first DNS check runs in
		// the organization's first reconcile, usually before dev is ready.
		tick := time.NewTicker(100 * time.Millisecond)
		for verified := false; !verified; {
			org := &iamv1.Organization{}
			if err := c.Get(ctx, name, org); err == nil {
				last = org.Status.Domains
				verified = len(last) > 0
				for _, d := range last {
					verified = verified && d.Verified
				}
			}
			if verified {
				break
			}
			select {
			case <-ctx.Done():
				t.Fatalf("the domains of %s are not verified over dev's DNS server: %+v", name, last)
			case <-tick.C:
			}
		}
		tick.Stop()
	}
}
