package main

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func TestTheRegistrationTTLFlagIsCheckedBeforeAnythingStarts(t *testing.T) {
	for _, c := range []struct {
		arg  string
		want string // "" for no error
	}{
		{"--registration-ttl=2h", ""},
		{"--registration-ttl=0", ""}, // the default
		{"--registration-ttl=30s", "--registration-ttl"},
		{"--registration-ttl=720h", "--registration-ttl"},
	} {
		var m mailFlags
		cmd := &cobra.Command{Use: "x"}
		m.add(cmd, "")
		if err := cmd.ParseFlags([]string{c.arg}); err != nil {
			t.Fatal(err)
		}
		_, err := m.sender()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.arg, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: want an error naming %s, got %v", c.arg, c.want, err)
		}
	}
}
