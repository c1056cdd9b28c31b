package devenv_test

import (
	"context"
	"errors"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/orgkeeper/orgkeeper/internal/devenv"
)

func TestDevenv(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "devenv")
}

// startEnv starts a control plane with opts for the specs of a container,
// stopped at its cleanup (also when a spec fails: no process outlives the
// suite), or skips them where the binaries are not built.
func startEnv(ctx context.Context, opts devenv.Options) *devenv.Env {
	GinkgoHelper()
	env, err := devenv.Start(ctx, opts)
	if errors.Is(err, devenv.ErrNoAssets) {
		Skip(err.Error())
	}
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(env.Stop)
	return env
}
