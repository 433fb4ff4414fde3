# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A bundle's OCI image layout read in place from the bundle's volumes (`volumes:DIR:NAME` sources).

It is a LayoutReader (index, manifests, blob sizes and bytes), so LayoutSource and the copy
engine read it as they read a layout on disk: the enclave pushes images to its registry
without unpacking the bundle first. index.json is checked against the bundle's SHA256SUMS,
manifests against their digests when read, blobs against theirs as the copy streams them.
It is a source only: it has no member that writes.
"""

from __future__ import annotations

import json

from ansible_collections.airlock.airgap.plugins.module_utils.oci.errors import NotFound
from ansible_collections.airlock.airgap.plugins.module_utils.oci.layout import LayoutReader, blob_member

IMAGES_FOLDER = "images"  # where a bundle keeps its OCI layout (the collect role writes it there)


class VolumeLayout(LayoutReader):
    """The layout under IMAGES_FOLDER of a bundle, read from its volumes (integrity.bundle_files.BundleFiles)."""

    def __init__(self, files, folder=IMAGES_FOLDER):  # pylint: disable=super-init-not-called
        self.files, self.folder = files, folder
        self.root = f"{files.where}/{folder}"
        self._index = None
        if files.size(f"{folder}/oci-layout") is None:
            raise NotFound(f"{self.root} is not an OCI image layout (the bundle holds no {folder}/oci-layout)")

    @property
    def location(self):
        return f"volumes:{self.files.volumes_dir}:{self.files.name}"

    def blob_path(self, digest):
        return f"{self.folder}/{blob_member(digest)}"

    def blob_size(self, digest):
        return self.files.size(self.blob_path(digest))

    def blob_chunks(self, digest, size=None):  # pylint: disable=unused-argument
        """The blob's bytes, read (and a missing blob reported) only as they are asked for, as Layout's are."""
        if self.blob_size(digest) is None:
            raise NotFound(f"blob {digest} is not in the layout {self.root}")
        yield from self.files.chunks(self.blob_path(digest))

    def index(self):
        if self._index is None:
            self._index = json.loads(self.files.read_verified(f"{self.folder}/index.json"))
        return self._index
