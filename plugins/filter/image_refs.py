# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja filters for image references: normalise as Docker does, and map to the enclave's mirror.

Documented in image_normalize.yml and image_mirror.yml next to this file.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.airlock.airgap.plugins.module_utils.inventory.rewrite import Mirror, MirrorError
from ansible_collections.airlock.airgap.plugins.module_utils.oci import reference as references


def image_normalize(text):
    """`redis` -> `docker.io/library/redis:latest`."""
    try:
        return str(references.parse(str(text).strip()))
    except references.InvalidReference as error:
        raise AnsibleFilterError(str(error)) from error


def image_mirror(text, registry, prefix="", path="keep", pin="keep", digests=None):  # pylint: disable=too-many-arguments
    """The reference of an image once mirrored to registry (see Mirror)."""
    try:
        return str(Mirror(registry, prefix or "", path, pin, dict(digests or {})).map(text))
    except (references.InvalidReference, MirrorError) as error:
        raise AnsibleFilterError(str(error)) from error


class FilterModule:  # pylint: disable=too-few-public-methods
    def filters(self):
        return {"image_normalize": image_normalize, "image_mirror": image_mirror}
