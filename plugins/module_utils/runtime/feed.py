# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tar stream a runtime imports, made on the fly with only what the node lacks.

containerd takes an OCI archive: its content store keeps compressed blobs, so a layer the
node already has (from another image) is simply left out, and so are the other platforms of
a multi-arch image. Docker (20.10, before its containerd image store) takes a docker-archive
and skips reading any layer whose chain it already has, so those are left out too. Layers stay
compressed in both: a node receives the bundle's unique bytes, not one inflated tar per image.
Every blob is checked against its digest as it streams; a mismatch raises before the stream
ends, so the runtime sees a truncated archive and imports nothing from it. A stream first lists
the blobs it will carry, so their bytes join the progress total before the first one moves.
"""

from __future__ import annotations

import functools
import json
import tarfile
from collections.abc import Callable
from typing import NamedTuple

from ansible_collections.airlock.airgap.plugins.module_utils.oci import mediatypes
from ansible_collections.airlock.airgap.plugins.module_utils.oci.archive import tar_member
from ansible_collections.airlock.airgap.plugins.module_utils.oci.endpoints import verified_blob
from ansible_collections.airlock.airgap.plugins.module_utils.oci.layout import blob_member
from ansible_collections.airlock.airgap.plugins.module_utils.report.progress import Progress
from ansible_collections.airlock.airgap.plugins.module_utils.runtime.images import chain_ids

BLOCK = 512
CONTAINERD_NAME = "io.containerd.image.name"


class Blob(NamedTuple):
    """One blob a stream carries: its member name, size, and how to read its bytes (only when its turn comes)."""

    name: str
    size: int
    chunks: Callable


class Feed:
    """Counts the blobs streams carried and their bytes, for the module's report and its progress file (a
    report.progress.Progress, which only counts when it has no path); streams may run in parallel threads."""

    def __init__(self, progress=None):
        self.progress = progress or Progress(None)

    @property
    def blobs(self):
        return self.progress.done_files

    @property
    def bytes(self):
        return self.progress.done_bytes

    def send(self, blobs):
        """blobs (Blob) as tar members, their bytes added to the total first and counted as they stream."""
        self.progress.expect(sum(blob.size for blob in blobs), len(blobs))
        for blob in blobs:
            yield _header(blob.name, blob.size)
            for chunk in blob.chunks():
                yield chunk
                self.progress.advance(len(chunk), files=0)
            yield _padding(blob.size)
            self.progress.advance(0, files=1)  # the blob is whole: one more file done

    @staticmethod
    def data(name, data):
        """A member that is no blob (the layout's marker, the index, Docker's manifest.json): not counted."""
        yield _header(name, len(data))
        yield data
        yield _padding(len(data))

    @staticmethod
    def end():
        yield b"\0" * (2 * BLOCK)


def _header(name, size):
    return tar_member(name, size).tobuf(format=tarfile.USTAR_FORMAT)


def _padding(size):
    return b"\0" * (-size % BLOCK)


def _held(data):
    """A Blob's chunks for bytes already in memory (a manifest, a config)."""
    return lambda: [data]


def oci_archive(images, have, annotations, feed):
    """An OCI archive of images (NodeImage) for one platform, leaving out blobs in have.

    annotations(image) gives each image's index annotations: its staging name for containerd
    (the caller gives it its real names once it is imported and unpacked), or its layout name
    for an export that a node reads as an OCI layout.
    """
    sent = set(have)
    blobs, entries = [], []
    for image in images:
        for manifest in {image.root.digest: image.root, image.manifest.digest: image.manifest}.values():
            if manifest.digest not in sent:
                sent.add(manifest.digest)
                blobs.append(Blob(blob_member(manifest.digest), len(manifest.raw), _held(manifest.raw)))
        for descriptor in image.content:
            if descriptor["digest"] not in sent:
                sent.add(descriptor["digest"])
                blobs.append(Blob(blob_member(descriptor["digest"]), descriptor["size"],
                                  functools.partial(verified_blob, image.endpoint, descriptor)))
        entries.append({"mediaType": image.root.media_type, "digest": image.digest, "size": len(image.root.raw),
                        "annotations": annotations(image)})
    yield from feed.data("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
    yield from feed.send(blobs)
    index = {"schemaVersion": 2, "mediaType": mediatypes.OCI_INDEX, "manifests": entries}
    yield from feed.data("index.json", json.dumps(index).encode())
    yield from feed.end()


def staging_annotations(staging_name):
    """Index annotations that name each image by its staging name in containerd (`ctr import` reads this one)."""
    return lambda image: {CONTAINERD_NAME: staging_name(image.digest)}


def docker_archive(images, have_chains, feed):
    """A docker-archive of images for Docker's load, leaving out layers whose chain Docker has.

    Docker names images by tag only, so names pinned by digest are left to the verification.
    """
    sent = set()
    blobs, entries = [], []
    for image in images:
        config_name = blob_member(image.config_digest)
        if config_name not in sent:
            sent.add(config_name)
            blobs.append(Blob(config_name, len(image.config_bytes), _held(image.config_bytes)))
        for descriptor, chain in zip(image.layers, chain_ids(image.diff_ids)):
            name = blob_member(descriptor["digest"])
            if chain not in have_chains and name not in sent:
                sent.add(name)
                blobs.append(Blob(name, descriptor["size"], functools.partial(verified_blob, image.endpoint, descriptor)))
        entries.append({"Config": config_name, "RepoTags": [n for n in image.names if "@" not in n],
                        "Layers": [blob_member(d["digest"]) for d in image.layers]})
    yield from feed.send(blobs)
    yield from feed.data("manifest.json", json.dumps(entries).encode())
    yield from feed.end()
