# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""On the node: the export archive the controller shipped, unpacked into an OCI layout, every blob verified first.

The archive came over the wire, so it is hostile until checked: it may hold only `oci-layout`,
`index.json` and regular files named `blobs/sha256/<64 hex digits>`; each blob is written under
a temporary name and renamed only once its bytes match its name (Layout.write_blob); the index
names only manifests that arrived and match their digests. The layout is built in a private
directory beside the destination and takes that name only when whole. The headers are read
first, then each blob straight from its place in the archive: the node reads the shipped bytes once.
"""

from __future__ import annotations

import json
import os
import re
import tarfile

from ansible_collections.airlock.airgap.plugins.module_utils import jsontext
from ansible_collections.airlock.airgap.plugins.module_utils.integrity import atomic
from ansible_collections.airlock.airgap.plugins.module_utils.oci import mediatypes
from ansible_collections.airlock.airgap.plugins.module_utils.oci.layout import READ_SIZE, REF_NAME, Layout
from ansible_collections.airlock.airgap.plugins.module_utils.runtime.errors import RuntimeFailure

BLOB_MEMBER = re.compile(r"blobs/sha256/([0-9a-f]{64})")
INDEX_LIMIT = 16 * 1024 * 1024  # an index of thousands of images is well below this


class ReceiveError(RuntimeFailure):
    """The shipped archive is not an export of image_preload; the message names what is wrong in it."""


def receive(archive, destination, check_mode=False):
    """Unpack the export archive into the layout destination (replacing an earlier one); the module's report."""
    destination = os.path.abspath(destination)
    if os.path.lexists(destination) and not os.path.isfile(os.path.join(destination, "oci-layout")):
        raise ReceiveError(f"{destination} exists and is not an earlier export (no oci-layout file); remove it or choose another dest")
    if check_mode:  # the action sent nothing: the archive is still on the controller
        return {"changed": True, "path": destination, "blobs": 0, "bytes_received": 0}
    if not os.path.isfile(archive):
        raise ReceiveError(f"the export archive {archive} is not a file on this node")
    with atomic.replacing_folder(destination, ".received-") as building:
        blobs, size = _unpack(archive, Layout(building, create=True))
    return {"changed": True, "path": destination, "blobs": blobs, "bytes_received": size}


def _unpack(archive, layout):
    """Every blob verified into layout, then the index's images named there; (blobs, bytes)."""
    index, blobs, size = None, 0, 0
    try:
        with tarfile.open(archive, mode="r:") as tar, open(archive, "rb") as data:
            for member in tar.getmembers():
                kind = _kind(archive, member)
                if kind == "index":
                    index = _read_index(archive, tar.extractfile(member), member.size)
                elif kind == "blob":
                    digest = "sha256:" + BLOB_MEMBER.fullmatch(member.name).group(1)
                    layout.write_blob(digest, _chunks(data, member.offset_data, member.size), member.size)
                    blobs, size = blobs + 1, size + member.size
    except (tarfile.TarError, EOFError) as error:
        raise ReceiveError(f"the export archive {archive} is not a whole tar ({error}); run the preload again to ship it afresh") from error
    if index is None:
        raise ReceiveError(f"the export archive {archive} has no index.json, so it names no image; run the preload again")
    _name_images(layout, index)
    return blobs, size


def _chunks(handle, offset, size):
    """size bytes from offset, as the archive holds them; a short read is the verifier's to refuse."""
    handle.seek(offset)
    while size > 0:
        block = handle.read(min(READ_SIZE, size))
        if not block:
            return
        size -= len(block)
        yield block


def _name_images(layout, entries):
    """One index naming every image, each manifest read back and checked against its digest first.

    Written once and without fsync: the layout lives only until the node has imported from it."""
    descriptors = []
    for entry in entries:
        manifest = layout.read_manifest(entry["digest"])
        descriptors.append({"mediaType": manifest.media_type, "digest": manifest.digest, "size": len(manifest.raw),
                            "annotations": {REF_NAME: entry["annotations"][REF_NAME]}})
    document = {"schemaVersion": 2, "mediaType": mediatypes.OCI_INDEX, "manifests": descriptors}
    atomic.write_text(os.path.join(layout.root, "index.json"), json.dumps(document, separators=(",", ":")), durable=False)


def _kind(archive, member):
    """'index', 'blob' or 'skip' (oci-layout: the layout writes its own); anything else is refused."""
    if not member.isfile():
        raise ReceiveError(f"the export archive {archive} holds {member.name!r}, which is not a regular file; an export holds files only")
    if member.name == "index.json":
        return "index"
    if member.name == "oci-layout":
        return "skip"
    if BLOB_MEMBER.fullmatch(member.name):
        return "blob"
    raise ReceiveError(f"the export archive {archive} holds {member.name!r}; an export holds only oci-layout, index.json and "
                       "blobs/sha256/<digest>")


def _read_index(archive, handle, size):
    """The index's manifest entries, each with a digest and a ref name, checked before any is used."""
    if size > INDEX_LIMIT:
        raise ReceiveError(f"index.json in the export archive {archive} is {size} bytes, more than an export's index can be")
    document = jsontext.parse(handle.read(), f"index.json in the export archive {archive}")
    entries = document.get("manifests") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not all(
            isinstance(e, dict) and isinstance(e.get("digest"), str) and BLOB_MEMBER.fullmatch("blobs/" + e["digest"].replace(":", "/"))
            and isinstance(e.get("annotations"), dict) and isinstance(e["annotations"].get(REF_NAME), str) for e in entries):
        raise ReceiveError(f"index.json in the export archive {archive} is not an export's index: every entry needs a sha256 "
                           f"digest and a {REF_NAME} annotation")
    return entries
