// Package apptest starts what a test of the whole manager needs: a control
// plane of its own and a client that knows Orgkeeper's kinds.
package apptest

import (
	"context"
	"errors"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/orgkeeper/orgkeeper/internal/app"
	"github.com/orgkeeper/orgkeeper/internal/devenv"
)

// ControlPlane starts a control plane with opts, stopped at cleanup, and
// returns it with a client of the manager's scheme, after creating the
// namespace systemNamespace. It skips the test where the control plane's
// binaries are not built (devenv.ErrNoAssets).
func ControlPlane(t *testing.T, ctx context.Context, opts devenv.Options, systemNamespace string) (*devenv.Env, client.Client) {
	t.Helper()
	env, err := devenv.Start(ctx, opts)
	if errors.Is(err, devenv.ErrNoAssets) {
		t.Skip(err.Error())
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	scheme, err := app.NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(env.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	if err := devenv.EnsureNamespace(ctx, c, systemNamespace); err != nil {
		t.Fatal(err)
	}
	return env, c
}
