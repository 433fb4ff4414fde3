# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Values overrides that point every image of a chart or a Compose project at the mirror.

Helm: the values the templates see (chart defaults, subcharts under their keys, the user's
files) are rewritten where they name an image the render runs: split `{registry, repository,
tag, digest}` mappings, image strings, and image tokens in env values and arguments (a list is
written whole, as Helm replaces lists). Pull policies and pull secrets are set where the chart
has them. An operator's per-repository host map (`repositories.<name>: {hostname, pathPrefix}`,
from which it assembles `HOST/PREFIX/NAME:TAG`) is pointed at the mirror where an image the render
runs lies under it. What no value controls (a tag assembled from several values, an image in a
template) is covered by a user-supplied map. Hosted endpoints (a Hugging Face or NVIDIA API URL in a value)
are replaced by the enclave's own when a map of them is given. The override is then proven by
rendering with it.
"""

from __future__ import annotations

import copy
import dataclasses

from ansible_collections.airlock.airgap.plugins.module_utils.inventory import compose, findings, yamlload
from ansible_collections.airlock.airgap.plugins.module_utils.inventory.charts import deep_merge
from ansible_collections.airlock.airgap.plugins.module_utils.inventory.manifests import split_image
from ansible_collections.airlock.airgap.plugins.module_utils.inventory.rewrite import MirrorError
from ansible_collections.airlock.airgap.plugins.module_utils.oci import reference as references

SPLIT_KEYS = ("registry", "repository", "tag", "digest")
POLICY_KEYS = ("pullPolicy", "imagePullPolicy")
SECRET_KEYS = ("pullSecrets", "imagePullSecrets", "pullSecretNames", "imagePullSecretNames")
# Keys that hold secret names as plain strings (NATS's `global.image.pullSecretNames`), never `{name: ...}` mappings.
NAME_LIST_SECRET_KEYS = ("pullSecretNames", "imagePullSecretNames")
# A per-repository host map entry: the registry host and the path under it that an operator puts before each image's name.
HOST_MAP_KEYS = ("hostname", "pathPrefix")
PLACEHOLDER = "airlock-placeholder"
MAP_PARTS = ("reference", "registry", "repository", "name", "tag", "digest")
COMPOSE_POLICIES = {"IfNotPresent": "missing", "Always": "always", "Never": "never"}
HEADER = "# Written by airlock.airgap: every image points at the mirror. Do not edit; rerun the task.\n"


@dataclasses.dataclass
class Settings:
    """The mirror and what else an override sets."""

    mirror: object
    pull_secrets: list = dataclasses.field(default_factory=list)
    pull_policy: str = "IfNotPresent"
    value_map: list = dataclasses.field(default_factory=list)
    endpoints: dict = dataclasses.field(default_factory=dict)


class ValuesRewriter:
    """Rewrites a values tree; `mapped` lists each change (kind image, endpoint or value_map; path, from, to)."""

    def __init__(self, settings: Settings, known_images):
        self.settings = settings
        self.known = set(known_images)
        self.known_names = {references.parse(i).name for i in self.known}
        self.mapped = []
        self.secret_keys_seen = False

    def rewrite(self, node, path="", hinted=False):
        if isinstance(node, dict):
            return self._mapping(node, path, hinted)
        if isinstance(node, list):
            return [self.rewrite(value, f"{path}[{index}]", hinted) for index, value in enumerate(node)]
        if isinstance(node, str):
            return self._string(node, path, hinted)
        return node

    def _mapping(self, node, path, hinted=False):
        result = dict(node)
        composed = split_image(node, hinted)
        handled = self._split(node, composed, path, result) if composed else False
        hosted = self._host_map(node, path, result)
        for key, value in node.items():
            where = f"{path}.{key}" if path else str(key)
            if (handled and key in SPLIT_KEYS) or (hosted and key in HOST_MAP_KEYS):
                continue
            if key in POLICY_KEYS and isinstance(value, str) and self.settings.pull_policy:
                result[key] = self.settings.pull_policy
            elif key in SECRET_KEYS and isinstance(value, list):
                self.secret_keys_seen = True
                result[key] = self._secrets(key, value) if self.settings.pull_secrets else value
            elif key == "imageRegistry" and isinstance(value, str) and value:
                result[key] = self.settings.mirror.registry
            else:
                result[key] = self.rewrite(value, where, findings.is_hint(key))
        return result

    def _split(self, node, composed, path, result) -> bool:
        try:
            parsed = references.parse(composed)
        except references.InvalidReference:
            return False
        exact = str(parsed) in self.known
        if not exact and parsed.name not in self.known_names:
            return False
        unpinned_mirror = dataclasses.replace(self.settings.mirror, pin="keep")
        target = self.settings.mirror.map(str(parsed)) if exact else unpinned_mirror.map(str(parsed))
        if "registry" in node:
            result["registry"], result["repository"] = target.registry, target.repository
        else:
            result["repository"] = target.name
        if exact and target.digest != parsed.digest:
            self._pin_split(node, target, result)
        self.mapped.append({"kind": "image", "path": path, "from": str(parsed), "to": str(target) if exact else target.name})
        return True

    def _host_map(self, node, path, result) -> bool:
        """A `{hostname, pathPrefix}` entry under which images the render runs lie, pointed at where the mirror holds them.

        The entry names no image, so it is rewritten only when a known image lies under it; every image under it must land
        under one mirror path (path=flatten of nested names cannot), else the override would run the wrong images.
        """
        host, prefix = node.get("hostname"), node.get("pathPrefix", "")
        if not isinstance(host, str) or not host or not isinstance(prefix, str):
            return False
        try:
            stem = references.parse("/".join(part for part in (host, prefix.strip("/"), PLACEHOLDER) if part))
        except references.InvalidReference:
            return False
        under = [image for image in map(references.parse, self.known) if image.registry == stem.registry
                 and image.repository.startswith(stem.repository[:-len(PLACEHOLDER)])]
        if not under:
            return False
        placing = dataclasses.replace(self.settings.mirror, pin="keep", pin_exceptions=frozenset())
        prefixes = set()
        for image in under:
            name = image.repository[len(stem.repository) - len(PLACEHOLDER):]
            target = placing.map(str(image))
            prefixes.add(target.repository[:-len(name)].rstrip("/") if target.repository.endswith("/" + name) else None)
        if len(prefixes) != 1 or None in prefixes:
            raise MirrorError(f"{path} ({host}/{prefix}): its images cannot share one mirror path with path={placing.path}; use path=keep")
        result["hostname"], result["pathPrefix"] = placing.registry, prefixes.pop()
        self.mapped.append({"kind": "host_map", "path": path, "from": f"{host}/{prefix}".rstrip("/"),
                            "to": f"{result['hostname']}/{result['pathPrefix']}".rstrip("/")})
        return True

    @staticmethod
    def _pin_split(node, target, result):
        """Pin through the mapping's digest key, else as `tag@digest` (the template writes repository:tag)."""
        if "digest" in node:
            result["digest"] = target.digest or ""
        elif target.digest and node.get("tag") not in (None, ""):
            result["tag"] = f"{node['tag']}@{target.digest}"

    def _string(self, text, path, hinted):
        """Image tokens mapped where they stand (the string is rebuilt from their positions), then endpoints replaced."""
        pieces = []
        end = 0
        for match in findings.TOKEN.finditer(text):
            token = match.group(0)
            image = findings.image_in_token(token, hinted)
            if image and (image in self.known or hinted) and not self.settings.mirror.holds(references.parse(image)):
                target = str(self.settings.mirror.map(token))
                pieces += [text[end:match.start()], target]
                end = match.end()
                self.mapped.append({"kind": "image", "path": path, "from": image, "to": target})
        pieces.append(text[end:])
        return self._endpoints("".join(pieces), path)

    def _endpoints(self, text, path):
        """Hosted endpoints replaced by the enclave's own (a URL prefix each), longest prefix first."""
        for hosted in sorted(self.settings.endpoints, key=len, reverse=True):
            if hosted in text:
                text = text.replace(hosted, self.settings.endpoints[hosted])
                self.mapped.append({"kind": "endpoint", "path": path, "from": hosted, "to": self.settings.endpoints[hosted]})
        return text

    def _secrets(self, key, current):
        """The pull secrets in the form the key holds: names where it holds names, else `{name: ...}` mappings."""
        if key in NAME_LIST_SECRET_KEYS or (current and all(isinstance(item, str) for item in current)):
            return list(self.settings.pull_secrets)
        return [{"name": name} for name in self.settings.pull_secrets]


