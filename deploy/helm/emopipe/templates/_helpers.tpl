{{/* Names, labels and the checks every template relies on. */}}

{{- define "emopipe.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "emopipe.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "emopipe.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* app.kubernetes.io labels; call with (dict "ctx" $ "component" "worker") */}}
{{- define "emopipe.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version | replace "+" "_" }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: emopipe
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
{{ include "emopipe.selectorLabels" . }}
{{- end -}}

{{- define "emopipe.selectorLabels" -}}
app.kubernetes.io/name: {{ include "emopipe.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Kafka connection: bootstrap, protocol, user, password Secret, CA Secret */}}
{{- define "emopipe.kafkaBootstrap" -}}
{{- if .Values.kafka.strimzi -}}
{{- printf "%s-kafka-bootstrap:%d" .Values.kafka.clusterName (int .Values.kafka.port) -}}
{{- else -}}
{{- required "kafka.external.bootstrap is required when kafka.strimzi is false" .Values.kafka.external.bootstrap -}}
{{- end -}}
{{- end -}}

{{- define "emopipe.kafkaProtocol" -}}
{{- if .Values.kafka.strimzi -}}SASL_SSL{{- else -}}{{ .Values.kafka.external.securityProtocol }}{{- end -}}
{{- end -}}

{{- define "emopipe.redisHost" -}}
{{- printf "%s-redis" (include "emopipe.fullname" .) -}}
{{- end -}}

{{- define "emopipe.redisSecret" -}}
{{- default (printf "%s-redis" (include "emopipe.fullname" .)) .Values.redis.existingSecret -}}
{{- end -}}

{{/* Checks: fail the render instead of deploying something that cannot work */}}
{{- define "emopipe.checks" -}}
{{- $p := int .Values.settings.partitions -}}
{{- if and (not .Values.keda.enabled) (gt (int .Values.worker.replicas) $p) -}}
{{- fail (printf "worker.replicas (%d) must be <= settings.partitions (%d): a worker beyond the partition count gets no partition" (int .Values.worker.replicas) $p) -}}
{{- end -}}
{{- if and .Values.keda.enabled (gt (int .Values.keda.maxReplicas) $p) -}}
{{- fail (printf "keda.maxReplicas (%d) must be <= settings.partitions (%d): a worker beyond the partition count gets no partition" (int .Values.keda.maxReplicas) $p) -}}
{{- end -}}
{{- if and .Values.keda.enabled (gt (int .Values.keda.minReplicas) (int .Values.keda.maxReplicas)) -}}
{{- fail "keda.minReplicas must be <= keda.maxReplicas" -}}
{{- end -}}
{{- if and .Values.kafka.strimzi (gt (int .Values.settings.replicationFactor) (int .Values.kafka.replicas)) -}}
{{- fail "settings.replicationFactor must be <= kafka.replicas" -}}
{{- end -}}
{{- if not (has .Values.settings.processingGuarantee (list "at_least_once" "exactly_once")) -}}
{{- fail "settings.processingGuarantee must be at_least_once or exactly_once" -}}
{{- end -}}
{{- if and .Values.redis.tls.enabled (not .Values.redis.tls.secretName) -}}
{{- fail "redis.tls.secretName is required when redis.tls.enabled (a Secret with tls.crt, tls.key, ca.crt)" -}}
{{- end -}}
{{- end -}}

{{/* env entry with the Redis password of the workers' ACL user */}}
{{- define "emopipe.redisPasswordEnv" -}}
{{- if .Values.redis.enabled -}}
- name: EMOPIPE_REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "emopipe.redisSecret" . }}
      key: redis-password
{{- else if .Values.redis.external.passwordSecret.name -}}
- name: EMOPIPE_REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.redis.external.passwordSecret.name }}
      key: {{ .Values.redis.external.passwordSecret.key }}
{{- end -}}
{{- end -}}

{{/* CA certificates of Kafka (Strimzi cluster CA or kafka.external.caSecret) and Redis, mounted read-only */}}
{{- define "emopipe.caMounts" -}}
{{- if or .Values.kafka.strimzi .Values.kafka.external.caSecret.name }}
- name: kafka-ca
  mountPath: /etc/emopipe/kafka-ca
  readOnly: true
{{- end }}
{{- if and .Values.redis.enabled .Values.redis.tls.enabled }}
- name: redis-ca
  mountPath: /etc/emopipe/redis-ca
  readOnly: true
{{- end }}
{{- end -}}

{{- define "emopipe.caVolumes" -}}
{{- if .Values.kafka.strimzi }}
- name: kafka-ca
  secret:
    secretName: {{ printf "%s-cluster-ca-cert" .Values.kafka.clusterName }}
    items:
      - key: ca.crt
        path: ca.crt
{{- else if .Values.kafka.external.caSecret.name }}
- name: kafka-ca
  secret:
    secretName: {{ .Values.kafka.external.caSecret.name }}
    items:
      - key: {{ .Values.kafka.external.caSecret.key }}
        path: ca.crt
{{- end }}
{{- if and .Values.redis.enabled .Values.redis.tls.enabled }}
- name: redis-ca
  secret:
    secretName: {{ .Values.redis.tls.secretName }}
    items:
      - key: ca.crt
        path: ca.crt
{{- end }}
{{- end -}}

{{/* env entry with the Kafka SASL password (Strimzi's KafkaUser Secret, or kafka.external.passwordSecret) */}}
{{- define "emopipe.kafkaPasswordEnv" -}}
{{- if .Values.kafka.strimzi -}}
- name: EMOPIPE_KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.kafka.user }}
      key: password
{{- else if .Values.kafka.external.passwordSecret.name -}}
- name: EMOPIPE_KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.kafka.external.passwordSecret.name }}
      key: {{ .Values.kafka.external.passwordSecret.key }}
{{- end -}}
{{- end -}}
