package rules

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
)

func TestUserIdentifierConflict(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	user := func(name string, age int, email, username string) Claimant {
		return Claimant{
			Meta:  &metav1.ObjectMeta{Name: name, Namespace: "acme", UID: types.UID("uid-" + name), CreationTimestamp: metav1.NewTime(t0.Add(time.Duration(age) * time.Second))},
			Email: email, Username: username,
		}
	}
	cases := []struct {
		name       string
		u          Claimant
		holders    []Claimant
		wantReason string
		wantHolder string
	}{
		{"a user with no holders keeps its names", user("a", 1, "a@acme.example", "a"), nil, "", ""},
		{"an older user with the same email in another case keeps it",
			user("b", 2, "Carol@ACME.example", ""), []Claimant{user("a", 1, "carol@acme.example", "")}, iamv1.ReasonDuplicateEmail, "a"},
		{"a newer user with the same email does not take it from an older one",
			user("a", 1, "carol@acme.example", ""), []Claimant{user("b", 2, "carol@acme.example", "")}, "", ""},
		{"an email that is an older user's username is refused",
			user("b", 2, "dana@acme.example", ""), []Claimant{user("a", 1, "x@acme.example", "dana@acme.example")}, iamv1.ReasonDuplicateEmail, "a"},
		{"a username that is an older user's email is refused",
			user("b", 2, "imp@acme.example", "dana@acme.example"), []Claimant{user("a", 1, "dana@acme.example", "")}, iamv1.ReasonDuplicateUsername, "a"},
		{"a username equal to the user's own email is harmless",
			user("a", 1, "a@acme.example", "A@acme.example"), nil, "", ""},
		{"the oldest of several holders is named",
			user("c", 3, "e@acme.example", ""), []Claimant{user("b", 2, "e@acme.example", ""), user("a", 1, "e@acme.example", "")}, iamv1.ReasonDuplicateEmail, "a"},
		{"at the same second the smaller name is older",
			user("b", 1, "f@acme.example", ""), []Claimant{user("a", 1, "f@acme.example", "")}, iamv1.ReasonDuplicateEmail, "a"},
		{"the user itself among the holders does not count",
			user("a", 1, "g@acme.example", ""), []Claimant{user("a", 1, "g@acme.example", "")}, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := UserIdentifierConflict(c.u, c.holders)
			if got.Reason != c.wantReason || got.Holder != c.wantHolder {
				t.Fatalf("got reason %q holder %q (%s), want %q %q", got.Reason, got.Holder, got.Message, c.wantReason, c.wantHolder)
			}
			if got.Conflicted() != (c.wantReason != "") {
				t.Fatalf("Conflicted = %v", got.Conflicted())
			}
		})
	}
}

func TestIdentifiers(t *testing.T) {
	if got := (Claimant{Email: "Alice@ACME.example", Username: "ALICE"}).Identifiers(); len(got) != 2 || got[0] != "alice@acme.example" || got[1] != "alice" {
		t.Fatalf("Identifiers = %q", got)
	}
	if got := (Claimant{Email: "a@acme.example", Username: "A@acme.example"}).Identifiers(); len(got) != 1 {
		t.Fatalf("a username equal to the email is one identifier, got %q", got)
	}
}
