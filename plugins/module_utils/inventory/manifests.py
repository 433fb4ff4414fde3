# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Images in Kubernetes objects: pod specs, custom resources, and the strings around them.

Every pod-spec-bearing kind is read at its own pod spec path, for its containers, init and
ephemeral containers (direct references), their env values, args and commands (indirect).
Custom resources carry images wherever their operator chose, so they are walked whole for
keys that name an image; ConfigMap data is parsed when it is JSON or YAML and scanned when
not. Metadata (labels, annotations) is never read: a label that looks like an image is not one.
"""

from __future__ import annotations

from ansible_collections.airlock.airgap.plugins.module_utils.inventory import findings as found
from ansible_collections.airlock.airgap.plugins.module_utils.inventory import yamlload

POD_SPEC_PATHS = {
    "Pod": ("spec",),
    "PodTemplate": ("template", "spec"),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
CONTAINER_LISTS = {"containers": "container", "initContainers": "init-container", "ephemeralContainers": "ephemeral-container"}
# API groups of Kubernetes itself; any other group is a custom resource.
_BUILTIN_GROUPS = frozenset(("", "apps", "batch", "policy", "autoscaling", "extensions"))
# Kinds whose content is a schema or a secret, never a workload's configuration.
_NOT_SCANNED = frozenset(("CustomResourceDefinition", "Secret"))


def object_label(obj) -> str:
    metadata = obj.get("metadata") or {}
    return f"{obj.get('kind', '?')}/{metadata.get('name', '?')}"


def is_custom_resource(obj) -> bool:
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    return not (group in _BUILTIN_GROUPS or group.endswith(".k8s.io"))


def pod_spec(obj):
    """(pod spec, its field path) of a pod-spec-bearing object, or (None, None)."""
    node = obj
    for key in POD_SPEC_PATHS.get(obj.get("kind"), ()):
        node = node.get(key) if isinstance(node, dict) else None
    if not isinstance(node, dict) or obj.get("kind") not in POD_SPEC_PATHS:
        return None, None
    return node, ".".join(POD_SPEC_PATHS[obj["kind"]])


def objects(documents):
    """(document, object) for every Kubernetes object, List items included."""
    for document in documents:
        data = document.data
        if isinstance(data, dict) and data.get("kind", "").endswith("List") and isinstance(data.get("items"), list):
            for item in data["items"]:
                if isinstance(item, dict):
                    yield document, item
        elif isinstance(data, dict) and "kind" in data:
            yield document, data


def scan_documents(documents, file) -> list:
    """Findings in parsed documents; each document's helm template (`# Source:`) is its file when known."""
    results = []
    for document, obj in objects(documents):
        results.extend(scan_object(obj, document.template or file))
    return results


def scan_file(path) -> list:
    return scan_documents(yamlload.load_file(path), path)


def scan_object(obj, file) -> list:
    label = object_label(obj)
    kind = obj.get("kind")
    if kind in _NOT_SCANNED:
        return []
    spec, spec_path = pod_spec(obj)
    if spec is not None:
        return scan_pod_spec(spec, spec_path, file, label)
    if kind == "ConfigMap":
        return scan_config_map(obj, file, label)
    if is_custom_resource(obj):
        body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata", "status")}
        return walk_custom(body, "", file, label)
    return []


def scan_pod_spec(spec, spec_path, file, label) -> list:
    results = []
    for field, via in CONTAINER_LISTS.items():
        for index, container in enumerate(spec.get(field) or []):
            if isinstance(container, dict):
                results.extend(scan_container(container, f"{spec_path}.{field}[{index}]", via, file, label))
    return results


def scan_container(container, path, via, file, label) -> list:
    results = []
    if container.get("image") is not None:
        results.append(found.direct(container["image"], file, label, f"{path}.image", via))
    variables = [env for env in container.get("env") or [] if isinstance(env, dict)]
    settings = {env.get("name"): env.get("value") for env in variables if isinstance(env.get("value"), str)}
    for index, env in enumerate(container.get("env") or []):
        if isinstance(env, dict) and isinstance(env.get("value"), str):
            name = env.get("name")
            condition = found.feature_off(name, settings) if found.is_hint(name) else None
            results.extend(finding.when(condition) for finding in
                           found.indirect(env["value"], file, label, f"{path}.env[{index}].value", "env", found.is_hint(name), setting=name))
    for field in ("args", "command"):
        results.extend(scan_arguments(container.get(field) or [], f"{path}.{field}", file, label))
    return results


