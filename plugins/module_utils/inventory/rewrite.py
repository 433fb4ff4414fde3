# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where an image lives once mirrored: the one mapping the filter, the override writer and the audit share.

As image_copy's `docker://HOST/PREFIX` destination lays images out, the source registry is
dropped and the repository path kept under the prefix (`quay.io/acme/api:2.3.1` becomes
`registry.enclave:5000/mirror/acme/api:2.3.1`), or flattened to its last component
(`registry.enclave:5000/mirror/api:2.3.1`). Pinning keeps what was written, drops the digest
(tag), or adds the digest the lock recorded (digest), so what runs is exactly what was copied.
"""

from __future__ import annotations

import dataclasses
import json

from ansible_collections.airlock.airgap.plugins.module_utils.oci import reference as references

PATH_KEEP = "keep"
PATH_FLATTEN = "flatten"
PIN_KEEP = "keep"
PIN_TAG = "tag"
PIN_DIGEST = "digest"


class MirrorError(ValueError):
    """An image that cannot be mapped as asked; the message says which and what to change."""


@dataclasses.dataclass(frozen=True)
class Mirror:
    """The enclave's registry and how images are laid out and pinned in it."""

    registry: str
    prefix: str = ""
    path: str = PATH_KEEP
    pin: str = PIN_KEEP
    digests: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if self.path not in (PATH_KEEP, PATH_FLATTEN):
            raise MirrorError(f"path must be {PATH_KEEP} or {PATH_FLATTEN}, not {self.path!r}")
        if self.pin not in (PIN_KEEP, PIN_TAG, PIN_DIGEST):
            raise MirrorError(f"pin must be {PIN_KEEP}, {PIN_TAG} or {PIN_DIGEST}, not {self.pin!r}")
        object.__setattr__(self, "prefix", self.prefix.strip("/"))

    def holds(self, image: references.Reference) -> bool:
        """True for an image already in the mirror (so mapping is idempotent)."""
        return image.registry == self.registry and (not self.prefix or image.repository.startswith(self.prefix + "/"))

    def map(self, text: str) -> references.Reference:
        """The mirrored reference of an image reference as written."""
        image = references.parse(str(text).strip())
        if not self.holds(image):
            repository = image.repository if self.path == PATH_KEEP else image.repository.rsplit("/", 1)[-1]
            image = dataclasses.replace(image, repository=repository).with_registry(self.registry, self.prefix or None)
        return self._pinned(image, str(references.parse(str(text).strip())))

    def _pinned(self, image, source):
        if self.pin == PIN_TAG:
            if not image.tag:
                raise MirrorError(f"{source} has only a digest, so it cannot be pinned by tag: use pin=keep or pin=digest")
            return dataclasses.replace(image, digest=None)
        if self.pin == PIN_DIGEST and not image.digest:
            digest = self.digests.get(source)
            if not digest:
                raise MirrorError(f"no digest is known for {source}: resolve it (image_inventory resolve_digests with a lock_file) "
                                  "or use pin=keep")
            return image.with_digest(digest)
        return image


def collisions(images, mirror: Mirror) -> dict:
    """{mirrored name: [sources]} for distinct source repositories that would land on one mirror repository (flattening)."""
    placing = dataclasses.replace(mirror, pin=PIN_KEEP)  # where an image lands does not depend on its pin
    names = {}
    for image in images:
        names.setdefault(placing.map(image).name, set()).add(references.parse(image).name)
    return {name: sorted(sources) for name, sources in names.items() if len(sources) > 1}


def digests_from_lock(path) -> dict:
    """{normalised image: digest} from a lock: image_copy's entries (source) and image_inventory's (image)."""
    with open(path, encoding="utf-8") as handle:
        lock = json.load(handle)
    known = {}
    for entry in lock.get("images", []):
        if entry.get("source") and entry.get("digest"):
            known[str(references.parse(entry["source"]))] = entry["digest"]  # what the mirror holds (a platform subset's own index)
    for entry in (lock.get("inventory") or {}).get("images", []):
        if entry.get("digest"):
            known[entry["image"]] = entry["digest"]
    return known
