package rules

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
)

func TestDomainHolder(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	org := func(name string, age time.Duration) *metav1.ObjectMeta {
		return &metav1.ObjectMeta{Name: name, Namespace: "platform", CreationTimestamp: metav1.NewTime(t0.Add(-age))}
	}
	old, young := org("old", time.Hour), org("young", time.Minute)
	none, dns := iamv1.DomainVerificationNone, iamv1.DomainVerificationDNS
	cases := []struct {
		name   string
		mode   iamv1.DomainVerificationMode
		claims []DomainClaim
		want   int
	}{
		{"under None the holder keeps the domain against an older claimant", none,
			[]DomainClaim{{old, false}, {young, true}}, 1},
		{"under None the holder keeps the domain against a claimant with a smaller name", none,
			[]DomainClaim{{org("a", 0), false}, {org("b", 0), true}}, 1},
		{"under None an unheld domain goes to the oldest claimant", none,
			[]DomainClaim{{young, false}, {old, false}}, 1},
		{"under None at the same second the smaller name wins an unheld domain", none,
			[]DomainClaim{{org("b", 0), false}, {org("a", 0), false}}, 1},
		{"under DNS the organization that verified keeps the domain against an older one", dns,
			[]DomainClaim{{old, false}, {young, true}}, 1},
		{"under DNS nobody holds a domain nobody verified", dns,
			[]DomainClaim{{old, false}, {young, false}}, -1},
		{"if two statuses show it verified the older keeps it", dns,
			[]DomainClaim{{young, true}, {old, true}}, 1},
		{"a sole claimant under None holds it", none, []DomainClaim{{young, false}}, 0},
		{"no claimant, no holder", none, nil, -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := DomainHolder(c.mode, c.claims); got != c.want {
				t.Fatalf("DomainHolder = %d, want %d", got, c.want)
			}
		})
	}
}