def scan_arguments(arguments, path, file, label) -> list:
    """`--flag=image`, `--flag image` and bare images in an argv; a flag naming an image hints its value."""
    results = []
    previous = ""
    for index, argument in enumerate(arguments):
        text = str(argument)
        flag, equals, value = text.partition("=")
        hinted = found.is_hint(flag) if equals and flag.startswith("-") else found.is_hint(previous) and previous.startswith("-")
        setting = flag if equals and flag.startswith("-") else previous if previous.startswith("-") else None
        results.extend(found.indirect(value if equals and flag.startswith("-") else text, file, label, f"{path}[{index}]", "args", hinted,
                                      setting=setting))
        previous = text
    return results


def scan_config_map(obj, file, label) -> list:
    results = []
    for key, value in (obj.get("data") or {}).items():
        results.extend(scan_text_data(str(value), f"data.{key}", file, label, found.is_hint(key)))
    return results


def scan_text_data(text, path, file, label, hinted=False) -> list:
    """A ConfigMap value: walked as JSON/YAML when it is structured, else read line by line as KEY=VALUE or free text."""
    structured = _structured(text)
    if structured is not None:
        return walk_strings(structured, path, file, label, "configmap")
    results = []
    for line in text.splitlines() or [text]:
        key, separator, value = line.partition("=") if "=" in line else line.partition(":")
        if separator and found.is_hint(key):  # WORKER_IMAGE=acme/w:2, image: acme/w:2
            results.extend(found.indirect(value, file, label, path, "configmap", True, setting=key.strip()))
        else:  # free text, or the whole value of a key naming an image (a tag's `:` is not a separator)
            results.extend(found.indirect(line, file, label, path, "configmap", hinted, setting=path))
    return results


def _structured(text):
    if "\n" not in text.strip() and not text.lstrip().startswith(("{", "[")):
        return None
    try:
        data = yamlload.load(text)
    except yamlload.LOAD_ERRORS:  # not YAML: scanned as text instead
        return None
    return data if isinstance(data, (dict, list)) else None


def walk_strings(node, path, file, label, via, hinted=False) -> list:
    """Indirect findings in every string of a structure; a key that names an image hints its strings.

    A section turned off (`enabled: false`) gives candidates: nothing reads it until it is turned on.
    """
    if isinstance(node, dict):
        results = []
        for key, value in node.items():
            results.extend(walk_strings(value, _join(path, key), file, label, via, found.is_hint(key)))
        return [finding.when(disabled(node, path)) for finding in results]
    if isinstance(node, list):
        results = []
        for index, value in enumerate(node):
            results.extend(walk_strings(value, f"{path}[{index}]", file, label, via, hinted))
        return results
    if isinstance(node, str):
        return found.indirect(node, file, label, path, via, hinted)
    return []


def split_image(node, hinted=False):
    """The reference a `{registry, repository, tag, digest}` mapping spells (as charts and operators split it), or None.

    A `repository` key alone names a backup repository or a Git remote as often as an image, so the mapping must
    also have a registry, tag or digest key, or sit under a key that names an image (hinted: `image`, `images`).
    """
    if not isinstance(node, dict) or not isinstance(node.get("repository"), str) or not node["repository"]:
        return None
    if not hinted and not any(key in node for key in ("registry", "tag", "digest")):
        return None
    text = node["repository"]
    if node.get("registry"):
        text = f"{node['registry']}/{text}"
    if node.get("tag") not in (None, ""):
        text = f"{text}:{node['tag']}"
    if node.get("digest"):
        text = f"{text}@{node['digest']}"
    return text


