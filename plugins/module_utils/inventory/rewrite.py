# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where an image lives once mirrored: the one mapping the filter, the override writer and the audit share.

As image_copy's `docker://HOST/PREFIX` destination lays images out, the source registry is
dropped and the repository path kept under the prefix (`quay.io/acme/api:2.3.1` becomes
`registry.enclave:5000/mirror/acme/api:2.3.1`), or flattened to its last component
(`registry.enclave:5000/mirror/api:2.3.1`). Pinning keeps what was written, drops the digest
(tag), or adds the digest the lock recorded (digest), so what runs is exactly what was copied. A
pin exception keeps its tag under digest pinning: a chart that assembles a tag from several values
can take no digest, and the exception is named rather than pinning switched off for every image.
"""

from __future__ import annotations

import dataclasses

from ansible_collections.airlock.airgap.plugins.module_utils import jsontext
from ansible_collections.airlock.airgap.plugins.module_utils.oci import reference as references, transports
from ansible_collections.airlock.airgap.plugins.module_utils.errors import AirlockError

PATH_KEEP = "keep"
PATH_FLATTEN = "flatten"
PIN_KEEP = "keep"
PIN_TAG = "tag"
PIN_DIGEST = "digest"


class MirrorError(AirlockError, ValueError):
    """An image that cannot be mapped as asked; the message says which and what to change."""


@dataclasses.dataclass(frozen=True)
class Mirror:
    """The enclave's registry and how images are laid out and pinned in it."""

    registry: str
    prefix: str = ""
    path: str = PATH_KEEP
    pin: str = PIN_KEEP
    digests: dict = dataclasses.field(default_factory=dict)
    pin_exceptions: frozenset = frozenset()

    def __post_init__(self):
        if self.path not in (PATH_KEEP, PATH_FLATTEN):
            raise MirrorError(f"path must be {PATH_KEEP} or {PATH_FLATTEN}, not {self.path!r}")
        if self.pin not in (PIN_KEEP, PIN_TAG, PIN_DIGEST):
            raise MirrorError(f"pin must be {PIN_KEEP}, {PIN_TAG} or {PIN_DIGEST}, not {self.pin!r}")
        object.__setattr__(self, "prefix", self.prefix.strip("/"))
        object.__setattr__(self, "pin_exceptions", frozenset(str(references.parse(str(e).strip())) for e in self.pin_exceptions))

    def keeps_tag(self, text) -> bool:
        """True for a pin exception, named as discovered or as mirrored: under pin=digest it runs by its tag."""
        image = str(references.parse(str(text).strip()))
        return any(image in self._names_of(exception) for exception in self.pin_exceptions)

    def exceptions_unused_by(self, images) -> list:
        """The pin exceptions that name none of images: entries the user believes apply, and should hear do not."""
        seen = {str(references.parse(str(image).strip())) for image in images}
        return sorted(exception for exception in self.pin_exceptions if not self._names_of(exception) & seen)

    def _names_of(self, exception) -> set:
        """A pin exception as discovered and as mirrored."""
        placing = dataclasses.replace(self, pin=PIN_KEEP, pin_exceptions=frozenset())
        return {exception, str(placing.map(exception))}

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
        if self.pin == PIN_DIGEST and not image.digest and not self.keeps_tag(source):
            digest = self.digests.get(source)
            if not digest:
                raise MirrorError(f"no digest is known for {source}: resolve it (image_inventory resolve_digests with a lock_file), "
                                  "list it in pin_exceptions, or use pin=keep")
            return image.with_digest(digest)
        return image


def collisions(images, mirror: Mirror) -> dict:
    """{mirrored name: [sources]} for distinct source repositories that would land on one mirror repository (flattening)."""
    placing = dataclasses.replace(mirror, pin=PIN_KEEP)  # where an image lands does not depend on its pin
    names = {}
    for image in images:
        names.setdefault(placing.map(image).name, set()).add(references.parse(image).name)
    return {name: sorted(sources) for name, sources in names.items() if len(sources) > 1}


def canonical_image(source):
    """The image a lock entry's source names, or None: a registry reference, or the NAME of `oci:DIR:NAME` and
    `docker-archive:FILE:NAME` (a push from the bundle's layout records its source so; the layout names each image by its
    canonical reference)."""
    where = transports.location(str(source).strip())
    text = where.name if where.is_local else where.target
    try:
        return str(references.parse(text)) if text else None
    except references.InvalidReference:
        return None


def digests_from_lock(path) -> dict:
    """{normalised image: digest} from a lock: image_copy's entries (by the image their source names) and image_inventory's (image).

    An entry whose source names no image (a layout entry without a reference name) gives no digest, rather than failing every
    image for one it cannot place.
    """
    lock = jsontext.read(path, f"the lock file {path}")
    known = {}
    for entry in lock.get("images", []):
        image = canonical_image(entry.get("source") or "")
        if image and entry.get("digest"):
            known[image] = entry["digest"]  # what the mirror holds (a platform subset's own index)
    for entry in (lock.get("inventory") or {}).get("images", []):
        if entry.get("digest"):
            known[entry["image"]] = entry["digest"]
    return known
