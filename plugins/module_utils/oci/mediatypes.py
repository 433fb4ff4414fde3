# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Media types of the OCI image spec and Docker's schema 2, and what each one is."""

from __future__ import annotations

from ansible_collections.airlock.airgap.plugins.module_utils.errors import AirlockError

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_SCHEMA1 = ("application/vnd.docker.distribution.manifest.v1+json",
                  "application/vnd.docker.distribution.manifest.v1+prettyjws")

INDEXES = (OCI_INDEX, DOCKER_LIST)
MANIFESTS = (OCI_MANIFEST, DOCKER_MANIFEST)
# What we ask registries for: every modern form, never schema 1.
ACCEPT = ", ".join(INDEXES + MANIFESTS)


class UnsupportedManifest(AirlockError, ValueError):
    """A manifest kind this collection refuses to copy (schema 1, or unknown)."""


def is_index(media_type):
    return media_type in INDEXES


def check_supported(media_type, what):
    """Refuse schema 1 and unknown kinds with the fix in the message."""
    if media_type in DOCKER_SCHEMA1:
        raise UnsupportedManifest(
            f"{what} is a Docker schema 1 manifest, which is deprecated and cannot be copied digest-exactly; "
            "rebuild or re-push the image with a current Docker or buildah")
    if media_type not in INDEXES + MANIFESTS:
        raise UnsupportedManifest(f"{what} has media type {media_type!r}, which is not an image index or manifest")


def media_type_of(manifest, header_type=None):
    """The manifest's own mediaType field wins; the HTTP Content-Type is the fallback."""
    declared = manifest.get("mediaType")
    if declared:
        return declared
    if header_type and header_type.split(";")[0].strip() in INDEXES + MANIFESTS + DOCKER_SCHEMA1:
        return header_type.split(";")[0].strip()
    if manifest.get("schemaVersion") == 1:
        return DOCKER_SCHEMA1[0]
    return OCI_INDEX if "manifests" in manifest else OCI_MANIFEST
