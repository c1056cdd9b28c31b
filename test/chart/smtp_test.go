package chart

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// smtpValues turn on every SMTP setting, with the CA from a Secret.
const smtpValues = `
smtp:
  host: smtp.example.com
  port: 2525
  from: "Example Login <login@example.com>"
  tls: starttls
  username: orgkeeper
  passwordSecret: {name: orgkeeper-smtp, key: smtp-password}
  ca:
    secret: {name: smtp-ca, key: ca.pem}
  timeout: 20s
links:
  invitationTTL: 168h
  passwordResetTTL: 30m
  registrationTTL: 2h
`

func init() {
	sampleRenders["SMTP with every setting, the CA from a Secret"] = smtpValues
	sampleRenders["SMTP over TLS with the CA from a ConfigMap"] = `
smtp:
  host: smtp.example.com
  from: login@example.com
  tls: tls
  ca:
    configMap: {name: smtp-ca, key: bundle.pem}
`
	sampleRenders["metric caps and leader election timings"] = `
metrics: {maxOrganizations: 0, maxClients: 500}
leaderElection: {leaseDuration: 30s, renewDeadline: 20s, retryPeriod: 4s}
`
	sampleRenders["domain verification settings"] = `
domains: {dnsResolver: "10.96.0.10:53", recheckPeriod: 10m}
`
}

func argValue(args []string, flag string) (string, bool) {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, flag+"="); ok {
			return v, true
		}
	}
	return "", false
}

func TestSMTPValuesReachTheManagerWithThePasswordAsAReadOnlyFile(t *testing.T) {
	r := mustRender(t, smtpValues)
	args := r.managerArgs(t)
	for _, want := range []string{
		"--smtp-host=smtp.example.com",
		"--smtp-port=2525",
		"--smtp-from=Example Login <login@example.com>",
		"--smtp-tls=starttls",
		"--smtp-username=orgkeeper",
		"--smtp-password-file=/etc/orgkeeper/smtp/password",
		"--smtp-ca-file=/etc/orgkeeper/smtp-ca/ca.crt",
		"--smtp-timeout=20s",
		"--invitation-ttl=168h",
		"--password-reset-ttl=30m",
		"--registration-ttl=2h",
	} {
		if !slices.Contains(args, want) {
			t.Errorf("args %v lack %s", args, want)
		}
	}
	pod := r.deployment(t).Spec.Template.Spec
	assertFileFlagsComeFromSecrets(t, pod, args, map[string][2]string{
		"--smtp-password-file": {"orgkeeper-smtp", "smtp-password"},
		"--smtp-ca-file":       {"smtp-ca", "ca.pem"},
	})
	// The password reaches the manager as a file only: no environment
	// variable of the container refers to the Secret.
	c := pod.Containers[0]
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && e.ValueFrom.SecretKeyRef.Name == "orgkeeper-smtp" {
			t.Errorf("env %s carries the SMTP password Secret", e.Name)
		}
	}
	for _, e := range c.EnvFrom {
		if e.SecretRef != nil && e.SecretRef.Name == "orgkeeper-smtp" {
			t.Errorf("envFrom carries the SMTP password Secret")
		}
	}
	if !strings.Contains(r.notes, "smtp.example.com") {
		t.Errorf("NOTES do not name the relay:\n%s", r.notes)
	}
}

func TestSMTPCAFromAConfigMapIsMountedAtTheCAFile(t *testing.T) {
	r := mustRender(t, sampleRenders["SMTP over TLS with the CA from a ConfigMap"])
	args := r.managerArgs(t)
	if !slices.Contains(args, "--smtp-tls=tls") {
		t.Errorf("args %v lack --smtp-tls=tls", args)
	}
	for _, a := range args {
		if strings.HasPrefix(a, "--smtp-port") || strings.HasPrefix(a, "--smtp-password-file") || strings.HasPrefix(a, "--smtp-username") {
			t.Errorf("args carry %s although no value asks for it", a)
		}
	}
	path, ok := argValue(args, "--smtp-ca-file")
	if !ok {
		t.Fatalf("args %v lack --smtp-ca-file", args)
	}
	pod := r.deployment(t).Spec.Template.Spec
	var found bool
	for _, m := range pod.Containers[0].VolumeMounts {
		rel, err := filepath.Rel(m.MountPath, path)
		if err != nil || strings.HasPrefix(rel, "..") {
			continue
		}
		if !m.ReadOnly {
			t.Errorf("volume %s is mounted writable", m.Name)
		}
		for _, v := range pod.Volumes {
			if v.Name == m.Name && v.ConfigMap != nil && v.ConfigMap.Name == "smtp-ca" &&
				slices.Contains(v.ConfigMap.Items, corev1.KeyToPath{Key: "bundle.pem", Path: rel}) {
				found = true
			}
		}
	}
	if !found {
		t.Errorf("--smtp-ca-file=%s is not key bundle.pem of ConfigMap smtp-ca: %s", path, toYAML(pod.Volumes))
	}
}

