package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

func (kf *kubeFlags) loader() clientcmd.ClientConfig {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kf.kubeconfig
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: kf.context})
}

// execUser returns the kubeconfig's current user's exec plugin and the
// name of that user, or an error saying the kubeconfig does not sign in
// with kubectl-org.
func (kf *kubeFlags) execUser() (*clientcmdapi.Config, string, *clientcmdapi.ExecConfig, error) {
	raw, err := kf.loader().RawConfig()
	if err != nil {
		return nil, "", nil, err
	}
	ctxName := kf.context
	if ctxName == "" {
		ctxName = raw.CurrentContext
	}
	c := raw.Contexts[ctxName]
	if c == nil {
		return nil, "", nil, fmt.Errorf("the kubeconfig has no context %q; pass --kubeconfig or --context", ctxName)
	}
	u := raw.AuthInfos[c.AuthInfo]
	if u == nil || u.Exec == nil || len(u.Exec.Args) == 0 || u.Exec.Args[0] != "login" {
		return nil, "", nil, fmt.Errorf("the kubeconfig user %q does not sign in with kubectl org login; "+
			"use the kubeconfig your platform team gave you (see docs/kubectl.md), or pass --issuer-url", c.AuthInfo)
	}
	return &raw, c.AuthInfo, u.Exec, nil
}

// loginOptions are the login flags of the current kubeconfig user.
func (kf *kubeFlags) loginOptions() (loginOptions, error) {
	_, _, ex, err := kf.execUser()
	if err != nil {
		return loginOptions{}, err
	}
	return parseLoginArgs(ex.Args[1:])
}

func parseLoginArgs(args []string) (loginOptions, error) {
	var o loginOptions
	fs := pflag.NewFlagSet("login", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	addLoginFlags(fs, &o)
	if err := fs.Parse(args); err != nil {
		return o, fmt.Errorf("the kubeconfig's kubectl org login arguments: %w", err)
	}
	return o, nil
}

// setOrganization makes the current kubeconfig user sign in to org: it
// replaces the --organization argument of its exec plugin.
func (kf *kubeFlags) setOrganization(org string) error {
	raw, user, ex, err := kf.execUser()
	if err != nil {
		return err
	}
	args := []string{ex.Args[0]}
	for i := 1; i < len(ex.Args); i++ {
		a := ex.Args[i]
		switch {
		case a == "--organization":
			i++ // and its value
		case strings.HasPrefix(a, "--organization="):
		default:
			args = append(args, a)
		}
	}
	if org != "" {
		args = append(args, "--organization="+org)
	}
	raw.AuthInfos[user].Exec.Args = args
	return clientcmd.ModifyConfig(kf.loader().ConfigAccess(), *raw, false)
}

// api is a small JSON client for the few requests the plugin makes.
type api struct {
	base string
	c    *http.Client
}

func (kf *kubeFlags) api() (*api, error) {
	cfg, err := kf.loader().ClientConfig()
	if err != nil {
		return nil, err
	}
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	return &api{base: strings.TrimSuffix(cfg.Host, "/"), c: hc}, nil
}

// statusError is an API server's refusal (a metav1.Status).
type statusError struct {
	Code    int
	Reason  string
	Message string
}

func (e *statusError) Error() string { return e.Message }

func (a *api) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var st struct {
			Reason  string `json:"reason"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(b, &st)
		if st.Message == "" {
			st.Message = resp.Status
		}
		return &statusError{Code: resp.StatusCode, Reason: st.Reason, Message: st.Message}
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}

// tokenClaims are the claims the plugin shows; read without verification,
// for display only (the API server verifies the token).
type tokenClaims struct {
	Subject           string   `json:"sub"`
	OrgHandle         string   `json:"org_handle"`
	OrgPath           []string `json:"org_path"`
	PreferredUsername string   `json:"preferred_username"`
	Email             string   `json:"email"`
	Groups            []string `json:"groups"`
	Act               *struct {
		Subject string `json:"sub"`
	} `json:"act,omitempty"`
}

func peek(jwt string) (*tokenClaims, error) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return nil, errors.New("the token is not a JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, err
	}
	var c tokenClaims
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// postForm posts a form and decodes the JSON answer (an OAuth error too).
func postForm(ctx context.Context, c *http.Client, u string, form url.Values, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("the token endpoint answered %s: %.200s", resp.Status, b)
	}
	return nil
}
