package main

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	iamv1 "github.com/orgkeeper/orgkeeper/api/v1alpha1"
	"github.com/orgkeeper/orgkeeper/internal/kubeauth"
)

// identity is who the API server says we are.
type identity struct {
	user authnv1.UserInfo
	org  string
	path []string
	// adminOf is, after kubectl org switch, the organization the user
	// administers org from; empty for a token of the user's own
	// organization.
	adminOf string
}

func (kf *kubeFlags) whoami(cmd *cobra.Command, a *api) (*identity, error) {
	var r authnv1.SelfSubjectReview
	in := authnv1.SelfSubjectReview{TypeMeta: metav1.TypeMeta{APIVersion: "authentication.k8s.io/v1", Kind: "SelfSubjectReview"}}
	if err := a.do(cmd.Context(), http.MethodPost, "/apis/authentication.k8s.io/v1/selfsubjectreviews", in, &r); err != nil {
		return nil, fmt.Errorf("asking the API server who you are: %w", err)
	}
	id := &identity{user: r.Status.UserInfo}
	if v := id.user.Extra[kubeauth.ExtraOrganization]; len(v) == 1 {
		id.org = v[0]
	}
	id.path = id.user.Extra[kubeauth.ExtraOrganizationPath]
	if v := id.user.Extra[kubeauth.ExtraAdministratorOf]; len(v) == 1 {
		id.adminOf = v[0]
	}
	return id, nil
}

// signedIn connects to the API server and asks it who we are.
func (kf *kubeFlags) signedIn(cmd *cobra.Command) (*api, *identity, error) {
	a, err := kf.api()
	if err != nil {
		return nil, nil, err
	}
	id, err := kf.whoami(cmd, a)
	if err != nil {
		return nil, nil, err
	}
	return a, id, nil
}

// organization is -n, else the organization of the signed-in user.
func (kf *kubeFlags) organization(id *identity) (string, error) {
	if kf.namespace != "" {
		return kf.namespace, nil
	}
	if id.org == "" {
		return "", errors.New("you are not signed in with an organization account; pass -n ORGANIZATION")
	}
	return id.org, nil
}

