{{- define "csb.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "csb.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "csb.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{ include "csb.selectorLabels" . }}
{{- end -}}

{{- define "csb.selectorLabels" -}}
app.kubernetes.io/name: {{ include "csb.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: bot
{{- end -}}

{{- define "csb.redisName" -}}
{{- printf "%s-redis" (include "csb.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "csb.redisSelectorLabels" -}}
app.kubernetes.io/name: {{ include "csb.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: redis
{{- end -}}

{{- define "csb.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "csb.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Settings that cannot work together stop the render with a message. */}}
{{- define "csb.checks" -}}
{{- if not (has .Values.mode (list "socket" "http")) -}}
{{- fail "mode must be socket or http" -}}
{{- end -}}
{{- if le (int .Values.terminationGracePeriodSeconds) (int .Values.bot.shutdownGraceSeconds) -}}
{{- fail "terminationGracePeriodSeconds must be above bot.shutdownGraceSeconds, or Kubernetes kills answers the bot would still finish" -}}
{{- end -}}
{{- if and (eq .Values.mode "socket") .Values.autoscaling.enabled (gt (int .Values.autoscaling.maxReplicas) 10) -}}
{{- fail "autoscaling.maxReplicas is at most 10 in socket mode: Slack accepts 10 Socket Mode connections per app" -}}
{{- end -}}
{{- if and (eq .Values.mode "socket") (gt (int .Values.replicaCount) 10) -}}
{{- fail "replicaCount is at most 10 in socket mode: Slack accepts 10 Socket Mode connections per app" -}}
{{- end -}}
{{- $sources := 0 -}}
{{- if .Values.redis.url }}{{ $sources = add1 $sources }}{{ end -}}
{{- if .Values.redis.urlFromSecret }}{{ $sources = add1 $sources }}{{ end -}}
{{- if .Values.redis.bundled.enabled }}{{ $sources = add1 $sources }}{{ end -}}
{{- if ne (int $sources) 1 -}}
{{- fail "set exactly one of redis.url, redis.urlFromSecret or redis.bundled.enabled: replicas must share one Redis" -}}
{{- end -}}
{{- if not .Values.secrets.existingSecret -}}
{{- fail "secrets.existingSecret must name the Secret holding the tokens" -}}
{{- end -}}
{{- end -}}
