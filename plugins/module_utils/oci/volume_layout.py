# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A bundle's OCI image layout read in place from the bundle's volumes (`volumes:DIR:NAME` sources).

It answers what Layout answers to a copy source (index, manifests, blob sizes and bytes), so
LayoutEndpoint and the copy engine use it unchanged: the enclave pushes images to its registry
without unpacking the bundle first. index.json is checked against the bundle's SHA256SUMS,
manifests against their digests when read, blobs against theirs as the copy streams them.
It is a source only: nothing is ever written into volumes.
"""

from __future__ import annotations

import json

from ansible_collections.airlock.airgap.plugins.module_utils.oci.errors import NotFound, OciError
from ansible_collections.airlock.airgap.plugins.module_utils.oci.layout import Layout, blob_member

IMAGES_FOLDER = "images"  # where a bundle keeps its OCI layout (the collect role writes it there)


class VolumeLayout(Layout):
    """The layout under IMAGES_FOLDER of a bundle, read from its volumes (integrity.bundle_files.BundleFiles)."""

    def __init__(self, files, folder=IMAGES_FOLDER):  # pylint: disable=super-init-not-called
        self.files, self.folder = files, folder
        self.root = f"{files.where}/{folder}"
        self._missing_reads_empty = False
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

    def blob_chunks(self, digest, size=None):
        if self.blob_size(digest) is None:
            raise NotFound(f"blob {digest} is not in the layout {self.root}")
        return self.files.chunks(self.blob_path(digest))

    def index(self):
        if self._index is None:
            self._index = json.loads(self.files.read_verified(f"{self.folder}/index.json"))
        return self._index

    def write_blob(self, digest, chunks, size=None):
        raise self._read_only()

    def tag(self, manifest, ref_name, annotations=None):
        raise self._read_only()

    def add_referrer(self, manifest, subject):
        raise self._read_only()

    def _read_only(self):
        return OciError(f"{self.root} is a bundle's volumes, a source only: copy images into an oci:DIR layout or a registry instead")
