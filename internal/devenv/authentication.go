package devenv

import (
	"os"
	"path/filepath"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// configureAuthentication writes the AuthenticationConfiguration into the
// state directory and points kube-apiserver at it. kube-apiserver fetches
// the issuer's discovery document and keys in the background, retrying, so
// it may start before the issuer serves.
func (e *Env) configureAuthentication(apiServer *envtest.APIServer, config []byte) error {
	path := filepath.Join(e.StateDir, "authentication-config.yaml")
	if err := os.WriteFile(path, config, 0o644); err != nil {
		return err
	}
	apiServer.Configure().Set("authentication-config", path)
	return nil
}

// WriteExecKubeconfig writes a kubeconfig for this API server whose user
// gets its credentials from the exec plugin (kubectl-org), to path (mode
// 0600).
func (e *Env) WriteExecKubeconfig(path, user string, exec *clientcmdapi.ExecConfig) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	cfg := kubeconfigFor(e.Config, "orgkeeper-dev", user)
	cfg.AuthInfos = map[string]*clientcmdapi.AuthInfo{user: {Exec: exec}}
	return clientcmd.WriteToFile(cfg, path)
}

// PluginExec is the exec credential of the organization admins' kubeconfig:
// kubectl-org login against issuer, trusting the CA in caFile. The plugin
// is bin/kubectl-org next to the running binary when it exists (make dev
// builds both), else kubectl-org on the PATH.
func PluginExec(issuer, caFile string) *clientcmdapi.ExecConfig {
	command := "kubectl-org"
	if self, err := os.Executable(); err == nil {
		if p := filepath.Join(filepath.Dir(self), "kubectl-org"); fileExists(p) {
			command = p
		}
	}
	return &clientcmdapi.ExecConfig{
		APIVersion:      "client.authentication.k8s.io/v1",
		Command:         command,
		Args:            []string{"login", "--issuer-url=" + issuer, "--certificate-authority=" + caFile},
		InteractiveMode: clientcmdapi.IfAvailableExecInteractiveMode,
		InstallHint: "kubectl-org signs you in with your organization account; build it with make kubectl-org " +
			"(bin/kubectl-org) and put it on your PATH",
	}
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}
