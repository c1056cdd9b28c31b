// Command orgkeeper is Orgkeeper's one binary: `orgkeeper manager` runs the
// operator in a cluster, `orgkeeper dev` runs everything on this machine with
// no cluster. This package only parses flags and wires packages together.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"go.uber.org/zap/zapcore"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

func main() {
	if err := newRootCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "orgkeeper:", err)
		os.Exit(1)
	}
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "orgkeeper",
		Short: "B2B customer identity and access management on Kubernetes",
		Long: `Orgkeeper manages the organizations (customers, partners), their users,
shared applications and identity providers of a B2B product as Kubernetes
resources in the group iam.orgkeeper.io, and serves sign-in for them through
one OpenID Connect issuer.

  orgkeeper manager   run the operator, in a cluster or against --kubeconfig
  orgkeeper dev       run everything on this machine, no cluster needed`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newManagerCommand(), newDevCommand())
	return root
}

// addLogFlags adds the --zap-* flags of controller-runtime's logger to cmd.
func addLogFlags(cmd *cobra.Command, opts *zap.Options) {
	fs := flag.NewFlagSet("log", flag.ContinueOnError)
	opts.BindFlags(fs)
	cmd.Flags().AddGoFlagSet(fs)
}

// setupLogging makes opts the logger of controller-runtime and of klog (which
// client-go, leader election and envtest log through).
func setupLogging(opts *zap.Options) {
	logger := zap.New(zap.UseFlagOptions(opts))
	ctrl.SetLogger(logger)
	klog.SetLogger(logger)
}

// devLogOptions are the logger defaults of `orgkeeper dev`: readable lines,
// short timestamps, stack traces only for errors.
func devLogOptions() zap.Options {
	return zap.Options{
		Development:     true,
		Level:           zapcore.InfoLevel,
		StacktraceLevel: zapcore.ErrorLevel,
		TimeEncoder:     zapcore.TimeEncoderOfLayout("15:04:05.000"),
	}
}
