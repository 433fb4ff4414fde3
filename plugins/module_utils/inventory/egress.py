# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The egress audit: nothing in what will run may still point outside the enclave.

Every image reference (direct or indirect, found exactly as image_inventory finds them) must be
in an allowed mirror registry. Every URL must be on an allow list (cluster-internal names are
allowed by default); hosted endpoints on the deny list (Hugging Face, NGC and NVIDIA's hosted
APIs, Docker Hub, GHCR, Quay) are reported even when written without a scheme. Pull policy
`Always` and pods with no pull secrets are warnings. Labels, annotations and CRD schemas are not
configuration a workload reads, so they are not scanned. Secrets are (a workload reads them through
`env` and `envFrom`), decoded, and reported by key only.

Some references point outside without naming a host. `s3://BUCKET/KEY` goes wherever the client's
endpoint is set, and with none set that is AWS S3; so it is judged by the S3 endpoint the enclave
configures, and is outside when there is none. A custom resource's model source that downloads from
NGC or the Hugging Face Hub (NIMCache's `spec.source.ngc`, or `.hf` without an endpoint) names the
service, not a URL; it is outside unless the service's host is allowed. Charts are rendered by the
real helm with every Capabilities gate open, so gated custom resources are audited too.

A violation shows what points outside, not the string it was found in: `scheme://host/path` of a
URL (its user, password, query and fragment dropped) or `host/path` of a bare host, so that a token
in a URL or a whole ConfigMap blob never reaches a log.
"""

from __future__ import annotations

import base64
import dataclasses
import fnmatch
import ipaddress
import os
import re

from urllib.parse import urlsplit

from ansible_collections.airlock.airgap.plugins.module_utils.inventory import compose, findings, helm, manifests, mirroring, yamlload
from ansible_collections.airlock.airgap.plugins.module_utils.inventory import inventory as engine
from ansible_collections.airlock.airgap.plugins.module_utils.inventory.interpolate import read_env_file
from ansible_collections.airlock.airgap.plugins.module_utils.inventory.options import ALL_PROFILES
from ansible_collections.airlock.airgap.plugins.module_utils.oci import reference as references

DEFAULT_DENIED_HOSTS = (
    "huggingface.co", "*.huggingface.co", "hf.co", "*.hf.co",
    "nvcr.io", "*.nvcr.io", "ngc.nvidia.com", "*.ngc.nvidia.com", "*.api.nvidia.com", "build.nvidia.com", "*.nvcf.nvidia.com",
    "docker.io", "*.docker.io", "docker.com", "*.docker.com",
    "ghcr.io", "*.ghcr.io", "quay.io", "*.quay.io",
)
CLUSTER_INTERNAL_HOSTS = ("localhost", "*.svc", "*.svc.cluster.local", "*.cluster.local", "*.local", "*.internal")
DENIED = "a hosted endpoint on the deny list"
OUTSIDE = "a URL outside the allow list"
# What a violation in a Secret shows instead of the value: the key, in its path, says where.
SECRET_VALUE = "(not shown: a Secret's value)"
SHOWN_MAX = 200
# What audit_path reads below a folder: manifests, Compose and values files, env files.
AUDITED_SUFFIXES = (".yaml", ".yml", ".json", ".env")
# The characters a path may hold as shown; a query (`?`), a fragment (`#`) and what quotes or separates text end it.
_PATH = r"(/[^\s\"'?#,;<>`{}|\\^]*)?"
# scheme://[user[:password]@]host[:port][/path]: the user, password, query and fragment are matched, never shown.
_URL = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]*)://(?:[^\s\"'/?#@]*@)?([^/\s\"'?#,;@<>()`{}|\\^]+)" + _PATH)
# Schemes that name a hosted service rather than a host: hf://org/model is the Hugging Face Hub.
_SCHEME_HOSTS = {"hf": "huggingface.co", "ngc": "ngc.nvidia.com"}
# Schemes of S3 object URLs (boto3, Hadoop's s3a and s3n): BUCKET/KEY, the host is the client's endpoint.
S3_SCHEMES = ("s3", "s3a", "s3n")
AWS_S3_HOST = "s3.amazonaws.com"
AWS_S3 = "an s3:// URL with no S3 endpoint configured, so AWS S3"
# Keys of a custom resource's model source that download from a hosted service: (the host it reaches, the service's name).
_MODEL_SOURCE_HOSTS = {"ngc": ("ngc.nvidia.com", "NGC"), "hf": ("huggingface.co", "the Hugging Face Hub"),
                       "huggingface": ("huggingface.co", "the Hugging Face Hub")}
# A host written without a scheme (`huggingface.co`, `ghcr.io/org/app`), optionally with a port and a path: a token's
# first segment, never a segment inside a path (`/data/huggingface.co/x`) or a longer name (`myghcr.io`).
_HOST_TOKEN = re.compile(r"(?<![\w./-])([a-z0-9-]+(?:\.[a-z0-9-]+)+)(:\d+)?" + _PATH + r"(?![\w.-])", re.IGNORECASE)
# The quoted line and caret a YAML error shows after each position.
_QUOTED_LINE = re.compile(r"(line \d+, column \d+):.*?\^")
_ENV_SUFFIXES = (".env",)
_SKIPPED_KINDS = ("CustomResourceDefinition",)


@dataclasses.dataclass(frozen=True)
class Policy:
    """What may be reached: mirror registries (host[:port] or host[:port]/prefix, globs allowed) and URL hosts."""

    allowed_registries: tuple
    allowed_hosts: tuple = ()
    denied_hosts: tuple = DEFAULT_DENIED_HOSTS
    allow_cluster_internal: bool = True
    s3_endpoint: str = ""

    def image_allowed(self, image: str) -> bool:
        parsed = references.parse(image)
        return any(fnmatch.fnmatchcase(parsed.registry, entry) or parsed.name.startswith(entry.rstrip("/") + "/")
                   for entry in self.allowed_registries)

    def url_verdict(self, scheme: str, host: str):
        """None when a URL may be fetched, else why not; a scheme naming a service (hf://, ngc://, s3://) is judged by where it goes."""
        scheme = scheme.lower()
        if scheme not in S3_SCHEMES:
            return self.host_verdict(_SCHEME_HOSTS.get(scheme, host))
        if self.s3_endpoint:
            return self.host_verdict(urlsplit(self.s3_endpoint if "://" in self.s3_endpoint else f"//{self.s3_endpoint}").netloc)
        return AWS_S3 if self.host_verdict(AWS_S3_HOST) else None

    def host_verdict(self, host: str):
        """None when host may be reached, else the reason it may not."""
        host = host.lower().rsplit("@", 1)[-1]
        name = host[1:].split("]")[0] if host.startswith("[") else host.rsplit(":", 1)[0] if host.count(":") == 1 else host
        if _matches(name, self.allowed_hosts) or _matches(host, self.allowed_registries):
            return None
        if _matches(name, self.denied_hosts):
            return DENIED
        if self.allow_cluster_internal and _internal(name):
            return None
        return OUTSIDE


def _matches(host, patterns) -> bool:
    return any(fnmatch.fnmatchcase(host, pattern.lower()) for pattern in patterns)


def _internal(name) -> bool:
    """A cluster-internal name (a one-label service name, *.svc…) or a private, loopback or link-local address."""
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return "." not in name or _matches(name, CLUSTER_INTERNAL_HOSTS)
    return address.is_private or address.is_loopback or address.is_link_local


def _shown(text) -> str:
    """What a violation may show of a string: its first line, URLs without credentials, query or fragment, at most SHOWN_MAX characters."""
    lines = str(text).strip().splitlines()
    line = _URL.sub(_url_shown, lines[0] if lines else "")
    return line if len(line) <= SHOWN_MAX else line[:SHOWN_MAX] + "..."


def _url_shown(match) -> str:
    return f"{match.group(1)}://{match.group(2).rstrip('.')}{(match.group(3) or '').rstrip('.:)]')}"


@dataclasses.dataclass
class Audit:
    """Violations fail the audit; warnings do not. Each is file, object, path, value (what points outside, as shown) and reason."""

    policy: Policy
    violations: list = dataclasses.field(default_factory=list)
    warnings: list = dataclasses.field(default_factory=list)
    files: list = dataclasses.field(default_factory=list)
    # What the Compose reader could not read (a wrapper script line only running it gives): the audit may miss what it sets.
    reader_warnings: list = dataclasses.field(default_factory=list)
    # An image outside the mirror is reported as an image, not again as a denied host: (file, object, token) seen as
    # images, and the denied-host entries of tokens not yet seen as images, in whichever order the two come.
    _image_tokens: set = dataclasses.field(default_factory=set, repr=False, compare=False)
    _host_tokens: dict = dataclasses.field(default_factory=dict, repr=False, compare=False)

    def image(self, finding, shown=None):
        """A finding outside the allowed registries is a violation; shown replaces the reference (a Secret's value)."""
        if finding.image is None:
            reason = f"not a valid image reference: {finding.error}"
        elif not self.policy.image_allowed(finding.image):
            reason = "image outside the allowed registries" if finding.confidence == findings.DIRECT else \
                "image named in configuration outside the allowed registries"
        else:
            return
        key = (finding.file, finding.obj, finding.written)
        self._image_tokens.add(key)
        for entry in self._host_tokens.pop(key, []):
            if entry in self.violations:
                self.violations.remove(entry)
        self._add(self.violations, finding.file, finding.obj, finding.path, shown or _shown(finding.written), reason)

    def text(self, value, file, obj, path, shown=None):
        """URLs and denied hosts written without a scheme in one string value, each reported as written minus its
        credentials, query and fragment; shown replaces that (a Secret's value)."""
        for match in _URL.finditer(value):
            reason = self.policy.url_verdict(match.group(1), match.group(2).rstrip("."))
            if reason:
                self._add(self.violations, file, obj, path, shown or _url_shown(match), reason)
        for match in _HOST_TOKEN.finditer(_URL.sub(" ", value)):
            token = match.group(0).rstrip(".:)]")
            key = (file, obj, token)
            if self.policy.host_verdict(match.group(1) + (match.group(2) or "")) != DENIED or key in self._image_tokens:
                continue
            entry = self._add(self.violations, file, obj, path, shown or token, DENIED)
            self._host_tokens.setdefault(key, []).append(entry)

    def model_source(self, service, file, obj, path):
        """A model source downloading from a hosted service (a key of _MODEL_SOURCE_HOSTS), which names no URL: judged by its host."""
        host, name = _MODEL_SOURCE_HOSTS[service]
        if self.policy.host_verdict(host):
            self._add(self.violations, file, obj, path, host, f"a model source that downloads from {name}")

    def warn(self, file, obj, path, value, reason):
        self._add(self.warnings, file, obj, path, value, reason)

    @staticmethod
    def _add(where, file, obj, path, value, reason):
        entry = {"file": file, "object": obj, "path": path, "value": value, "reason": reason}
        if entry not in where:
            where.append(entry)
        return entry


def leaf_strings(node, path=""):
    """(path, string) for every string in a structure."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from leaf_strings(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from leaf_strings(value, f"{path}[{index}]")
    elif isinstance(node, str):
        yield path, node


def audit_path(audit, path):
    for file in engine.manifest_files(path, AUDITED_SUFFIXES, "audit path"):
        audit.files.append(file)
        if os.path.basename(file).endswith(_ENV_SUFFIXES) or os.path.basename(file) == ".env":
            audit_env_file(audit, file)
        else:
            audit_yaml_file(audit, file)


def audit_env_file(audit, file):
    for key, value in read_env_file(file).items():
        audit.text(value, file, "env", key)
        for finding in findings.indirect(value, file, "env", key, "env", findings.is_hint(key)):
            audit.image(finding)


def audit_chart(audit, helm_binary, source: helm.ChartSource):
    """A release as it will be installed: rendered by the real helm with its values, every Capabilities gate open."""
    with helm.LocalChart(helm_binary, source) as chart_path:
        rendered = mirroring.render_every_gate_open(helm_binary, source, chart_path)
    audit.files.append(source.chart)
    documents = yamlload.load_all(rendered)
    label = f"{source.chart} (helm template)"
    _report_unreadable(audit, documents, label)
    audit_objects(audit, documents, label)


def audit_yaml_file(audit, file):
    documents = yamlload.load_file(file)
    _report_unreadable(audit, documents, file)
    data = [d.data for d in documents if d.data is not None]
    if any(isinstance(d, dict) and "kind" in d and "apiVersion" in d for d in data):
        audit_objects(audit, documents, file)
    elif len(data) == 1 and isinstance(data[0], dict) and isinstance(data[0].get("services"), dict):
        audit_compose_services(audit, data[0]["services"], file)
    else:
        for node in data:
            audit_values(audit, node, file)


def _report_unreadable(audit, documents, file):
    """A document no loader reads cannot be proven clean, so it is a violation (named by its helm template when rendered)."""
    for document in documents:
        if document.error:
            audit.violations.append({"file": document.template or file, "object": f"document/{document.index}", "path": "", "value": "",
                                     "reason": f"cannot be read, so cannot be proven clean: {_position_only(document.error)}"})


def audit_objects(audit, documents, file):
    """Kubernetes objects, each named by the template it came from when helm rendered it."""
    for document, obj in manifests.objects(documents):
        audit_object(audit, obj, document.template or file)


def _position_only(error) -> str:
    """A YAML error without the lines it quotes (a broken Secret's line would be shown): what and where only."""
    return _QUOTED_LINE.sub(r"\1", error)


def audit_object(audit, obj, file):
    if obj.get("kind") in _SKIPPED_KINDS:
        return
    if obj.get("kind") == "Secret":
        audit_secret(audit, obj, file)
        return
    label = manifests.object_label(obj)
    for finding in manifests.scan_object(obj, file):
        audit.image(finding)
    body = {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}
    for path, value in leaf_strings(body):
        audit.text(value, file, label, path)
    if manifests.is_custom_resource(obj):
        for path, service in hosted_model_sources(body):
            audit.model_source(service, file, label, path)
    spec, spec_path = manifests.pod_spec(obj)
    if spec is not None:
        audit_pull_settings(audit, spec, spec_path, file, label)


def hosted_model_sources(node, path="", under_source=False):
    """(path, service) of every model source that downloads from a hosted service: an `ngc` or `hf` mapping under a key
    naming a source (NIMCache's `spec.source.ngc`), without an `endpoint` of its own (which is audited as a URL)."""
    if isinstance(node, dict):
        for key, value in node.items():
            where = f"{path}.{key}" if path else str(key)
            service = str(key).lower()
            if under_source and service in _MODEL_SOURCE_HOSTS and isinstance(value, dict) and not value.get("endpoint"):
                yield where, service
            else:
                yield from hosted_model_sources(value, where, "source" in service)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from hosted_model_sources(value, f"{path}[{index}]", under_source)


def audit_secret(audit, obj, file):
    """A Secret's values (base64 `data`, plain `stringData`), as a workload reads them through env and envFrom.

    A violation names the key (in its path) and never shows the value. Values that are not text (a keystore) are skipped.
    """
    label = manifests.object_label(obj)
    for field in ("data", "stringData"):
        entries = obj.get(field)
        for key, value in (entries.items() if isinstance(entries, dict) else ()):
            text = _secret_text(value, encoded=field == "data")
            if text is None:
                continue
            path = f"{field}.{key}"
            audit.text(text, file, label, path, shown=SECRET_VALUE)
            for finding in manifests.scan_text_data(text, path, file, label, findings.is_hint(key)):
                audit.image(finding, shown=SECRET_VALUE)


def _secret_text(value, encoded):
    if value is None or isinstance(value, (dict, list)):
        return None
    if not encoded:
        return str(value)
    try:
        return base64.b64decode("".join(str(value).split()), validate=True).decode("utf-8")
    except ValueError:  # not base64, or not UTF-8 text (binascii.Error and UnicodeDecodeError are ValueErrors)
        return None


def audit_pull_settings(audit, spec, spec_path, file, label):
    if not spec.get("imagePullSecrets"):
        audit.warn(file, label, f"{spec_path}.imagePullSecrets", "", "no imagePullSecrets: the mirror must allow anonymous pulls "
                   "or the service account must carry the secret")
    for field in manifests.CONTAINER_LISTS:
        for index, container in enumerate(spec.get(field) or []):
            if isinstance(container, dict) and container.get("imagePullPolicy") == "Always":
                audit.warn(file, label, f"{spec_path}.{field}[{index}].imagePullPolicy", "Always",
                           "imagePullPolicy Always contacts the registry on every start")


def audit_compose_services(audit, services, file):
    for name, service in sorted(services.items()):
        service = service or {}
        label = f"service/{name}"
        if service.get("image"):
            audit.image(findings.direct(service["image"], file, label, f"services.{name}.image", "compose"))
        environment = service.get("environment") or {}
        if isinstance(environment, list):
            environment = dict(item.partition("=")[::2] for item in environment if isinstance(item, str))
        for key, value in environment.items():
            for finding in findings.indirect(str(value or ""), file, label, f"services.{name}.environment.{key}", "env", findings.is_hint(key)):
                audit.image(finding)
        for path, value in leaf_strings(service, f"services.{name}"):
            audit.text(value, file, label, path)
        if str(service.get("pull_policy", "")).lower() == "always":
            audit.warn(file, label, f"services.{name}.pull_policy", "always", "pull_policy always contacts the registry on every start")


def audit_compose_project(audit, source: compose.ComposeSource):
    """A Compose project as it will run: files merged (an override included), variables resolved, every profile."""
    interpolator = compose.variables(source)
    services = compose.load_project(source, interpolator).get("services") or {}
    file = ",".join(source.files)
    audit.files.extend(source.files)
    audit_compose_services(audit, services, file)
    for name, service in sorted(services.items()):
        for key, value in compose.service_environment(service or {}, source, interpolator).items():
            audit.text(value, file, f"service/{name}", f"services.{name}.environment.{key}")
    scanned = compose.scan(dataclasses.replace(source, profiles=[ALL_PROFILES]))
    audit.reader_warnings.extend(w for w in scanned.warnings if w not in audit.reader_warnings)
    for finding in scanned.findings:
        if finding.confidence == findings.INDIRECT:
            audit.image(finding)


def audit_values(audit, node, file):
    for finding in manifests.walk_custom(node, "", file, "values", "values"):
        audit.image(finding)
    for path, value in leaf_strings(node):
        audit.text(value, file, "values", path)