def changes(before, after):
    """The smallest values tree that turns before into after under Helm's merge (mappings merge, lists are replaced)."""
    delta = {}
    for key, value in after.items():
        if key in before and before[key] == value:
            continue
        if isinstance(value, dict) and isinstance(before.get(key), dict):
            delta[key] = changes(before[key], value)
        else:
            delta[key] = value
    return delta


def set_path(tree, dotted, value):
    keys = dotted.split(".")
    for key in keys[:-1]:
        if not isinstance(tree.get(key), dict):
            tree[key] = {}
        tree = tree[key]
    tree[keys[-1]] = value


def helm_override(values, known_images, settings: Settings):
    """(override tree, rewriter) for a chart's merged values and the images its render runs."""
    rewriter = ValuesRewriter(settings, known_images)
    override = changes(values, rewriter.rewrite(copy.deepcopy(values)))
    if settings.pull_secrets and not rewriter.secret_keys_seen:
        override = deep_merge(override, {"global": {"imagePullSecrets": [{"name": n} for n in settings.pull_secrets]},
                                         "imagePullSecrets": [{"name": n} for n in settings.pull_secrets]})
    for entry in settings.value_map:
        set_path(override, entry["path"], map_part(settings.mirror, entry["image"], entry.get("part") or "reference"))
        rewriter.mapped.append({"kind": "value_map", "path": entry["path"], "from": entry["image"], "to": entry.get("part") or "reference"})
    return override, rewriter


