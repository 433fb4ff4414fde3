# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A manifest or index exactly as its store holds it: the raw bytes, their media type and their digest.

Every image source and sink passes manifests as these bytes and never serialises them again, so
digests do not change on the way. It has a module of its own so that the local stores (layout,
archive) and the copy engine need not import the registry's HTTP client to speak of one.
"""

from __future__ import annotations

import dataclasses
import json

from ansible_collections.airlock.airgap.plugins.module_utils.integrity import digest as digests


@dataclasses.dataclass(frozen=True)
class Manifest:
    """A manifest's raw bytes, with its media type and its digest (computed from the bytes, or checked against them)."""

    raw: bytes
    media_type: str
    digest: str

    @classmethod
    def of(cls, raw, media_type):
        """A manifest made here (a subset index, a manifest derived from an archive): its digest is the bytes' own."""
        return cls(raw, media_type, digests.of_bytes(raw))

    def parsed(self):
        return json.loads(self.raw)

    @property
    def descriptor(self):
        """The OCI descriptor that points at this manifest (an index entry, a referrer listing)."""
        return {"mediaType": self.media_type, "digest": self.digest, "size": len(self.raw)}