func TestMetricCapsAndLeaderElectionValuesReachTheManagersFlags(t *testing.T) {
	args := mustRender(t, sampleRenders["metric caps and leader election timings"]).managerArgs(t)
	for _, want := range []string{
		// 0 is a setting (no per-organization series), not "unset".
		"--metrics-max-organizations=0",
		"--metrics-max-clients=500",
		"--leader-elect-lease-duration=30s",
		"--leader-elect-renew-deadline=20s",
		"--leader-elect-retry-period=4s",
	} {
		if !slices.Contains(args, want) {
			t.Errorf("args %v lack %s", args, want)
		}
	}
}

// TestDefaultValuesLeaveMailCapsAndElectionToTheManager: with the default
// values none of these flags is rendered, so the manager's defaults apply and
// the default render stays the one config/default installs.
func TestDefaultValuesLeaveMailCapsAndElectionToTheManager(t *testing.T) {
	r := mustRender(t, ``)
	for _, a := range r.managerArgs(t) {
		for _, p := range []string{"--smtp-", "--invitation-ttl", "--password-reset-ttl", "--registration-ttl", "--metrics-max-", "--leader-elect-"} {
			if strings.HasPrefix(a, p) {
				t.Errorf("the default values pass %s", a)
			}
		}
	}
	for _, v := range r.deployment(t).Spec.Template.Spec.Volumes {
		if strings.HasPrefix(v.Name, "smtp") {
			t.Errorf("the default values mount volume %s", v.Name)
		}
	}
	if !strings.Contains(r.notes, "no mail is sent") {
		t.Errorf("NOTES do not say that no mail is sent:\n%s", r.notes)
	}
}

func TestChartRefusesSMTPValuesThatCannotWork(t *testing.T) {
	for _, tc := range []struct {
		name, values string
		wantErr      []string
	}{
		{
			name:    "a sender without a relay is refused",
			values:  "smtp: {from: login@example.com}",
			wantErr: []string{"smtp.from is set but smtp.host is empty"},
		},
		{
			name:    "a password without a relay is refused",
			values:  "smtp: {username: u, passwordSecret: {name: smtp}}",
			wantErr: []string{"smtp.host is empty"},
		},
		{
			name:    "a relay without a sender is refused",
			values:  "smtp: {host: smtp.example.com}",
			wantErr: []string{"smtp.from is empty"},
		},
		{
			name:    "a password without a user name is refused",
			values:  "smtp: {host: smtp.example.com, from: a@example.com, passwordSecret: {name: smtp}}",
			wantErr: []string{"smtp.username is empty"},
		},
		{
			name:    "a CA from both a Secret and a ConfigMap is refused",
			values:  "smtp: {host: smtp.example.com, from: a@example.com, ca: {secret: {name: a}, configMap: {name: b}}}",
			wantErr: []string{"both set"},
		},
		{
			name:    "a CA without TLS is refused",
			values:  "smtp: {host: smtp.example.com, from: a@example.com, tls: none, ca: {secret: {name: a}}}",
			wantErr: []string{"smtp.tls is none"},
		},
		{
			name:    "an unknown TLS mode is refused by the schema",
			values:  "smtp: {host: smtp.example.com, from: a@example.com, tls: ssl}",
			wantErr: []string{"/smtp/tls", "starttls"},
		},
		{
			name:    "a port out of range is refused by the schema",
			values:  "smtp: {host: smtp.example.com, from: a@example.com, port: 70000}",
			wantErr: []string{"/smtp/port"},
		},
		{
			name:    "a host with a port is refused by the schema (the port has its own value)",
			values:  "smtp: {host: 'smtp.example.com:587', from: a@example.com}",
			wantErr: []string{"/smtp/host"},
		},
		{
			name:    "a timeout that is not a duration is refused by the schema",
			values:  "smtp: {host: smtp.example.com, from: a@example.com, timeout: '10'}",
			wantErr: []string{"/smtp/timeout"},
		},
		{
			name:    "a link lifetime that is not a duration is refused by the schema",
			values:  "links: {invitationTTL: 3d}",
			wantErr: []string{"/links/invitationTTL"},
		},
		{
			name:    "a negative metrics cap is refused by the schema",
			values:  "metrics: {maxClients: -1}",
			wantErr: []string{"/metrics/maxClients"},
		},
		{
			name:    "a lease duration that is not a duration is refused by the schema",
			values:  "leaderElection: {leaseDuration: long}",
			wantErr: []string{"/leaderElection/leaseDuration"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := render(t, tc.values)
			if err == nil {
				t.Fatalf("the chart rendered with\n%s", tc.values)
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("the error does not mention %q:\n%v", want, err)
				}
			}
		})
	}
}

