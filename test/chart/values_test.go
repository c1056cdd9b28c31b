package chart

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestDefaultValuesRenderOneHardenedReplicaWithLeaderElection(t *testing.T) {
	r := mustRender(t, ``)

	for _, want := range []string{
		"CustomResourceDefinition/organizations.iam.orgkeeper.io",
		"CustomResourceDefinition/orgusers.iam.orgkeeper.io",
		"CustomResourceDefinition/sharedapplications.iam.orgkeeper.io",
		"CustomResourceDefinition/identityproviders.iam.orgkeeper.io",
		"ClusterRole/orgkeeper-manager",
		"ClusterRoleBinding/orgkeeper-manager",
		"ClusterRole/orgkeeper-org-admin",
		"ClusterRole/orgkeeper-metrics-auth",
		"ClusterRole/orgkeeper-metrics-reader",
		"Role/orgkeeper-leader-election",
		"RoleBinding/orgkeeper-leader-election",
		"ValidatingAdmissionPolicy/orgkeeper-organization-admin-limits",
		"ValidatingAdmissionPolicyBinding/orgkeeper-organization-admin-limits",
		"MutatingAdmissionPolicy/orgkeeper-organization-finalizer",
		"MutatingAdmissionPolicyBinding/orgkeeper-organization-finalizer",
		"ServiceAccount/orgkeeper-manager",
		"Deployment/orgkeeper-manager",
		"Service/orgkeeper",
		"Service/orgkeeper-metrics",
		"PodDisruptionBudget/orgkeeper-manager",
	} {
		if !slices.Contains(r.kinds(), want) {
			t.Errorf("the default render lacks %s; it has %v", want, r.kinds())
		}
	}
	for _, unwanted := range []string{"Ingress/orgkeeper", "ServiceMonitor/orgkeeper"} {
		if slices.Contains(r.kinds(), unwanted) {
			t.Errorf("the default render has %s, which should be opt-in", unwanted)
		}
	}
	for _, o := range r.objs {
		if ns := o.GetNamespace(); ns != "" && ns != releaseNamespace {
			t.Errorf("%s/%s is in namespace %q, not the release namespace", o.GetKind(), o.GetName(), ns)
		}
	}

	d := r.deployment(t)
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 {
		t.Errorf("replicas = %v, want 1", d.Spec.Replicas)
	}
	args := r.managerArgs(t)
	for _, want := range []string{"manager", "--leader-elect", "--system-namespace=" + releaseNamespace} {
		if !slices.Contains(args, want) {
			t.Errorf("args %v lack %s", args, want)
		}
	}
	for _, a := range args {
		for _, unwanted := range []string{"--issuer-url", "--session-store", "--tls-cert-file", "--trusted-proxies", "--upstream-allowed-networks"} {
			if strings.HasPrefix(a, unwanted) {
				t.Errorf("the default args carry %s although no value asks for it", a)
			}
		}
	}

	pod := d.Spec.Template.Spec
	psc := pod.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 ||
		psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod securityContext is not non-root with RuntimeDefault seccomp: %s", toYAML(psc))
	}
	c := pod.Containers[0]
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("container securityContext is not read-only, unprivileged, without capabilities: %s", toYAML(sc))
	}
	if c.Image != "orgkeeper:"+chartAppVersion(t) {
		t.Errorf("image = %q, want orgkeeper:<appVersion>", c.Image)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources lack a CPU request or a memory limit: %s", toYAML(c.Resources))
	}
	if len(pod.TopologySpreadConstraints) == 0 {
		t.Errorf("no topology spread constraints")
	}

	// The probes hit the port that --health-addr listens on.
	healthPort := portNamed(t, c, "health")
	if !slices.Contains(args, "--health-addr=:"+healthPort) {
		t.Errorf("container port health is %s but args are %v", healthPort, args)
	}
	for name, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Port.String() != "health" {
			t.Errorf("%s probe does not GET the health port: %s", name, toYAML(p))
		}
	}
	if c.ReadinessProbe.HTTPGet.Path != "/readyz" || c.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Errorf("probe paths are %s and %s", c.ReadinessProbe.HTTPGet.Path, c.LivenessProbe.HTTPGet.Path)
	}

	if !strings.Contains(r.notes, "issuer.url is empty") {
		t.Errorf("NOTES do not say that the issuer is off:\n%s", r.notes)
	}
}

