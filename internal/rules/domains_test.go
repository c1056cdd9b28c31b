package rules

import (
	"strings"
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
			[]DomainClaim{{Org: old, Verified: false}, {Org: young, Verified: true}}, 1},
		{"under None the holder keeps the domain against a claimant with a smaller name", none,
			[]DomainClaim{{Org: org("a", 0), Verified: false}, {Org: org("b", 0), Verified: true}}, 1},
		{"under None an unheld domain goes to the oldest claimant", none,
			[]DomainClaim{{Org: young, Verified: false}, {Org: old, Verified: false}}, 1},
		{"under None at the same second the smaller name wins an unheld domain", none,
			[]DomainClaim{{Org: org("b", 0), Verified: false}, {Org: org("a", 0), Verified: false}}, 1},
		{"under DNS the organization that verified keeps the domain against an older one", dns,
			[]DomainClaim{{Org: old, Verified: false}, {Org: young, Verified: true}}, 1},
		{"under DNS nobody holds a domain nobody verified", dns,
			[]DomainClaim{{Org: old, Verified: false}, {Org: young, Verified: false}}, -1},
		{"if two statuses show it verified the older keeps it", dns,
			[]DomainClaim{{Org: young, Verified: true}, {Org: old, Verified: true}}, 1},
		{"a sole claimant under None holds it", none, []DomainClaim{{Org: young, Verified: false}}, 0},
		{"under DNS a claimant whose record was found gets an unheld domain", dns,
			[]DomainClaim{{Org: old}, {Org: young, Proof: ProofFound}}, 1},
		{"under DNS a claimant whose check failed gets nothing it does not hold", dns,
			[]DomainClaim{{Org: young, Proof: ProofUnknown}}, -1},
		{"under DNS two claimants whose records were both found: the older gets it", dns,
			[]DomainClaim{{Org: young, Proof: ProofFound}, {Org: old, Proof: ProofFound}}, 1},
		{"under DNS a found record does not take the domain from its holder", dns,
			[]DomainClaim{{Org: old, Proof: ProofFound}, {Org: young, Verified: true}}, 1},
		{"under DNS a holder whose record is gone no longer holds it", dns,
			[]DomainClaim{{Org: old, Verified: true, Proof: ProofAbsent}}, -1},
		{"under DNS a holder whose record is gone loses it to a claimant whose record was found", dns,
			[]DomainClaim{{Org: old, Verified: true, Proof: ProofAbsent}, {Org: young, Proof: ProofFound}}, 1},
		{"under DNS a holder whose check failed keeps the domain", dns,
			[]DomainClaim{{Org: young, Verified: true, Proof: ProofUnknown}, {Org: old, Proof: ProofFound}}, 0},
		{"under None a missing record changes nothing", none,
			[]DomainClaim{{Org: young, Verified: true, Proof: ProofAbsent}, {Org: old}}, 0},
		{"an unset mode means DNS", "",
			[]DomainClaim{{Org: old}, {Org: young}}, -1},
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

func TestDomainVerificationValue(t *testing.T) {
	a := DomainVerificationValue("uid-a", "acme.example")
	cases := []struct {
		name  string
		other string
	}{
		{"another organization gets another value for the same domain", DomainVerificationValue("uid-b", "acme.example")},
		{"another domain gets another value for the same organization", DomainVerificationValue("uid-a", "acme.test")},
		{"the UID and domain cannot be shifted into each other", DomainVerificationValue("uid-aacme.", "example")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.other == a {
				t.Fatalf("values are equal: %q", a)
			}
		})
	}
	t.Run("the value is stable and names neither the UID nor the domain", func(t *testing.T) {
		if a != DomainVerificationValue("uid-a", "ACME.example") {
			t.Fatal("the value changed between calls or with the domain's case")
		}
		if strings.Contains(a, "uid-a") || strings.Contains(a, "acme") {
			t.Fatalf("value %q shows its inputs", a)
		}
	})
	t.Run("the record names the challenge label and the value", func(t *testing.T) {
		want := "_orgkeeper-challenge.acme.example TXT " + a
		if got := DomainVerificationRecord("uid-a", "acme.example"); got != want {
			t.Fatalf("record %q, want %q", got, want)
		}
	})
}
