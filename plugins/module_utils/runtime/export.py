# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A sparse OCI layout holding exactly what one node lacks, to ship to it before preloading.

It keeps every image's own manifests and config (small, and enough to name and verify the
image with its original digest) and only the layers the node's record says it does not hold.
image_preload on the node reads it as an ordinary `oci:` source: layers the node has are
never asked for, so their absence from the layout is never noticed.
"""

from __future__ import annotations

from ansible_collections.airlock.airgap.plugins.module_utils.oci import transports
from ansible_collections.airlock.airgap.plugins.module_utils.oci.layout import Layout
from ansible_collections.airlock.airgap.plugins.module_utils.runtime import preload as preloads
from ansible_collections.airlock.airgap.plugins.module_utils.runtime.images import chain_ids, verified_chunks


def export(images, record, platform, destination, check_mode=False):
    """Judge images against the node's record; write what the node needs to destination."""
    plan = preloads.planner_for(record, platform)
    outcomes = [plan.judge(image) for image in preloads.unique(images)]
    needed = [o.image for o in outcomes if o.action != preloads.SKIPPED]
    written = 0
    if needed and not check_mode:
        layout = Layout(destination, create=True)
        for image in needed:
            written += _write_image(layout, image, _missing_layers(image, record))
    return {"changed": bool(written) or (bool(needed) and check_mode), "path": destination, "platform": str(platform),
            "images": [o.report(record.kind) for o in outcomes], "needed": len(needed), "bytes_written": written}


def _missing_layers(image, record):
    if record.kind == "containerd":
        held = record.blobs()
        return [d for d in image.layers if d["digest"] not in held]
    held = record.chains()
    return [d for d, chain in zip(image.layers, chain_ids(image.diff_ids)) if chain not in held]


def _write_image(layout, image, layers):
    written = 0
    for manifest in {image.root.digest: image.root, image.manifest.digest: image.manifest}.values():
        written += layout.write_manifest(manifest)
    for descriptor in [image.config, *layers]:
        written += layout.write_blob(descriptor["digest"], verified_chunks(image.endpoint, descriptor), descriptor["size"])
    layout.tag(image.root, transports.layout_name(image.reference))
    return written
