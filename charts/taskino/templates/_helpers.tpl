{{/* Chart name. */}}
{{- define "taskino.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: <release>-<chart>, or the release name when it already contains the chart name. */}}
{{- define "taskino.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "taskino.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "taskino.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "taskino.selectorLabels" -}}
app.kubernetes.io/name: {{ include "taskino.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The scheduler name: replicas sharing it share schedules; ConfigMaps are selected by it. */}}
{{- define "taskino.scheduler" -}}
{{- default (include "taskino.fullname" .) .Values.scheduler }}
{{- end }}

{{- define "taskino.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "taskino.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Seconds of a "30s"/"2m"/"1h"/"250ms" duration, rounded up. */}}
{{- define "taskino.seconds" -}}
{{- $d := . | toString }}
{{- if hasSuffix "ms" $d }}{{ div (add (trimSuffix "ms" $d | atoi) 999) 1000 }}
{{- else if hasSuffix "s" $d }}{{ trimSuffix "s" $d | atoi }}
{{- else if hasSuffix "m" $d }}{{ mul (trimSuffix "m" $d | atoi) 60 }}
{{- else if hasSuffix "h" $d }}{{ mul (trimSuffix "h" $d | atoi) 3600 }}
{{- else }}{{ $d | atoi }}{{ end }}
{{- end }}

{{/* Pod terminationGracePeriodSeconds: the sidecar's shutdown grace plus time to release leases. */}}
{{- define "taskino.terminationGracePeriodSeconds" -}}
{{- add (include "taskino.seconds" .Values.sidecar.shutdownGrace | atoi) 10 }}
{{- end }}

{{/*
The taskino sidecar container, for this chart's demo and for an app's own chart:

  dependencies: [{name: taskino, version: 0.1.0, repository: ...}]   # in your Chart.yaml
  containers:                                                          # in your Deployment
    - name: app
      ...
    {{- include "taskino.sidecar" .Subcharts.taskino | nindent 4 }}

It takes the taskino chart's context (.Subcharts.taskino from a parent chart). The pod also needs
the service account (taskino.serviceAccountName) and a writable /tmp: add
{{ include "taskino.volumes" .Subcharts.taskino }} under the pod's volumes.
*/}}
{{- define "taskino.sidecar" -}}
- name: taskino
  image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  {{- if .Values.sidecar.nativeSidecar }}
  restartPolicy: Always
  {{- end }}
  args: ["run", "--kube"]
  env:
    - name: TASKINO_SCHEDULER
      value: {{ include "taskino.scheduler" . | quote }}
    - name: TASKINO_KUBE_NAMESPACE
      valueFrom:
        fieldRef:
          fieldPath: metadata.namespace
    - name: TASKINO_APP_URL
      value: {{ .Values.sidecar.appUrl | quote }}
    - name: TASKINO_HTTP_PORT
      value: {{ .Values.sidecar.httpPort | quote }}
    - name: TASKINO_LOG_LEVEL
      value: {{ .Values.sidecar.logLevel | quote }}
    - name: TASKINO_SHUTDOWN_GRACE
      value: {{ .Values.sidecar.shutdownGrace | quote }}
    {{- with .Values.sidecar.allowHosts }}
    - name: TASKINO_ALLOW_HOST
      value: {{ join "," . | quote }}
    {{- end }}
    - name: TASKINO_REDIS_URL
      {{- if not (or .Values.redis.bundled .Values.redis.url .Values.redis.existingSecret.name) }}
      {{- fail "redis: set redis.url or redis.existingSecret.name when redis.bundled is false" }}
      {{- end }}
      {{- if .Values.redis.existingSecret.name }}
      valueFrom:
        secretKeyRef:
          name: {{ .Values.redis.existingSecret.name }}
          key: {{ .Values.redis.existingSecret.key }}
      {{- else if .Values.redis.url }}
      valueFrom:
        secretKeyRef:
          name: {{ include "taskino.fullname" . }}-redis-url
          key: url
      {{- else }}
      value: "redis://{{ include "taskino.fullname" . }}-redis:6379"
      {{- end }}
    {{- with .Values.sidecar.extraEnv }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  ports:
    - name: taskino-http
      containerPort: {{ .Values.sidecar.httpPort }}
      protocol: TCP
  livenessProbe:
    httpGet:
      path: /healthz
      port: taskino-http
    periodSeconds: 10
    failureThreshold: 3
  {{- if .Values.sidecar.readinessProbe.enabled }}
  # Pod readiness follows the sidecar's: tolerant, so a short Redis failover does not take the
  # app out of its Service. Turn it off to keep /readyz for monitoring only.
  readinessProbe:
    httpGet:
      path: /readyz
      port: taskino-http
    periodSeconds: 10
    failureThreshold: {{ .Values.sidecar.readinessProbe.failureThreshold }}
  {{- end }}
  securityContext:
    runAsNonRoot: true
    runAsUser: 10001
    runAsGroup: 10001
    readOnlyRootFilesystem: true
    allowPrivilegeEscalation: false
    capabilities:
      drop: ["ALL"]
    seccompProfile:
      type: RuntimeDefault
  resources:
    {{- toYaml .Values.sidecar.resources | nindent 4 }}
  volumeMounts:
    - name: taskino-tmp
      mountPath: /tmp
{{- end }}

{{/* The volume the sidecar needs beside a read-only root filesystem (its admin socket lives in /tmp). */}}
{{- define "taskino.volumes" -}}
- name: taskino-tmp
  emptyDir:
    sizeLimit: 16Mi
{{- end }}

{{/* Seconds of a Prometheus duration such as 2h or 30m. */}}
{{- define "taskino.promSeconds" -}}
{{- $d := . | toString }}
{{- $n := regexFind "^[0-9]+" $d | atoi }}
{{- $u := trimPrefix (regexFind "^[0-9]+" $d) $d }}
{{- if eq $u "s" }}{{ $n }}{{ else if eq $u "m" }}{{ mul $n 60 }}{{ else if eq $u "h" }}{{ mul $n 3600 }}{{ else if eq $u "d" }}{{ mul $n 86400 }}{{ else if eq $u "w" }}{{ mul $n 604800 }}{{ else }}{{ mul $n 31536000 }}{{ end }}
{{- end }}
