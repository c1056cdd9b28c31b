package rules

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestOlder(t *testing.T) {
	t0 := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	t1 := metav1.NewTime(t0.Add(time.Second))
	meta := func(ts metav1.Time, ns, name string) *metav1.ObjectMeta {
		return &metav1.ObjectMeta{CreationTimestamp: ts, Namespace: ns, Name: name}
	}
	cases := []struct {
		name string
		a, b *metav1.ObjectMeta
		want int
	}{
		{"the object created first is older whatever its namespace and name", meta(t0, "z", "z"), meta(t1, "a", "a"), -1},
		{"the object created later is not older", meta(t1, "a", "a"), meta(t0, "z", "z"), 1},
		{"at the same second the smaller namespace is older", meta(t0, "acme", "x"), meta(t0, "globex", "a"), -1},
		{"at the same second in one namespace the smaller name is older", meta(t0, "acme", "alice"), meta(t0, "acme", "bob"), -1},
		{"an object is not older than itself", meta(t0, "acme", "alice"), meta(t0, "acme", "alice"), 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Older(c.a, c.b); got != c.want {
				t.Fatalf("Older = %d, want %d", got, c.want)
			}
		})
	}
}