func newWhoamiCommand(kf *kubeFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "whoami",
		Short: "Show who you are to the cluster and what you may do in your organization",
		Long: `Show who the cluster takes you for: your user name, organization and groups,
then what you may do in your organization's namespace (or the one of -n).
After kubectl org switch, it also shows the organization you administer
the current one from.

User and group names start with "orgkeeper:": that is how the cluster tells
organization accounts apart from any other kind of account.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, id, err := kf.signedIn(cmd)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "User:          %s\n", id.user.Username)
			if id.org != "" {
				fmt.Fprintf(out, "Organization:  %s", id.org)
				if len(id.path) > 1 {
					fmt.Fprintf(out, " (%s)", strings.Join(id.path, " / "))
				}
				fmt.Fprintln(out)
			}
			if id.adminOf != "" {
				fmt.Fprintf(out, "Acting as:     an administrator of %s (kubectl org switch %s goes back)\n", id.adminOf, id.adminOf)
			}
			fmt.Fprintf(out, "Groups:        %s\n", strings.Join(id.user.Groups, ", "))
			ns, err := kf.organization(id)
			if err != nil {
				return nil //nolint:nilerr // nothing more to show without an organization
			}
			var rr authzv1.SelfSubjectRulesReview
			in := authzv1.SelfSubjectRulesReview{
				TypeMeta: metav1.TypeMeta{APIVersion: "authorization.k8s.io/v1", Kind: "SelfSubjectRulesReview"},
				Spec:     authzv1.SelfSubjectRulesReviewSpec{Namespace: ns},
			}
			if err := a.do(cmd.Context(), http.MethodPost, "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews", in, &rr); err != nil {
				return fmt.Errorf("asking the API server what you may do in %s: %w", ns, err)
			}
			fmt.Fprintf(out, "\nIn organization %s you may:\n", ns)
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "  RESOURCES\tVERBS")
			for _, r := range rr.Status.ResourceRules {
				if isDiscoveryRule(r) {
					continue
				}
				res := make([]string, 0, len(r.Resources))
				for _, x := range r.Resources {
					g := strings.Join(r.APIGroups, ",")
					if g != "" && g != "*" {
						x += "." + g
					}
					res = append(res, x)
				}
				fmt.Fprintf(tw, "  %s\t%s\n", strings.Join(res, ", "), strings.Join(r.Verbs, ", "))
			}
			return tw.Flush()
		},
	}
}

// isDiscoveryRule is a rule every authenticated user has (self reviews).
func isDiscoveryRule(r authzv1.ResourceRule) bool {
	return slices.Equal(r.Verbs, []string{"create"}) && len(r.APIGroups) == 1 &&
		(r.APIGroups[0] == "authentication.k8s.io" || r.APIGroups[0] == "authorization.k8s.io")
}

func orgsPath(ns string) string {
	return "/apis/" + iamv1.GroupVersion.Group + "/" + iamv1.GroupVersion.Version + "/namespaces/" + url.PathEscape(ns) + "/organizations"
}

func newTreeCommand(kf *kubeFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "tree",
		Short: "Show your organization and its sub-organizations, with their status",
		Long: `Show the organization you administer (or the one of -n) and every
organization below it, with whether each is Ready and why not.

A sub-organization lives in the namespace of its parent, so the tree is what
you may list in your namespaces.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, id, err := kf.signedIn(cmd)
			if err != nil {
				return err
			}
			top, err := kf.organization(id)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tDISPLAY NAME\tREADY\tREASON")
			// The top organization's own object is in its parent's namespace,
			// which its admins may read by name only.
			var self *iamv1.Organization
			if len(id.path) > 1 && id.org == top {
				o := &iamv1.Organization{}
				if err := a.do(cmd.Context(), http.MethodGet, orgsPath(id.path[len(id.path)-2])+"/"+url.PathEscape(top), nil, o); err == nil {
					self = o
				}
			}
			printOrg(tw, "", top, self)
			if err := kf.walk(cmd, a, tw, top, "", 0); err != nil {
				return err
			}
			return tw.Flush()
		},
	}
}

// maxTreeDepth bounds the walk; the hierarchy is acyclic, but a bound keeps
// a misbehaving server from making us loop.
const maxTreeDepth = 32

func (kf *kubeFlags) walk(cmd *cobra.Command, a *api, tw *tabwriter.Writer, ns, indent string, depth int) error {
	if depth >= maxTreeDepth {
		return nil
	}
	var list iamv1.OrganizationList
	if err := a.do(cmd.Context(), http.MethodGet, orgsPath(ns), nil, &list); err != nil {
		var se *statusError
		if errors.As(err, &se) && se.Code == http.StatusForbidden {
			return fmt.Errorf("you may not list the organizations in %s: %s", ns, se.Message)
		}
		return err
	}
	slices.SortFunc(list.Items, func(x, y iamv1.Organization) int { return strings.Compare(x.Name, y.Name) })
	for i := range list.Items {
		o := &list.Items[i]
		branch, next := "├── ", "│   "
		if i == len(list.Items)-1 {
			branch, next = "└── ", "    "
		}
		printOrg(tw, indent+branch, o.Name, o)
		if err := kf.walk(cmd, a, tw, o.Name, indent+next, depth+1); err != nil {
			return err
		}
	}
	return nil
}

func printOrg(tw *tabwriter.Writer, prefix, name string, o *iamv1.Organization) {
	// The root's object lives in the system namespace, which no
	// organization admin may read; a sub-organization's top object is
	// read by name, which a failed request leaves unknown.
	ready, reason, display := "-", "(you may not read this Organization object)", ""
	if o != nil {
		ready, reason = "Unknown", ""
		display = o.Spec.DisplayName
		if c := meta.FindStatusCondition(o.Status.Conditions, iamv1.ConditionReady); c != nil {
			ready, reason = string(c.Status), c.Reason
		}
	}
	fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\n", prefix, name, display, ready, reason)
}

