package rules

import (
	"cmp"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Older orders objects by creation time, then namespace, then name. It is
// the order in which every first-come conflict (an email or username within
// an organization, a client ID, an unclaimed domain) is decided in favour of
// the first: negative when a is older than b.
func Older(a, b *metav1.ObjectMeta) int {
	return cmp.Or(
		a.CreationTimestamp.Time.Compare(b.CreationTimestamp.Time),
		cmp.Compare(a.Namespace, b.Namespace),
		cmp.Compare(a.Name, b.Name),
	)
}
