// Command kubectl-org is the kubectl plugin for organization admins of an
// Orgkeeper installation: `kubectl org login` signs kubectl in with your
// organization account (as a client-go exec credential plugin), and
// whoami, tree, invite and switch work with your organization.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCommand()
	if err := root.ExecuteContext(ctx); err != nil {
		var q quietError
		if !errors.As(err, &q) {
			fmt.Fprintln(os.Stderr, "error:", err)
		}
		os.Exit(1)
	}
}

// quietError has been reported already.
type quietError struct{ error }

// kubeFlags select the cluster, as kubectl's own flags do.
type kubeFlags struct {
	kubeconfig string
	context    string
	namespace  string
}

func newRootCommand() *cobra.Command {
	kf := &kubeFlags{}
	root := &cobra.Command{
		Use: "kubectl-org",
		// kubectl runs us as `kubectl org`; usage lines say so.
		Annotations: map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl org"},
		Short:       "Manage your Orgkeeper organization with kubectl",
		Long: `kubectl org signs kubectl in with your organization account and helps you
manage your organization: its users, its sub-organizations, and who may do what.

Your platform team gives you a kubeconfig whose user runs "kubectl org login".
Then:

  kubectl org login              sign in (opens your browser once; kubectl does it by itself when needed)
  kubectl org whoami             who you are to the cluster, and what you may do
  kubectl org tree               your organization and its sub-organizations, with their status
  kubectl org invite EMAIL       invite a new user to your organization by email
  kubectl org switch ORG         act for one of your sub-organizations
  kubectl get orgusers -n ORG    everything else is plain kubectl

Use --kubeconfig (or KUBECONFIG) to pick that kubeconfig.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	pf := root.PersistentFlags()
	pf.StringVar(&kf.kubeconfig, "kubeconfig", "", "path of the kubeconfig to use (default: $KUBECONFIG or ~/.kube/config)")
	pf.StringVar(&kf.context, "context", "", "kubeconfig context to use (default: the current context)")
	pf.StringVarP(&kf.namespace, "namespace", "n", "", "organization to work in (default: the one you are signed in to)")
	root.AddCommand(newLoginCommand(kf), newLogoutCommand(kf), newWhoamiCommand(kf), newTreeCommand(kf),
		newInviteCommand(kf), newSwitchCommand(kf))
	return root
}
