package controller

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// getSecret reads a Secret and reports whether it exists.
func getSecret(ctx context.Context, c client.Reader, key types.NamespacedName, s *corev1.Secret) (bool, error) {
	err := c.Get(ctx, key, s)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}
