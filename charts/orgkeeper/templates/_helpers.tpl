{{/*
Labels of every object. Names are fixed (orgkeeper-manager, orgkeeper-org-admin,
...) rather than derived from the release name: the CRDs and ClusterRoles are
cluster-wide and the operator looks the org-admin ClusterRole up by name, so
there is one Orgkeeper per cluster.
*/}}
{{- define "orgkeeper.labels" -}}
app.kubernetes.io/name: orgkeeper
app.kubernetes.io/part-of: orgkeeper
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}

{{/* The Pods' labels that the Deployment, Services and PDB select on. */}}
{{- define "orgkeeper.selectorLabels" -}}
app.kubernetes.io/name: orgkeeper
app.kubernetes.io/component: manager
{{- end }}

{{- define "orgkeeper.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/*
orgkeeper.validate stops the render with a message for values that would
install something that cannot work.
*/}}
{{- define "orgkeeper.validate" -}}
{{- $store := .Values.sessionStore.type -}}
{{- if and (gt (int .Values.replicaCount) 1) (ne $store "redis") -}}
{{- fail (printf "replicaCount is %d but sessionStore.type is %q: the in-memory session store lives in one Pod, so a sign-in begun on one replica would fail on the next. Set sessionStore.type=redis and sessionStore.redis.addr=<host:port>, or replicaCount=1." (int .Values.replicaCount) $store) -}}
{{- end -}}
{{- if and (eq $store "redis") (not .Values.sessionStore.redis.addr) -}}
{{- fail "sessionStore.type is redis but sessionStore.redis.addr is empty: set it to the Redis server's host:port." -}}
{{- end -}}
{{- if and .Values.sessionStore.redis.tls.caSecret.name (not .Values.sessionStore.redis.tls.enabled) -}}
{{- fail "sessionStore.redis.tls.caSecret is set but sessionStore.redis.tls.enabled is false: enable TLS, or remove the CA." -}}
{{- end -}}
{{- if and .Values.ingress.enabled (not .Values.issuer.url) -}}
{{- fail "ingress.enabled is true but issuer.url is empty: the Ingress takes its host from the issuer URL, such as https://login.example.com." -}}
{{- end -}}
{{- if and .Values.issuer.tls.secretName (not .Values.issuer.url) -}}
{{- fail "issuer.tls.secretName is set but issuer.url is empty: the TLS certificate is for the issuer; set issuer.url." -}}
{{- end -}}
{{- with .Values.smtp -}}
{{- if not .host -}}
{{- range $name, $set := dict "smtp.from" .from "smtp.username" .username "smtp.passwordSecret.name" .passwordSecret.name "smtp.ca.secret.name" .ca.secret.name "smtp.ca.configMap.name" .ca.configMap.name -}}
{{- if $set -}}
{{- fail (printf "%s is set but smtp.host is empty: set smtp.host to the SMTP relay, or remove %s." $name $name) -}}
{{- end -}}
{{- end -}}
{{- else -}}
{{- if not .from -}}
{{- fail "smtp.host is set but smtp.from is empty: set the sender address, such as \"Example Login <login@example.com>\"." -}}
{{- end -}}
{{- if and .passwordSecret.name (not .username) -}}
{{- fail "smtp.passwordSecret is set but smtp.username is empty: the relay password goes with a user name; set smtp.username." -}}
{{- end -}}
{{- if and .ca.secret.name .ca.configMap.name -}}
{{- fail "smtp.ca.secret and smtp.ca.configMap are both set: the CA bundle comes from one of them; remove the other." -}}
{{- end -}}
{{- if and (or .ca.secret.name .ca.configMap.name) (eq .tls "none") -}}
{{- fail "smtp.ca is set but smtp.tls is none: a CA verifies the relay's TLS certificate; set smtp.tls to starttls or tls, or remove the CA." -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end }}

