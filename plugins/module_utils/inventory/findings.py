# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An image reference found somewhere, with where it was found and how sure we are it is one.

A field that Kubernetes or Compose pulls (`containers[].image`, a service's `image`) is a
direct reference: certainly an image. A string in an env value, an argument or ConfigMap data
that reads as an image is an indirect reference: an operator or a runner will probably pull it
later, so it must be mirrored too, but it is reported apart, with lower confidence.

A reference that is pulled only if something holds (a component disabled, a profile not chosen,
a version another resource does not select) carries that condition: it is a candidate, reported
with the condition and mirrored only when asked.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Optional

from ansible_collections.airlock.airgap.plugins.module_utils.oci import reference as references

DIRECT = "direct"
INDIRECT = "indirect"

# Candidate tokens in free text: runs of the characters a reference can hold, starting at a separator. A run that
# starts inside a word, a path (`/etc/config:ro`, `./build/app:1`), a flag (`--volume`) or after a reference's own
# `:` or `@` (the `ro` of `/etc/config:ro`) is not a reference. A trailing `:` stays in the token, so `repo:` (a tag
# left empty, often by an unset variable) is never read as `repo` and so `repo:latest`.
TOKEN = re.compile(r"(?<![\w./:@+-])[A-Za-z0-9][A-Za-z0-9._/:@+-]*[A-Za-z0-9]:?")
# A tag written empty: `repo:`, `repo:@sha256:...`.
_EMPTY_TAG = re.compile(r":(?:@|$)")
# Names that say they hold an image: SIDECAR_IMAGE, --init-image, defaultImage, images, imageName (not imagePullPolicy, imageTag).
_HINT = re.compile(r"image(?:s|name|ref|_name|_ref|-name|-ref)?$", re.IGNORECASE)
# One `key=value` (or `key: value`) entry of a map written as text: lines, or a comma- or semicolon-separated list.
_MAP_ENTRY = re.compile(r"^\s*([A-Za-z0-9][\w.+-]*)\s*(?:=|:\s)\s*(\S+)\s*$")
_MAP_SEPARATORS = re.compile(r"[\n,;]")
# A key that names a version (`3.8.0`, `v1.2`, `4.2.0-rc1`): the map is a choice, one entry pulled per release.
VERSION_KEY = re.compile(r"^v?\d+(?:\.\d+)*(?:[-+][\w.]+)?$")
# What a feature flag says when it is off.
_OFF = frozenset(("false", "0", "no", "off", "disabled"))


@dataclasses.dataclass(frozen=True)
class Finding:  # pylint: disable=too-many-instance-attributes
    """One reference as written, where it was (file, object, field path), and what it normalises to."""

    written: str
    file: str
    obj: str
    path: str
    via: str
    confidence: str = DIRECT
    image: Optional[str] = None
    error: Optional[str] = None
    condition: Optional[str] = None
    choice: Optional[tuple] = None

    def provenance(self) -> dict:
        provenance = {"file": self.file, "object": self.obj, "path": self.path, "via": self.via, "written": self.written}
        if self.condition:
            provenance["condition"] = self.condition
        return provenance

    def when(self, condition) -> "Finding":
        """This finding, pulled only when condition holds (an earlier condition is kept: both must hold)."""
        if not condition:
            return self
        return dataclasses.replace(self, condition=f"{self.condition} and {condition}" if self.condition else condition)


def direct(written, file, obj, path, via) -> Finding:
    """A field that is pulled as an image: kept even when it does not parse, so it is listed, never dropped."""
    return _parsed(str(written).strip(), file, obj, path, via, DIRECT)


def _parsed(text, file, obj, path, via, confidence) -> Finding:
    try:
        return Finding(text, file, obj, path, via, confidence, image=str(references.parse(text)))
    except references.InvalidReference as error:
        return Finding(text, file, obj, path, via, confidence, error=str(error))


def indirect(text, file, obj, path, via, hinted=False, setting=None) -> list:
    """Findings for the tokens of a free-text value that read as images; hinted when its key or flag names an image.

    Under a hint, a token with an empty tag (`SIDECAR_IMAGE=repo:`) is an image someone meant and broke, so it is
    listed as invalid rather than dropped. A value that is a map (`3.8.0=repo:tag` lines, a comma-separated list, a JSON
    object) gives its values only: its keys are never images. When the keys are versions, each finding carries
    (setting, version) in `choice`: the operator pulls the one a resource selects (see operators.py).
    """
    entries = map_entries(text)
    if entries is None:
        return _tokens(text, file, obj, path, via, hinted)
    found = []
    for key, value in entries:
        choice = (setting, key) if VERSION_KEY.match(key) else None
        found.extend(dataclasses.replace(f, choice=choice) for f in _tokens(value, file, obj, path, via, hinted or is_hint(key)))
    return found


def map_entries(text):
    """[(key, value)] of a text that is a map (`k=v` lines or list, or a JSON object: its strings under each key), else None."""
    text = str(text).strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            return None
        return [(str(k), leaf) for k, v in data.items() for leaf in _leaves(v)] if isinstance(data, dict) else None
    pieces = [piece for piece in _MAP_SEPARATORS.split(text) if piece.strip()]
    matches = [_MAP_ENTRY.match(piece) for piece in pieces]
    if not pieces or not all(matches):
        return None
    return [(match.group(1), match.group(2)) for match in matches]


def _leaves(node):
    """The strings of a JSON value, however deep (`{"3.8.0": {"image": "..."}}` gives the image under its version)."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _leaves(value)
    elif isinstance(node, list):
        for value in node:
            yield from _leaves(value)


def feature_off(name, settings):
    """The condition under which an image setting is pulled when a sibling flag turns its feature off, else None.

    BUILDER_IMAGE is not pulled while ENABLE_BUILDER (or BUILDER_ENABLED, BUILDER_ENABLE) is false; a flag for a shorter
    prefix counts too (ENABLE_BUILD for BUILD_KANIKO_IMAGE).
    """
    words = re.sub(r"[_-]?(?:image(?:s|name|ref|_name|_ref|-name|-ref)?)$", "", str(name), flags=re.IGNORECASE).split("_")
    flags = {str(key).upper(): str(value).strip().lower() for key, value in settings.items()}
    for length in range(len(words), 0, -1):
        prefix = "_".join(words[:length]).upper()
        for flag in (f"ENABLE_{prefix}", f"{prefix}_ENABLED", f"{prefix}_ENABLE"):
            if flags.get(flag) in _OFF:
                return f"{flag} is true"
    return None


def _tokens(text, file, obj, path, via, hinted) -> list:
    found = []
    for token in TOKEN.findall(str(text)):
        image = image_in_token(token, hinted)
        if image:
            found.append(Finding(token, file, obj, path, via, INDIRECT, image=image))
        elif hinted and _EMPTY_TAG.search(token):
            found.append(_parsed(token, file, obj, path, via, INDIRECT))
    return found


def is_hint(name) -> bool:
    """A key, env var or flag whose name says it holds an image (SIDECAR_IMAGE, --init-image, defaultImage)."""
    return bool(name) and bool(_HINT.search(str(name).strip().lstrip("-")))


def image_in_token(token: str, hinted: bool) -> Optional[str]:
    """The normalised image a token names, or None when it is not sure enough to be one.

    Unhinted text is full of `key:value`, `host:port` and `a/b` that parse as references, so
    it counts only with a path and a tag or digest (`org/app:1`, `quay.io/org/app@sha256:...`);
    a key or flag naming an image lowers the bar to anything that parses (`busybox:1`, `alpine`).
    """
    if "://" in token or token.count("@") > 1:
        return None
    try:
        parsed = references.parse(token, default_tag=None)
    except references.InvalidReference:
        return None
    has_path = "/" in token.split("@")[0]
    if not hinted and not (has_path and (parsed.tag or parsed.digest)):
        return None
    if parsed.tag is None and parsed.digest is None:
        parsed = parsed.with_tag(references.DEFAULT_TAG)
    return str(parsed)
