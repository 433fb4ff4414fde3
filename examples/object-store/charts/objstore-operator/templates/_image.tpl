{{/* objstore-operator.image REPOSITORY NAME: the host map entry, the image name and its version, as the operator's chart joins them */}}
{{- define "objstore-operator.image" -}}
{{- $repository := index .root.Values.repositories .repository -}}
{{- $version := index .root.Values.versions .name -}}
{{ $repository.hostname }}/{{ $repository.pathPrefix }}/{{ .name }}:{{ $version.tag }}{{ with $version.digest }}@{{ . }}{{ end }}
{{- end -}}