def map_part(mirror, image, part):
    """One part of an image's mirrored reference, for a value_map entry."""
    if part not in MAP_PARTS:
        raise MirrorError(f"value_map part {part!r} is not one of {', '.join(MAP_PARTS)}")
    target = mirror.map(image)
    return {"reference": str(target), "registry": target.registry, "repository": target.repository, "name": target.name,
            "tag": target.tag or "", "digest": target.digest or ""}[part]


def compose_override(source, settings: Settings):
    """(override project, mapped) pointing every service of a Compose project (all profiles) at the mirror."""
    interpolator = compose.variables(source)
    project = compose.load_project(source, interpolator)
    rewriter = ValuesRewriter(settings, set())
    services = {}
    for name, service in sorted((project.get("services") or {}).items()):
        service = service or {}
        entry = {}
        if service.get("image"):
            entry["image"] = _escape(str(settings.mirror.map(service["image"])))
            rewriter.mapped.append({"kind": "image", "path": f"services.{name}.image", "from": str(references.parse(service["image"])),
                                    "to": entry["image"]})
            if settings.pull_policy:
                entry["pull_policy"] = COMPOSE_POLICIES.get(settings.pull_policy, settings.pull_policy)
        environment = compose.service_environment(service, source, interpolator)
        for key, value in sorted(environment.items()):
            rewritten = rewriter.rewrite(value, f"services.{name}.environment.{key}", findings.is_hint(key))
            if rewritten != value:
                entry.setdefault("environment", {})[key] = _escape(rewritten)
        if entry:
            services[name] = entry
    return {"services": services}, rewriter


def _escape(text):
    """An override is interpolated too: a literal `$` must be written `$$`."""
    return text.replace("$", "$$")


def dump(tree) -> str:
    return HEADER + yamlload.dump(tree)
