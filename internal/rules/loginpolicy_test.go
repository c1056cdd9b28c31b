package rules

import (
	"testing"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
)

func TestInheritMFA(t *testing.T) {
	const (
		off = iamv1.MFADisabled
		opt = iamv1.MFAOptional
		req = iamv1.MFARequired
	)
	for _, c := range []struct {
		name         string
		parent, own  iamv1.MFAPolicy
		want         iamv1.MFAPolicy
		wantWeakened bool
	}{
		{"a child may keep what its parent has", opt, opt, opt, false},
		{"a child may require a second factor its parent leaves optional", opt, req, req, false},
		{"a child may make it optional where its parent disables it", off, opt, opt, false},
		{"a child may require it where its parent disables it", off, req, req, false},
		{"a child cannot disable what its parent requires", req, off, req, true},
		{"a child cannot make optional what its parent requires", req, opt, req, true},
		{"a child cannot disable what its parent offers", opt, off, opt, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, weakened := InheritMFA(c.parent, c.own)
			if got != c.want || weakened != c.wantWeakened {
				t.Fatalf("InheritMFA(%s, %s) = %s, %v; want %s, %v", c.parent, c.own, got, weakened, c.want, c.wantWeakened)
			}
		})
	}
}

func TestInheritPassword(t *testing.T) {
	for _, c := range []struct {
		name               string
		parent, own        bool
		want, wantWeakened bool
	}{
		{"a child may keep passwords its parent allows", true, true, true, false},
		{"a child may turn off passwords its parent allows", true, false, false, false},
		{"a child may keep passwords off where its parent has them off", false, false, false, false},
		{"a child cannot turn passwords on where its parent signs in federated only", false, true, false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, weakened := InheritPassword(c.parent, c.own)
			if got != c.want || weakened != c.wantWeakened {
				t.Fatalf("InheritPassword(%v, %v) = %v, %v; want %v, %v", c.parent, c.own, got, weakened, c.want, c.wantWeakened)
			}
		})
	}
}
