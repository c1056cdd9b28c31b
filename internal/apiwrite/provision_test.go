package apiwrite

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestFederatedGroupsKeepOnlyWhatAnOrgUserMayHold(t *testing.T) {
	many := make([]string, 100)
	for i := range many {
		many[i] = fmt.Sprintf("g%d", i)
	}
	cases := []struct {
		name string
		in   []string
		want []string
	}{
		{"ordinary groups are kept in order", []string{"staff", "eng"}, []string{"staff", "eng"}},
		{"names Kubernetes or Orgkeeper grant privileges by are dropped, whatever their case", []string{"system:masters", "Orgkeeper:org:platform:admins", "staff"}, []string{"staff"}},
		{"empty, padded and control-character names are dropped", []string{"", " staff", "eng\n", "a\x00b", "ok"}, []string{"ok"}},
		{"duplicates are dropped (spec.groups is a set)", []string{"staff", "staff"}, []string{"staff"}},
		{"names longer than 256 characters are dropped", []string{strings.Repeat("x", 257), "ok"}, []string{"ok"}},
		{"at most 64 groups are kept", many, many[:64]},
		{"no groups stay none", nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := FederatedGroups(c.in); !slices.Equal(got, c.want) {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
}