func portNamed(t testing.TB, c corev1.Container, name string) string {
	t.Helper()
	for _, p := range c.Ports {
		if p.Name == name {
			return strconv.Itoa(int(p.ContainerPort))
		}
	}
	t.Fatalf("container %s has no port named %s", c.Name, name)
	return ""
}

func TestChartRefusesValuesThatCannotWork(t *testing.T) {
	for _, tc := range []struct {
		name, values string
		wantErr      []string
	}{
		{
			name:    "several replicas with the in-memory session store are refused, saying to use Redis",
			values:  "replicaCount: 3",
			wantErr: []string{`replicaCount is 3 but sessionStore.type is "memory"`, "sessionStore.type=redis", "replicaCount=1"},
		},
		{
			name:    "two replicas are refused as well",
			values:  "replicaCount: 2\nsessionStore: {type: memory}",
			wantErr: []string{`replicaCount is 2`},
		},
		{
			name:    "Redis without an address is refused",
			values:  "sessionStore: {type: redis}",
			wantErr: []string{"sessionStore.redis.addr is empty"},
		},
		{
			name:    "a Redis CA without Redis TLS is refused",
			values:  "sessionStore: {type: redis, redis: {addr: 'redis:6379', tls: {caSecret: {name: redis-ca}}}}",
			wantErr: []string{"tls.enabled is false"},
		},
		{
			name:    "an Ingress without an issuer URL is refused",
			values:  "ingress: {enabled: true}",
			wantErr: []string{"issuer.url is empty"},
		},
		{
			name:    "an unknown session store is refused by the schema",
			values:  "sessionStore: {type: etcd}",
			wantErr: []string{"/sessionStore/type", "memory", "redis"},
		},
		{
			name:    "a misspelt value is refused by the schema rather than ignored",
			values:  "replicas: 3",
			wantErr: []string{"replicas"},
		},
		{
			name:    "an issuer URL that is not http(s) is refused by the schema",
			values:  "issuer: {url: 'login.example.com'}",
			wantErr: []string{"/issuer/url"},
		},
		{
			name:    "a shutdown delay that is not a duration is refused by the schema",
			values:  "shutdown: {delay: soon}",
			wantErr: []string{"/shutdown/delay"},
		},
		{
			name:    "zero replicas are refused by the schema",
			values:  "replicaCount: 0",
			wantErr: []string{"replicaCount"},
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

// redisValues are three replicas on a Redis store with every Redis setting.
const redisValues = `
replicaCount: 3
sessionStore:
  type: redis
  redis:
    addr: redis.cache.svc:6379
    username: orgkeeper
    passwordSecret: {name: orgkeeper-redis, key: redis-password}
    db: 2
    keyPrefix: "ok-prod:"
    tls:
      enabled: true
      caSecret: {name: redis-ca, key: ca.pem}
`

func TestRedisValuesGiveEveryReplicaTheSharedStoreWithSecretsAsFiles(t *testing.T) {
	r := mustRender(t, redisValues)
	d := r.deployment(t)
	if *d.Spec.Replicas != 3 {
		t.Errorf("replicas = %d, want 3", *d.Spec.Replicas)
	}
	args := r.managerArgs(t)
	for _, want := range []string{
		"--leader-elect",
		"--session-store=redis",
		"--redis-addr=redis.cache.svc:6379",
		"--redis-username=orgkeeper",
		"--redis-password-file=/etc/orgkeeper/redis/password",
		"--redis-db=2",
		"--redis-key-prefix=ok-prod:",
		"--redis-tls",
		"--redis-ca-file=/etc/orgkeeper/redis-ca/ca.crt",
	} {
		if !slices.Contains(args, want) {
			t.Errorf("args %v lack %s", args, want)
		}
	}
	assertFileFlagsComeFromSecrets(t, d.Spec.Template.Spec, args, map[string][2]string{
		"--redis-password-file": {"orgkeeper-redis", "redis-password"},
		"--redis-ca-file":       {"redis-ca", "ca.pem"},
	})
	pdb := r.find("PodDisruptionBudget", "orgkeeper-manager")
	if pdb == nil {
		t.Fatal("no PodDisruptionBudget")
	}
	if v, _, _ := unstructured.NestedFieldNoCopy(pdb.Object, "spec", "maxUnavailable"); fmt.Sprint(v) != "1" {
		t.Errorf("PDB maxUnavailable = %v, want 1", v)
	}
	if strings.Contains(r.notes, "Session store: memory") {
		t.Errorf("NOTES speak of the memory store on a Redis install:\n%s", r.notes)
	}
}

// assertFileFlagsComeFromSecrets checks that each flag's file is the key of
// the Secret named, mounted read-only at that path.
func assertFileFlagsComeFromSecrets(t *testing.T, pod corev1.PodSpec, args []string, want map[string][2]string) {
	t.Helper()
	for flag, secret := range want {
		var path string
		for _, a := range args {
			if v, ok := strings.CutPrefix(a, flag+"="); ok {
				path = v
			}
		}
		if path == "" {
			t.Errorf("no %s in %v", flag, args)
			continue
		}
		var found bool
		for _, m := range pod.Containers[0].VolumeMounts {
			rel, err := filepath.Rel(m.MountPath, path)
			if err != nil || strings.HasPrefix(rel, "..") {
				continue
			}
			if !m.ReadOnly {
				t.Errorf("%s: volume %s is mounted writable", flag, m.Name)
			}
			for _, v := range pod.Volumes {
				if v.Name != m.Name || v.Secret == nil {
					continue
				}
				if v.Secret.SecretName != secret[0] {
					t.Errorf("%s: file from Secret %s, want %s", flag, v.Secret.SecretName, secret[0])
				}
				for _, item := range v.Secret.Items {
					if item.Path == rel && item.Key == secret[1] {
						found = true
					}
				}
			}
		}
		if !found {
			t.Errorf("%s=%s is not key %s of Secret %s mounted at that path: %s", flag, path, secret[1], secret[0], toYAML(pod.Volumes))
		}
	}
}

// issuerValues expose an issuer with its own TLS behind an Ingress.
const issuerValues = `
issuer:
  url: https://login.example.com/auth
  tls: {secretName: login-tls}
  trustedProxies: [10.0.0.0/8, 192.168.0.0/16]
  keyRotationPeriod: 168h
identityProviders: {allowedNetworks: [10.20.0.0/16, 192.168.7.8/32]}
shutdown: {delay: 10s, timeout: 20s}
terminationGracePeriodSeconds: 40
ingress:
  enabled: true
  className: nginx
  annotations: {nginx.ingress.kubernetes.io/backend-protocol: HTTPS}
  tls: [{secretName: login-tls, hosts: [login.example.com]}]
`

func TestIssuerValuesServeTLSFromTheSecretBehindAnIngressForTheIssuerHost(t *testing.T) {
	r := mustRender(t, issuerValues)
	args := r.managerArgs(t)
	for _, want := range []string{
		"--issuer-url=https://login.example.com/auth",
		"--tls-cert-file=/etc/orgkeeper/tls/tls.crt",
		"--tls-key-file=/etc/orgkeeper/tls/tls.key",
		"--trusted-proxies=10.0.0.0/8,192.168.0.0/16",
		"--upstream-allowed-networks=10.20.0.0/16,192.168.7.8/32",
		"--key-rotation-period=168h",
		"--shutdown-delay=10s",
		"--shutdown-timeout=20s",
	} {
		if !slices.Contains(args, want) {
			t.Errorf("args %v lack %s", args, want)
		}
	}
	if got := r.deployment(t).Spec.Template.Spec.TerminationGracePeriodSeconds; got == nil || *got != 40 {
		t.Errorf("terminationGracePeriodSeconds = %v, want 40", got)
	}
	assertFileFlagsComeFromSecrets(t, r.deployment(t).Spec.Template.Spec, args, map[string][2]string{
		"--tls-cert-file": {"login-tls", "tls.crt"},
		"--tls-key-file":  {"login-tls", "tls.key"},
	})

	ing := r.find("Ingress", "orgkeeper")
	if ing == nil {
		t.Fatalf("no Ingress among %v", r.kinds())
	}
	rules, _, _ := unstructured.NestedSlice(ing.Object, "spec", "rules")
	if len(rules) != 1 {
		t.Fatalf("Ingress rules: %s", toYAML(rules))
	}
	rule := rules[0].(map[string]any)
	if rule["host"] != "login.example.com" {
		t.Errorf("Ingress host = %v, want login.example.com", rule["host"])
	}
	paths, _, _ := unstructured.NestedSlice(rule, "http", "paths")
	path := paths[0].(map[string]any)
	if path["path"] != "/auth" {
		t.Errorf("Ingress path = %v, want /auth", path["path"])
	}
	svc, _, _ := unstructured.NestedString(path, "backend", "service", "name")
	port, _, _ := unstructured.NestedString(path, "backend", "service", "port", "name")
	if svc != "orgkeeper" || port != "http" || r.find("Service", svc) == nil {
		t.Errorf("Ingress backend is %s:%s", svc, port)
	}
	if class, _, _ := unstructured.NestedString(ing.Object, "spec", "ingressClassName"); class != "nginx" {
		t.Errorf("ingressClassName = %q", class)
	}
	if !strings.Contains(r.notes, "https://login.example.com/auth/.well-known/openid-configuration") {
		t.Errorf("NOTES do not show the discovery URL:\n%s", r.notes)
	}
}

func TestServiceMonitorScrapesTheMetricsServiceAsAnAuthorizedServiceAccount(t *testing.T) {
	r := mustRender(t, `
serviceMonitor:
  enabled: true
  labels: {release: prometheus}
  prometheusServiceAccount: {name: prometheus-k8s, namespace: monitoring}
`)
	sm := r.find("ServiceMonitor", "orgkeeper")
	if sm == nil {
		t.Fatalf("no ServiceMonitor among %v", r.kinds())
	}
	if sm.GetLabels()["release"] != "prometheus" {
		t.Errorf("ServiceMonitor labels %v lack release=prometheus", sm.GetLabels())
	}
	sel, _, _ := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels")
	var svc *unstructured.Unstructured
	for _, o := range r.objs {
		if o.GetKind() != "Service" {
			continue
		}
		matches := true
		for k, v := range sel {
			matches = matches && o.GetLabels()[k] == v
		}
		if matches {
			if svc != nil {
				t.Errorf("the ServiceMonitor selects Services %s and %s", svc.GetName(), o.GetName())
			}
			svc = o
		}
	}
	if svc == nil || svc.GetName() != "orgkeeper-metrics" {
		t.Fatalf("the ServiceMonitor's selector %v does not select Service orgkeeper-metrics", sel)
	}
	endpoints, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
	ep := endpoints[0].(map[string]any)
	svcPorts, _, _ := unstructured.NestedSlice(svc.Object, "spec", "ports")
	if ep["port"] != svcPorts[0].(map[string]any)["name"] || ep["scheme"] != "https" {
		t.Errorf("endpoint %v does not scrape the metrics port over HTTPS", ep)
	}
	crb := r.find("ClusterRoleBinding", "orgkeeper-metrics-reader")
	if crb == nil {
		t.Fatal("no ClusterRoleBinding for Prometheus")
	}
	subjects, _, _ := unstructured.NestedSlice(crb.Object, "subjects")
	if s := subjects[0].(map[string]any); s["name"] != "prometheus-k8s" || s["namespace"] != "monitoring" {
		t.Errorf("binding subject %v", s)
	}
	if ref, _, _ := unstructured.NestedString(crb.Object, "roleRef", "name"); ref != "orgkeeper-metrics-reader" {
		t.Errorf("binding role %s", ref)
	}
}

func TestChartCopiesOfGeneratedManifestsAreCurrent(t *testing.T) {
	pairs := map[string]string{
		"config/rbac/role.yaml":                     "charts/orgkeeper/files/manager-role.yaml",
		"config/rbac/org_admin_role.yaml":           "charts/orgkeeper/files/org-admin-role.yaml",
		"config/policy/org_admin_limits.yaml":       "charts/orgkeeper/files/org-admin-limits.yaml",
		"config/policy/organization_finalizer.yaml": "charts/orgkeeper/files/organization-finalizer.yaml",
	}
	crds, err := filepath.Glob(filepath.Join(repoRoot, "config", "crd", "bases", "*.yaml"))
	if err != nil || len(crds) == 0 {
		t.Fatalf("no CRDs in config/crd/bases: %v", err)
	}
	for _, c := range crds {
		pairs[filepath.Join("config", "crd", "bases", filepath.Base(c))] = filepath.Join("charts", "orgkeeper", "crds", filepath.Base(c))
	}
	copies, _ := filepath.Glob(filepath.Join(chartDir, "crds", "*.yaml"))
	if len(copies) != len(crds) {
		t.Errorf("charts/orgkeeper/crds has %d files, config/crd/bases %d: run make chart", len(copies), len(crds))
	}
	for src, dst := range pairs {
		a, err := os.ReadFile(filepath.Join(repoRoot, src))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(repoRoot, dst))
		if err != nil {
			t.Errorf("%s: %v (run make chart)", dst, err)
			continue
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs from %s: run make chart", dst, src)
		}
	}
}
