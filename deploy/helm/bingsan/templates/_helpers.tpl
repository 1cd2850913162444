{{/* Names and labels. */}}
{{- define "bingsan.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "bingsan.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "bingsan.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "bingsan.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "bingsan.selectorLabels" -}}
app.kubernetes.io/name: {{ include "bingsan.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "bingsan.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "bingsan.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "bingsan.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{- define "bingsan.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "bingsan.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The store driver the configuration selects. */}}
{{- define "bingsan.driver" -}}
{{- index .Values.config "store.driver" | default "sqlite" -}}
{{- end -}}

{{/*
Secret fields of .Values.secrets and the configuration key each feeds
(the -file variant of a secret key). The server only ever reads these
secrets from files.
*/}}
{{- define "bingsan.secretKeys" -}}
postgresDSN: store.postgres.dsn-file
s3SecretAccessKey: warehouse.s3.secret-access-key-file
gcsCredentialsJSON: warehouse.gcs.credentials-json-file
azureAccountKey: warehouse.azure.account-key-file
azureClientSecret: warehouse.azure.client-secret-file
bootstrapClientSecret: auth.bootstrap-client-secret-file
keyEncryptionSecret: auth.key-encryption-secret-file
{{- end -}}

{{- define "bingsan.secretDir" -}}/var/run/secrets/bingsan{{- end -}}

{{/* BINGSAN_* variable of a dotted configuration key. */}}
{{- define "bingsan.envName" -}}
BINGSAN_{{ . | upper | replace "." "_" | replace "-" "_" }}
{{- end -}}

{{/* Refuse values that would break the deployment, with the reason. */}}
{{- define "bingsan.validate" -}}
{{- $driver := include "bingsan.driver" . -}}
{{- if not (has $driver (list "postgres" "sqlite")) -}}
{{- fail (printf "config store.driver must be postgres or sqlite, not %q" $driver) -}}
{{- end -}}
{{- if and (eq $driver "sqlite") (or .Values.autoscaling.enabled (gt (int .Values.replicaCount) 1)) -}}
{{- fail "store.driver sqlite keeps the catalog in one pod's file: set replicaCount 1 and autoscaling.enabled false, or use postgres" -}}
{{- end -}}
{{- if and (eq $driver "postgres") (not .Values.secrets.postgresDSN.secretName) -}}
{{- fail "store.driver postgres needs secrets.postgresDSN.secretName: a Secret whose key holds the connection string" -}}
{{- end -}}
{{- $secretKeys := list "store.postgres.dsn" "warehouse.s3.secret-access-key" "warehouse.gcs.credentials-json" "warehouse.azure.account-key" "warehouse.azure.client-secret" "auth.bootstrap-client-secret" "auth.key-encryption-secret" -}}
{{- range $k, $v := .Values.config -}}
{{- if has $k $secretKeys -}}
{{- fail (printf "config %s is a secret: put it in a Kubernetes Secret and name it under secrets (mounted as a file)" $k) -}}
{{- end -}}
{{- if or (hasSuffix "-file" $k) (has $k (list "listen" "data-dir" "config")) -}}
{{- fail (printf "config %s is set by the chart (service.port, persistence, secrets)" $k) -}}
{{- end -}}
{{- end -}}
{{- range $i, $w := (index .Values.config "warehouses" | default list) -}}
{{- range $section, $k := dict "s3" "secret-access-key" "gcs" "credentials-json" "azure" "account-key" -}}
{{- if hasKey (index $w $section | default dict) $k -}}
{{- fail (printf "config warehouses[%d].%s.%s is a secret: use %s-file with a file mounted from a Kubernetes Secret" $i $section $k $k) -}}
{{- end -}}
{{- end -}}
{{- if hasKey ($w.azure | default dict) "client-secret" -}}
{{- fail (printf "config warehouses[%d].azure.client-secret is a secret: use client-secret-file with a file mounted from a Kubernetes Secret" $i) -}}
{{- end -}}
{{- end -}}
{{- range .Values.extraEnv -}}
{{- if hasPrefix "BINGSAN_" .name -}}
{{- fail (printf "extraEnv %s: set Bingsan's configuration under config (or secrets)" .name) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The container environment, shared by the server and the migration Job. */}}
{{- define "bingsan.env" -}}
- name: BINGSAN_LISTEN
  value: {{ printf "0.0.0.0:%d" (int .Values.service.port) | quote }}
- name: BINGSAN_DATA_DIR
  value: /var/lib/bingsan
{{- range $k := keys .Values.config | sortAlpha }}
{{- $v := index $.Values.config $k }}
- name: {{ include "bingsan.envName" $k }}
  {{- if kindIs "map" $v }}
  {{- $pairs := list }}
  {{- range $mk := keys $v | sortAlpha }}{{ $pairs = append $pairs (printf "%s=%v" $mk (index $v $mk)) }}{{ end }}
  value: {{ join "," $pairs | quote }}
  {{- else if kindIs "slice" $v }}
  value: {{ toJson $v | quote }}
  {{- else }}
  value: {{ toString $v | quote }}
  {{- end }}
{{- end }}
{{- $secrets := include "bingsan.secretKeys" . | fromYaml }}
{{- range $field := keys $secrets | sortAlpha }}
{{- $s := index $.Values.secrets $field }}
{{- if $s.secretName }}
- name: {{ include "bingsan.envName" (index $secrets $field) }}
  value: {{ printf "%s/%s" (include "bingsan.secretDir" $) $field | quote }}
{{- end }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Volumes: the secrets (read-only, owner-readable), data and /tmp. */}}
{{- define "bingsan.volumes" -}}
{{- $secrets := include "bingsan.secretKeys" . | fromYaml }}
{{- $any := false }}
{{- range $field, $_ := $secrets }}{{ if (index $.Values.secrets $field).secretName }}{{ $any = true }}{{ end }}{{ end }}
{{- if $any }}
- name: secrets
  projected:
    defaultMode: 0440
    sources:
    {{- range $field := keys $secrets | sortAlpha }}
    {{- $s := index $.Values.secrets $field }}
    {{- if $s.secretName }}
    - secret:
        name: {{ $s.secretName }}
        items:
        - key: {{ $s.key }}
          path: {{ $field }}
    {{- end }}
    {{- end }}
{{- end }}
- name: tmp
  emptyDir: {}
{{- end -}}

{{- define "bingsan.volumeMounts" -}}
{{- $secrets := include "bingsan.secretKeys" . | fromYaml }}
{{- $any := false }}
{{- range $field, $_ := $secrets }}{{ if (index $.Values.secrets $field).secretName }}{{ $any = true }}{{ end }}{{ end }}
{{- if $any }}
- name: secrets
  mountPath: {{ include "bingsan.secretDir" . }}
  readOnly: true
{{- end }}
- name: tmp
  mountPath: /tmp
{{- end -}}