// TestManagerStartsWithTheRenderedSMTPArguments runs the manager with the
// arguments of an SMTP render. The test stands in for the kubelet: it writes
// each Secret's key where the rendered volume puts it (under a temporary
// root), so the password and CA files the flags name are the ones the Pod
// would see, and the manager reads and checks them at start.
func TestManagerStartsWithTheRenderedSMTPArguments(t *testing.T) {
	const password = "chart-test-smtp-secret"
	ports := freePorts(t, 4)
	issuer := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	r := mustRender(t, fmt.Sprintf(`
issuer: {url: %q}
ports: {http: %d, health: %d, metrics: %d}
smtp:
  host: 127.0.0.1
  port: %d
  from: "Chart Test <login@example.com>"
  username: orgkeeper
  passwordSecret: {name: orgkeeper-smtp, key: smtp-password}
  ca:
    secret: {name: smtp-ca, key: ca.pem}
  timeout: 5s
links: {invitationTTL: 24h, passwordResetTTL: 15m}
metrics: {maxOrganizations: 10, maxClients: 0}
leaderElection: {leaseDuration: 20s, renewDeadline: 15s, retryPeriod: 3s}
`, issuer, ports[0], ports[1], ports[2], ports[3]))
	args := mountVolumesLocally(t, r.deployment(t).Spec.Template.Spec, r.managerArgs(t), map[string]map[string]string{
		"Secret/orgkeeper-smtp": {"smtp-password": password + "\n"},
		"Secret/smtp-ca":        {"ca.pem": testCAPEM(t)},
	})
	log := runManagerWithArgs(t, issuer, ports, args)
	if strings.Contains(log, "no --smtp-host") {
		t.Errorf("the manager started without mail:\n%s", tail(log, 40))
	}
	if strings.Contains(log, password) {
		t.Errorf("the manager's log carries the SMTP password")
	}
}

// mountVolumesLocally writes the Secret and ConfigMap items of the
// container's volume mounts under a temporary root, from data keyed by
// "Secret/<name>" or "ConfigMap/<name>", and returns args with every path
// under a mount moved under that root.
func mountVolumesLocally(t *testing.T, pod corev1.PodSpec, args []string, data map[string]map[string]string) []string {
	t.Helper()
	root := t.TempDir()
	var mountPaths []string
	for _, m := range pod.Containers[0].VolumeMounts {
		for _, v := range pod.Volumes {
			if v.Name != m.Name {
				continue
			}
			var source string
			var items []corev1.KeyToPath
			switch {
			case v.Secret != nil:
				source, items = "Secret/"+v.Secret.SecretName, v.Secret.Items
			case v.ConfigMap != nil:
				source, items = "ConfigMap/"+v.ConfigMap.Name, v.ConfigMap.Items
			default:
				continue
			}
			dir := filepath.Join(root, m.MountPath)
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			for _, item := range items {
				content, ok := data[source][item.Key]
				if !ok {
					t.Fatalf("volume %s wants key %s of %s, which the test does not provide", v.Name, item.Key, source)
				}
				if err := os.WriteFile(filepath.Join(dir, item.Path), []byte(content), 0o400); err != nil {
					t.Fatal(err)
				}
			}
			mountPaths = append(mountPaths, m.MountPath)
		}
	}
	out := slices.Clone(args)
	for i, a := range out {
		flag, value, ok := strings.Cut(a, "=")
		if !ok {
			continue
		}
		for _, mp := range mountPaths {
			if strings.HasPrefix(value, mp+"/") {
				out[i] = flag + "=" + filepath.Join(root, value)
			}
		}
	}
	return out
}

// testCAPEM is a self-signed CA certificate, as a relay's CA bundle would be.
func testCAPEM(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "chart test SMTP CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}