{{/* The arguments of `orgkeeper manager`. */}}
{{- define "orgkeeper.args" -}}
- manager
- --leader-elect
- {{ printf "--system-namespace=%s" .Release.Namespace | quote }}
- --http-addr=:{{ .Values.ports.http }}
- --metrics-addr=:{{ .Values.ports.metrics }}
- --health-addr=:{{ .Values.ports.health }}
- {{ printf "--zap-log-level=%s" .Values.logLevel | quote }}
{{- with .Values.issuer.url }}
- {{ printf "--issuer-url=%s" . | quote }}
{{- end }}
{{- if .Values.issuer.tls.secretName }}
- --tls-cert-file=/etc/orgkeeper/tls/tls.crt
- --tls-key-file=/etc/orgkeeper/tls/tls.key
{{- end }}
{{- with .Values.issuer.trustedProxies }}
- {{ printf "--trusted-proxies=%s" (join "," .) | quote }}
{{- end }}
{{- with .Values.identityProviders.allowedNetworks }}
- {{ printf "--upstream-allowed-networks=%s" (join "," .) | quote }}
{{- end }}
{{- with .Values.issuer.keyRotationPeriod }}
- {{ printf "--key-rotation-period=%s" . | quote }}
{{- end }}
{{- with .Values.shutdown.delay }}
- {{ printf "--shutdown-delay=%s" . | quote }}
{{- end }}
{{- with .Values.shutdown.timeout }}
- {{ printf "--shutdown-timeout=%s" . | quote }}
{{- end }}
{{- with .Values.domains.dnsResolver }}
- {{ printf "--dns-resolver=%s" . | quote }}
{{- end }}
{{- with .Values.domains.recheckPeriod }}
- {{ printf "--domain-recheck-period=%s" . | quote }}
{{- end }}
{{- if eq .Values.sessionStore.type "redis" }}
{{- with .Values.sessionStore.redis }}
- --session-store=redis
- {{ printf "--redis-addr=%s" .addr | quote }}
{{- with .username }}
- {{ printf "--redis-username=%s" . | quote }}
{{- end }}
{{- if .passwordSecret.name }}
- --redis-password-file=/etc/orgkeeper/redis/password
{{- end }}
{{- if .db }}
- {{ printf "--redis-db=%d" (int .db) | quote }}
{{- end }}
{{- with .keyPrefix }}
- {{ printf "--redis-key-prefix=%s" . | quote }}
{{- end }}
{{- if .tls.enabled }}
- --redis-tls
{{- if .tls.caSecret.name }}
- --redis-ca-file=/etc/orgkeeper/redis-ca/ca.crt
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- with .Values.leaderElection }}
{{- with .leaseDuration }}
- {{ printf "--leader-elect-lease-duration=%s" . | quote }}
{{- end }}
{{- with .renewDeadline }}
- {{ printf "--leader-elect-renew-deadline=%s" . | quote }}
{{- end }}
{{- with .retryPeriod }}
- {{ printf "--leader-elect-retry-period=%s" . | quote }}
{{- end }}
{{- end }}
{{- /* 0 is a setting (no series) here, so only null means the manager's default. */}}
{{- if not (kindIs "invalid" .Values.metrics.maxOrganizations) }}
- {{ printf "--metrics-max-organizations=%d" (int .Values.metrics.maxOrganizations) | quote }}
{{- end }}
{{- if not (kindIs "invalid" .Values.metrics.maxClients) }}
- {{ printf "--metrics-max-clients=%d" (int .Values.metrics.maxClients) | quote }}
{{- end }}
{{- with .Values.smtp }}
{{- if .host }}
- {{ printf "--smtp-host=%s" .host | quote }}
{{- if .port }}
- {{ printf "--smtp-port=%d" (int .port) | quote }}
{{- end }}
- {{ printf "--smtp-from=%s" .from | quote }}
- {{ printf "--smtp-tls=%s" .tls | quote }}
{{- with .username }}
- {{ printf "--smtp-username=%s" . | quote }}
{{- end }}
{{- if .passwordSecret.name }}
- --smtp-password-file=/etc/orgkeeper/smtp/password
{{- end }}
{{- if or .ca.secret.name .ca.configMap.name }}
- --smtp-ca-file=/etc/orgkeeper/smtp-ca/ca.crt
{{- end }}
{{- with .timeout }}
- {{ printf "--smtp-timeout=%s" . | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- with .Values.links.invitationTTL }}
- {{ printf "--invitation-ttl=%s" . | quote }}
{{- end }}
{{- with .Values.links.passwordResetTTL }}
- {{ printf "--password-reset-ttl=%s" . | quote }}
{{- end }}
{{- with .Values.links.registrationTTL }}
- {{ printf "--registration-ttl=%s" . | quote }}
{{- end }}
{{- range .Values.extraArgs }}
- {{ . | quote }}
{{- end }}
{{- end }}

{{/*
orgkeeper.withLabels prints a manifest copied from config/ (see files/README.md)
with the chart's labels merged into each document's labels.
*/}}
{{- define "orgkeeper.withLabels" -}}
{{- $root := .root -}}
{{- range $doc := regexSplit "(?m)^---\\s*$" ($root.Files.Get .file) -1 }}
{{- $obj := fromYaml $doc }}
{{- if $obj.kind }}
{{- /* The file's own labels win (managed-by: orgkeeper marks what the operator relies on). */}}
{{- $labels := merge ($obj.metadata.labels | default dict) (include "orgkeeper.labels" $root | fromYaml) }}
{{- $_ := set $obj.metadata "labels" $labels }}
---
{{ toYaml $obj }}
{{- end }}
{{- end }}
{{- end }}
