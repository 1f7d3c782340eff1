{{/*
The platform's services, ports and service accounts: files/platform.yaml, generated from
svc_kit/services.py and mesh/policy.yaml by `python -m mesh.render --chart`.
*/}}
{{- define "mp.platform" -}}
{{- .Files.Get "files/platform.yaml" -}}
{{- end }}

{{/* A service's values: serviceDefaults with its block under `services` merged over them. */}}
{{- define "mp.serviceValues" -}}
{{- $own := index .root.Values.services .name | default dict -}}
{{- toYaml (mergeOverwrite (deepCopy .root.Values.serviceDefaults) (deepCopy $own)) -}}
{{- end }}

{{- define "mp.configName" -}}
{{- printf "%s-config" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end }}

{{/* Labels of every object of workload .name ({root, name}). */}}
{{- define "mp.labels" -}}
app: {{ .name }}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: marketing-platform
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{- end }}

{{/* The selector of workload .name; `app` is also what the Istio objects select. */}}
{{- define "mp.selector" -}}
app: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end }}

{{- define "mp.image" -}}
{{- $tag := .root.Values.image.tag | default .root.Chart.AppVersion -}}
{{- printf "%s/%s:%s" .root.Values.image.registry .image $tag -}}
{{- end }}

{{/* Pod labels and annotations that put a pod in the mesh (or keep it out). */}}
{{- define "mp.meshPodLabels" -}}
sidecar.istio.io/inject: {{ .Values.mesh.enabled | quote }}
{{- end }}
{{- define "mp.meshPodAnnotations" -}}
{{- if and .Values.mesh.enabled .Values.mesh.holdApplicationUntilProxyStarts }}
proxy.istio.io/config: '{"holdApplicationUntilProxyStarts": true}'
{{- end }}
{{- end }}

{{/* Environment variables from the existing Secret: {root, env (name: key)}. */}}
{{- define "mp.secretEnv" -}}
{{- range $variable, $key := .env }}
- name: {{ $variable }}
  valueFrom:
    secretKeyRef:
      name: {{ $.root.Values.secrets.name }}
      key: {{ $key }}
      optional: {{ $.root.Values.secrets.optional }}
{{- end }}
{{- end }}

{{/* Plain environment variables from a map. */}}
{{- define "mp.env" -}}
{{- range $variable, $value := . }}
- name: {{ $variable }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end }}

{{/* The volumes every Python workload mounts: the state dir and /tmp (the root filesystem is read-only). */}}
{{- define "mp.stateVolumes" -}}
- name: state
  emptyDir:
    sizeLimit: {{ .sizeLimit }}
- name: tmp
  emptyDir:
    medium: Memory
    sizeLimit: 64Mi
{{- end }}
{{- define "mp.stateMounts" -}}
- name: state
  mountPath: /var/lib/marketing
- name: tmp
  mountPath: /tmp
{{- end }}