def component_image(node):
    """(reference, None) or (None, what is missing) of an operator component that splits its image over fields, else None.

    A component names its image by `image` (or `name`, beside a `repo` or `registry`) and spells the rest in
    `registry`/`repository`/`repo` and `version`/`tag` (a `sha256:` version is a digest), as the GPU operator's
    ClusterPolicy does. The operator pastes the parts together, so a bare `image: driver` is never `driver:latest`:
    without its repository or version the component is incomplete.
    """
    if not isinstance(node, dict):
        return None
    prefixes = [key for key in _PREFIX_KEYS if key in node]
    versions = [key for key in _VERSION_KEYS if key in node]
    name = node.get("image")
    if not isinstance(name, str) and prefixes and versions and prefixes != ["repository"]:
        name = node.get("name")
    if not isinstance(name, str) or not name or not (prefixes or versions) or (prefixes == ["repository"] and not versions):
        return None
    if _has_pin(name):
        return name, None
    prefix = "/".join(str(node[key]).strip("/") for key in prefixes if node[key] not in (None, ""))
    version = next((str(node[key]) for key in versions if node[key] not in (None, "")), "")
    digest = str(node["digest"]) if node.get("digest") else ""
    if not prefix and not version and not digest:
        return (name, None) if _is_whole_reference(name) else (None, f"image {name!r} without {' or '.join(prefixes + versions)}")
    if prefixes and not prefix and not _is_whole_reference(name):
        return None, f"image {name!r} without {' or '.join(prefixes)}"
    if not version and not digest:
        return None, f"image {name!r} without {' or '.join(versions or ['version', 'tag'])}"
    text = f"{prefix}/{name}" if prefix else name
    if version.startswith("sha256:"):
        return f"{text}@{version}", None
    return text + (f":{version}" if version else "") + (f"@{digest}" if digest else ""), None


_PREFIX_KEYS = ("registry", "repository", "repo")
_VERSION_KEYS = ("version", "tag")


def _has_pin(text) -> bool:
    """A name that already carries its tag or digest (`acme/api:1`, `repo@sha256:...`): the other fields do not add to it."""
    return "@" in text or ":" in text.rsplit("/", 1)[-1]


def _is_whole_reference(text) -> bool:
    """A reference written whole (`nvcr.io/nvidia/driver:550`), not a bare name the operator would complete."""
    return "/" in text or ":" in text or "@" in text


def disabled(node, path):
    """The condition under which a section turned off (`enabled: false`) is read, else None."""
    if isinstance(node, dict) and str(node.get("enabled")).strip().lower() in ("false", "0", "no", "off"):
        return f"{_join(path, 'enabled')} is true"
    return None


def walk_custom(node, path, file, label, via="custom-resource", hinted=False) -> list:
    """A custom resource (or values tree): keys naming an image and split image mappings are direct; other strings indirect.

    A component turned off (`enabled: false`) gives candidates, with that condition.
    """
    return [finding.when(disabled(node, path)) for finding in _walk_custom(node, path, file, label, via, hinted)]


def _walk_custom(node, path, file, label, via, hinted) -> list:
    if isinstance(node, dict):
        component = component_image(node)
        if component and component[1]:
            written = str(node.get("image") or node.get("name"))
            incomplete = found.Finding(written, file, label, path, via, found.DIRECT, error=f"incomplete component at {path or 'the top'}: "
                                       f"{component[1]}; the operator would not pull it as written")
            return [incomplete] + _walk_children(node, path, file, label, via, nested_only=True)
        composed = component[0] if component else split_image(node, hinted)
        finding = found.direct(composed, file, label, path, via) if composed else None
        if finding and not finding.error:
            return [finding] + _walk_children(node, path, file, label, via, nested_only=True)
        return _walk_children(node, path, file, label, via)
    if isinstance(node, list):
        results = []
        for index, value in enumerate(node):
            if isinstance(value, str):
                results.extend(found.indirect(value, file, label, f"{path}[{index}]", via, hinted, setting=path))
            else:
                results.extend(walk_custom(value, f"{path}[{index}]", file, label, via, hinted))
        return results
    return []


def _walk_children(node, path, file, label, via, nested_only=False) -> list:
    """The fields of a mapping: nested components (a driver's `manager`), keys naming an image, and other strings.

    nested_only for a mapping that spells an image: its own strings are the image's parts, only its mappings and lists are read.
    """
    results = []
    for key, value in node.items():
        if nested_only and isinstance(value, str):
            continue
        if isinstance(value, str) and found.is_hint(key) and not str(key).lower().endswith("images"):
            results.append(found.direct(value, file, label, _join(path, key), via))
        elif isinstance(value, str):
            results.extend(found.indirect(value, file, label, _join(path, key), via, found.is_hint(key), setting=_join(path, key)))
        else:
            results.extend(walk_custom(value, _join(path, key), file, label, via, found.is_hint(key)))
    return results


def _join(path, key) -> str:
    return f"{path}.{key}" if path else str(key)
