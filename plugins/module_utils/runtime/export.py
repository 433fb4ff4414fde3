# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A sparse OCI layout holding exactly what one node lacks, to ship to it before preloading.

It keeps every image's own manifests and config (small, and enough to name and verify the
image with its original digest) and only the layers the node's record says it does not hold.
image_preload on the node reads it as an ordinary `oci:` source: layers the node has are
never asked for, so their absence from the layout is never noticed. As one archive (a tar of
that layout, what skopeo calls oci-archive) it travels to the node in a single stream, and
the node unpacks it with every blob verified (receive.py).
"""

from __future__ import annotations

import os

from ansible_collections.airlock.airgap.plugins.module_utils.integrity import atomic
from ansible_collections.airlock.airgap.plugins.module_utils.oci import transports
from ansible_collections.airlock.airgap.plugins.module_utils.oci.endpoints import verified_blob
from ansible_collections.airlock.airgap.plugins.module_utils.oci.layout import REF_NAME, Layout
from ansible_collections.airlock.airgap.plugins.module_utils.runtime import feed as feeds
from ansible_collections.airlock.airgap.plugins.module_utils.runtime.plan import UNCHANGED
from ansible_collections.airlock.airgap.plugins.module_utils.runtime.preload import unique
from ansible_collections.airlock.airgap.plugins.module_utils.runtime.errors import RuntimeFailure


class ExportError(RuntimeFailure):
    """The export's destination cannot be used; the message says why and what to do."""


def export(images, record, platform, destination, check_mode=False, archive=False):
    """Judge images against the node's record (plan.NodeRuntime); write what the node needs to destination, afresh.

    The layout (or with archive, the one tar of it) is built under a private temporary name beside
    destination and takes its name only when whole, replacing an earlier export: the node imports
    every image it names, so nothing left by an interrupted run, or put there by someone else, may
    remain in it.
    """
    plan = record.planner(platform)
    outcomes = [plan.judge(image) for image in unique(images)]
    needed = [o.image for o in outcomes if o.action != UNCHANGED]
    written = 0
    if needed and not check_mode:
        written = (_write_archive if archive else _write_fresh)(destination, needed, plan)
    return {"changed": bool(needed), "path": destination, "platform": str(platform),
            "images": [o.report(plan) for o in outcomes], "needed": len(needed), "bytes_written": written,
            "to_preload": [{"name": str(image.reference), "digest": image.digest} for image in needed]}


def _write_fresh(destination, images, plan):
    destination = os.path.abspath(destination)
    if os.path.lexists(destination) and not os.path.isfile(os.path.join(destination, "oci-layout")):
        raise ExportError(f"{destination} exists and is not an earlier export (no oci-layout file); remove it or choose another dest")
    with atomic.replacing_folder(destination, ".export-") as building:
        layout = Layout(building, create=True)
        return sum(_write_image(layout, image, plan.missing_layers(image)) for image in images)


def _write_archive(destination, images, plan):
    """The sparse layout as one tar, streamed from the bundle with every blob verified on the way."""
    destination = os.path.abspath(destination)
    if os.path.lexists(destination) and not os.path.isfile(destination):
        raise ExportError(f"{destination} exists and is not a file (an earlier export archive); remove it or choose another dest")
    layers = {d["digest"] for image in images for d in image.layers}
    missing = {d["digest"] for image in images for d in plan.missing_layers(image)}
    counter = feeds.Feed()
    stream = feeds.oci_archive(images, layers - missing, lambda image: {REF_NAME: transports.layout_name(image.reference)}, counter)
    with atomic.replacing(destination, durable=False, prefix=".export-") as replacement:
        for chunk in stream:
            replacement.handle.write(chunk)
    return counter.bytes


def _write_image(layout, image, layers):
    written = 0
    for manifest in {image.root.digest: image.root, image.manifest.digest: image.manifest}.values():
        written += layout.write_manifest(manifest)
    for descriptor in [image.config, *layers]:
        written += layout.write_blob(descriptor["digest"], verified_blob(image.endpoint, descriptor), descriptor["size"])
    layout.tag(image.root, transports.layout_name(image.reference))
    return written
