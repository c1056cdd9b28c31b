package main

import "testing"

func TestTheCallbackListensOnLoopbackOnly(t *testing.T) {
	for _, c := range []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:0", true},
		{"127.0.0.1:8000", true},
		{"[::1]:0", true},
		{"0.0.0.0:8000", false},
		{":8000", false},
		{"[::]:0", false},
		{"192.168.1.10:8000", false},
		{"localhost:8000", false}, // a name may resolve anywhere
		{"127.0.0.1", false},
	} {
		if err := loopbackOnly(c.addr); (err == nil) != c.ok {
			t.Errorf("loopbackOnly(%q) = %v, want ok=%v", c.addr, err, c.ok)
		}
	}
}
