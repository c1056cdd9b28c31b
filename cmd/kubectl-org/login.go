package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// execInfoEnv is set by client-go when it runs an exec credential plugin.
const execInfoEnv = "KUBERNETES_EXEC_INFO"

// addLoginFlags registers the login flags on fs; the exec plugin's
// arguments in the kubeconfig are these flags.
func addLoginFlags(fs *pflag.FlagSet, o *loginOptions) {
	fs.StringVar(&o.issuer, "issuer-url", "", "your Orgkeeper issuer, such as https://login.example.com")
	fs.StringVar(&o.clientID, "client-id", "kubernetes", "client ID of the application kubectl signs in with (the audience kube-apiserver expects)")
	fs.StringVar(&o.organization, "organization", "", "organization to sign in to (default: the login page asks, or routes you by your email)")
	fs.StringVar(&o.caFile, "certificate-authority", "", "PEM file of the CA that signed the issuer's certificate (default: the system's)")
	fs.StringVar(&o.listen, "listen-address", "127.0.0.1:0", "loopback address the browser returns to after signing in")
	fs.BoolVar(&o.noBrowser, "no-browser", false, "print the sign-in address instead of opening a browser")
	fs.StringVar(&o.cacheDir, "cache-dir", "", "where tokens are kept, readable by you only (default: <user cache dir>/orgkeeper/kubectl-org)")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Minute, "how long to wait for you to sign in")
}

func newLoginCommand(kf *kubeFlags) *cobra.Command {
	o := &loginOptions{}
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Sign kubectl in with your organization account",
		Long: `Sign kubectl in with your organization account.

Your kubeconfig runs this command for kubectl (as a credential plugin): the
first time, and when your sign-in has expired, it opens the login page in
your browser (or prints its address; open it on this machine), and you sign
in as you do everywhere else. Afterwards kubectl uses the saved tokens and
renews them silently until the issuer ends the sign-in.

Run it yourself to sign in ahead of time, or to check that signing in works.
Without --issuer-url it reads its settings from the current kubeconfig user.

Tokens are kept in your user cache directory, per issuer, application and
organization, in files only you can read.`,
		Example: `  kubectl org login
  kubectl org login --organization acme-eu
  # what the kubeconfig's user runs (see docs/kubectl.md):
  kubectl-org login --issuer-url https://login.example.com --client-id kubernetes`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, plugin := os.LookupEnv(execInfoEnv); plugin {
				return runExecCredential(cmd, *o)
			}
			opts := *o
			if opts.issuer == "" {
				// The kubeconfig user's arguments, then the flags given
				// here, which win.
				_, _, ex, err := kf.execUser()
				if err != nil {
					return err
				}
				args := slices.Clone(ex.Args[1:])
				cmd.Flags().Visit(func(f *pflag.Flag) {
					if f.Name != "kubeconfig" && f.Name != "context" && f.Name != "namespace" {
						args = append(args, "--"+f.Name+"="+f.Value.String())
					}
				})
				if opts, err = parseLoginArgs(args); err != nil {
					return err
				}
			}
			_, e, err := signIn(cmd.Context(), opts, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			c, err := peek(e.IDToken)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Signed in to organization %s as %s (until %s).\n",
				c.OrgHandle, c.PreferredUsername, e.Expiry.Local().Format(time.Kitchen))
			return nil
		},
	}
	addLoginFlags(cmd.Flags(), o)
	return cmd
}

// execCredential is client.authentication.k8s.io/v1 ExecCredential, as
// printed for client-go. Declared here rather than imported: the plugin
// runs before every kubectl command whose token is still cached, and
// should do nothing but read one file and print this.
type execCredential struct {
	APIVersion string               `json:"apiVersion"`
	Kind       string               `json:"kind"`
	Status     execCredentialStatus `json:"status"`
}

type execCredentialStatus struct {
	ExpirationTimestamp string `json:"expirationTimestamp"`
	Token               string `json:"token"`
}

func runExecCredential(cmd *cobra.Command, o loginOptions) error {
	_, e, err := signIn(cmd.Context(), o, cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	return writeExecCredential(cmd.OutOrStdout(), e)
}

func writeExecCredential(w io.Writer, e *entry) error {
	if e == nil || e.IDToken == "" {
		return errors.New("no token")
	}
	return json.NewEncoder(w).Encode(execCredential{
		APIVersion: "client.authentication.k8s.io/v1",
		Kind:       "ExecCredential",
		Status:     execCredentialStatus{Token: e.IDToken, ExpirationTimestamp: e.Expiry.UTC().Format(time.RFC3339)},
	})
}

func newLogoutCommand(kf *kubeFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "logout",
		Short: "Forget the saved tokens of the current kubeconfig user",
		Long: `Forget the tokens saved for the current kubeconfig user (its issuer,
application and organization). The next kubectl command signs in again.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := kf.loginOptions()
			if err != nil {
				return err
			}
			s, err := newSigner(o, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if err := s.cache.remove(s.key(o.organization)); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "Signed out: the saved tokens are gone.")
			return nil
		},
	}
}