func newInviteCommand(kf *kubeFlags) *cobra.Command {
	var name, displayName string
	var roles []string
	cmd := &cobra.Command{
		Use:   "invite EMAIL",
		Short: "Invite a new user to your organization by email",
		Long: `Create a user in your organization (or the one of -n) and have Orgkeeper
email them an invitation to set their password.

The user's object is named after the part of the email before the @ unless
you pass --name; list users with kubectl get orgusers -n ORGANIZATION.`,
		Example: `  kubectl org invite bob@acme.example
  kubectl org invite carol@acme.example --name carol --display-name "Carol Jones" --role admin`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			email := strings.TrimSpace(args[0])
			if !strings.Contains(email, "@") {
				return fmt.Errorf("%q is not an email address", email)
			}
			a, err := kf.api()
			if err != nil {
				return err
			}
			ns := kf.namespace
			if ns == "" {
				id, err := kf.whoami(cmd, a)
				if err != nil {
					return err
				}
				if ns, err = kf.organization(id); err != nil {
					return err
				}
			}
			if name == "" {
				name = userObjectName(email)
			}
			u := &iamv1.OrgUser{
				TypeMeta:   metav1.TypeMeta{APIVersion: iamv1.GroupVersion.String(), Kind: "OrgUser"},
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
				Spec: iamv1.OrgUserSpec{Email: email, DisplayName: displayName, Roles: roles,
					Invitation: &iamv1.OrgUserInvitation{Send: true}},
			}
			path := "/apis/" + iamv1.GroupVersion.String() + "/namespaces/" + url.PathEscape(ns) + "/orgusers"
			if err := a.do(cmd.Context(), http.MethodPost, path, u, nil); err != nil {
				return fmt.Errorf("creating the user: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "orguser/%s created in %s; Orgkeeper emails the invitation to %s\n", name, ns, email)
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "name of the OrgUser object (default: derived from the email)")
	cmd.Flags().StringVar(&displayName, "display-name", "", "the user's full name, shown on pages and in tokens")
	cmd.Flags().StringSliceVar(&roles, "role", nil, "organization role (admin makes the user an admin of the organization)")
	return cmd
}

// userObjectName makes an object name from the local part of an email:
// lower case, runs of other characters as one '-'.
func userObjectName(email string) string {
	local, _, _ := strings.Cut(strings.ToLower(email), "@")
	var b strings.Builder
	dash := false
	for _, r := range local {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	s := strings.TrimSuffix(b.String(), "-")
	if len(s) > 63 {
		s = strings.TrimSuffix(s[:63], "-")
	}
	if s == "" {
		s = "user"
	}
	return s
}

func newSwitchCommand(kf *kubeFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "switch ORGANIZATION",
		Short: "Act for one of the sub-organizations you administer",
		Long: `Act for a sub-organization of one you administer: the issuer trades your
tokens for tokens of that organization, in which you appear as its admin,
and your kubeconfig user signs in to it from now on.

Switch back with kubectl org switch and your own organization's name.`,
		Example: `  kubectl org switch acme-eu
  kubectl org switch acme`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			target := args[0]
			o, err := kf.loginOptions()
			if err != nil {
				return err
			}
			s, cur, err := signIn(cmd.Context(), o, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			// Always exchange from the organization the user signed in to:
			// the issuer grants a switch only downwards, from an ancestor.
			home := cur
			if cur.Switched {
				if home, err = s.credential(cmd.Context(), cur.SwitchedFrom); err != nil {
					return err
				}
			}
			c, err := peek(home.IDToken)
			if err != nil {
				return err
			}
			if target != c.OrgHandle {
				e, err := s.exchange(cmd.Context(), home, target)
				if err != nil {
					return err
				}
				if err := s.cache.save(e); err != nil {
					return err
				}
			}
			org := target
			if target == c.OrgHandle {
				org = home.Organization // back to signing in as before
			}
			if err := kf.setOrganization(org); err != nil {
				return fmt.Errorf("updating the kubeconfig: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Now acting for organization %s.\n", target)
			return nil
		},
	}
}
