# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Charts in OCI registries, stored exactly as `helm push` stores them and `helm pull oci://` reads them.

A chart is an OCI image manifest whose config is Chart.yaml as JSON (Helm's config media
type) and whose one layer is the chart archive, byte for byte; an optional second layer is
the provenance file. The tag is the chart version with `+` written `_` (tags cannot hold
`+`). The manifest is built from the archive alone, so pushing the same archive twice gives
the same digest and the second push sends nothing.
"""

from __future__ import annotations

import dataclasses
import json
import os

from ansible_collections.airlock.airgap.plugins.module_utils.charts import archive, mediatypes
from ansible_collections.airlock.airgap.plugins.module_utils.charts.errors import ChartError
from ansible_collections.airlock.airgap.plugins.module_utils.integrity import digest as digests
from ansible_collections.airlock.airgap.plugins.module_utils.oci import mediatypes as oci_mediatypes
from ansible_collections.airlock.airgap.plugins.module_utils.oci.manifest import Manifest

SCHEME = "oci://"
PROVENANCE_SUFFIX = ".prov"


@dataclasses.dataclass(frozen=True)
class Location:
    """oci://HOST/PATH: the registry host and the repository path charts go under."""

    registry: str
    path: str

    @classmethod
    def parse(cls, url):
        text = url[len(SCHEME):] if url.startswith(SCHEME) else url
        registry, _slash, path = text.strip("/").partition("/")
        if not registry or "@" in text or ":" in path:
            raise ChartError(f"{url!r} is not an OCI chart location; write oci://HOST[:PORT]/PATH (no tag: the version is the tag)")
        return cls(registry, path)

    def repository(self, name):
        return f"{self.path}/{name}" if self.path else name

    def reference(self, name, version):
        return f"{SCHEME}{self.registry}/{self.repository(name)}:{tag_of(version)}"


def tag_of(version):
    """Helm's tag for a chart version: OCI tags cannot hold '+'."""
    return str(version).replace("+", "_")


@dataclasses.dataclass(frozen=True)
class Pulled:
    data: bytes
    provenance: bytes | None
    reference: str
    digest: str


def pull(client, location, name, version):
    """The chart archive (and provenance, if any) of name:version, each verified as it streams."""
    repository = location.repository(name)
    reference = location.reference(name, version)
    manifest = client.get_manifest(repository, tag_of(version)).parsed()
    config = manifest.get("config") or {}
    if config.get("mediaType") != mediatypes.CONFIG:
        raise ChartError(f"{reference} is not a Helm chart (its config is {config.get('mediaType')!r}, "
                         f"not {mediatypes.CONFIG}); is it a container image?")
    layers = manifest.get("layers") or []
    chart_layer = next((layer for layer in layers if layer.get("mediaType") in mediatypes.CHART_LAYERS), None)
    if chart_layer is None:
        raise ChartError(f"{reference} has no chart layer ({mediatypes.CHART}); it was not pushed by helm")
    provenance_layer = next((layer for layer in layers if layer.get("mediaType") == mediatypes.PROVENANCE), None)
    data = _blob(client, repository, chart_layer, reference)
    provenance = _blob(client, repository, provenance_layer, reference) if provenance_layer else None
    return Pulled(data, provenance, reference, chart_layer["digest"])


def _blob(client, repository, descriptor, reference):
    size = descriptor.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0 or size > archive.MAX_CHART_BYTES \
            or not isinstance(descriptor.get("digest"), str):
        raise ChartError(f"{reference}: layer {descriptor.get('digest')} declares size {size}, which is no chart")
    verifier = digests.Verifier(descriptor["digest"], size, f"layer of {reference}")
    blocks = []
    for block in client.blob_chunks(repository, descriptor["digest"], size):
        verifier.update(block)
        blocks.append(block)
    verifier.check()
    return b"".join(blocks)


@dataclasses.dataclass(frozen=True)
class Pushed:
    name: str
    version: str
    reference: str
    digest: str
    changed: bool


def manifest_for(chart, data, provenance=None):
    """(manifest, {digest: bytes}) for a chart archive, as helm push builds them; same archive, same manifest."""
    config = json.dumps(chart.metadata, sort_keys=True, separators=(",", ":"), default=str).encode()
    blobs = {digests.of_bytes(config): config, digests.of_bytes(data): data}
    layers = [_descriptor(mediatypes.CHART, data)]
    if provenance is not None:
        blobs[digests.of_bytes(provenance)] = provenance
        layers.append(_descriptor(mediatypes.PROVENANCE, provenance))
    body = {
        "schemaVersion": 2,
        "mediaType": oci_mediatypes.OCI_MANIFEST,
        "config": _descriptor(mediatypes.CONFIG, config),
        "layers": layers,
        "annotations": _annotations(chart),
    }
    raw = json.dumps(body, separators=(",", ":")).encode()
    return Manifest(raw, oci_mediatypes.OCI_MANIFEST, digests.of_bytes(raw)), blobs


def _descriptor(media_type, data):
    return {"mediaType": media_type, "digest": digests.of_bytes(data), "size": len(data)}


def _annotations(chart):
    """The annotations helm push writes, but no creation time: it would change the digest on every push."""
    found = {"org.opencontainers.image.title": chart.name, "org.opencontainers.image.version": chart.version}
    if chart.metadata.get("description"):
        found["org.opencontainers.image.description"] = str(chart.metadata["description"])
    if chart.metadata.get("home"):
        found["org.opencontainers.image.url"] = str(chart.metadata["home"])
    return found


def push(client, location, path, check_mode=False):
    """Push one chart archive under location/<name>:<version>; nothing is sent when it is there already."""
    with open(path, "rb") as handle:
        data = handle.read()
    chart = archive.from_archive_bytes(data, path)
    provenance_path = path + PROVENANCE_SUFFIX
    provenance = None
    if os.path.isfile(provenance_path):
        with open(provenance_path, "rb") as handle:
            provenance = handle.read()
    manifest, blobs = manifest_for(chart, data, provenance)
    repository = location.repository(chart.name)
    tag = tag_of(chart.version)
    reference = location.reference(chart.name, chart.version)
    if client.manifest_digest(repository, tag) == manifest.digest:
        return Pushed(chart.name, chart.version, reference, manifest.digest, False)
    if not check_mode:
        for blob_digest, blob in blobs.items():
            if client.blob_size(repository, blob_digest) is None:
                client.upload_blob(repository, blob_digest, iter([blob]), len(blob))
        client.put_manifest(repository, tag, manifest)
    return Pushed(chart.name, chart.version, reference, manifest.digest, True)
