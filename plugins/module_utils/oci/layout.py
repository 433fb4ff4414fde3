# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An OCI image layout on disk: one shared blob store for every image in a bundle.

Blobs are written to a temporary name, verified against their digest while they are
written, then renamed, so a blob under its digest's name is always whole and correct.
index.json is rewritten under an exclusive lock on the layout directory, so two copies
writing into one layout at once never lose each other's entries.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os

from ansible_collections.airlock.airgap.plugins.module_utils.integrity import atomic
from ansible_collections.airlock.airgap.plugins.module_utils import jsontext
from ansible_collections.airlock.airgap.plugins.module_utils.integrity import digest as digests
from ansible_collections.airlock.airgap.plugins.module_utils.oci import mediatypes
from ansible_collections.airlock.airgap.plugins.module_utils.oci.errors import NotFound
from ansible_collections.airlock.airgap.plugins.module_utils.oci.manifest import Manifest

REF_NAME = "org.opencontainers.image.ref.name"
SOURCE_ANNOTATION = "io.airlock.source.reference"
REFERRER_OF = "io.airlock.referrer.of"  # an index entry for an artifact (signature, SBOM) of that digest
LAYOUT_VERSION = {"imageLayoutVersion": "1.0.0"}
READ_SIZE = 1024 * 1024
PARTIAL_PREFIX = ".partial-"  # + writer's PID: a killed writer's leftovers are recognisable


def blob_member(digest):
    """A blob's path inside any OCI layout or archive: blobs/<algorithm>/<hex>."""
    algorithm, hexdigest = digests.parse(digest)
    return f"blobs/{algorithm}/{hexdigest}"


def _empty_index():
    return {"schemaVersion": 2, "mediaType": mediatypes.OCI_INDEX, "manifests": []}


class LayoutReader:
    """Read one OCI image layout: its index, manifests and blobs. What a copy source needs, and all a
    read-only layout (a bundle's, read in place from its volumes) can do."""

    _missing_reads_empty = False

    def __init__(self, root):
        self.root = os.path.abspath(root)
        if not os.path.isfile(os.path.join(self.root, "oci-layout")):
            raise NotFound(f"{self.root} is not an OCI image layout (no oci-layout file)")

    @property
    def location(self):
        """The source string that names this layout (a volume-backed one names its volumes)."""
        return f"oci:{self.root}"

    # --- blobs -------------------------------------------------------------------------

    def blob_path(self, digest):
        return os.path.join(self.root, *blob_member(digest).split("/"))

    def blob_size(self, digest):
        try:
            return os.stat(self.blob_path(digest)).st_size
        except FileNotFoundError:
            return None

    def blob_chunks(self, digest, size=None):  # pylint: disable=unused-argument
        try:
            handle = open(self.blob_path(digest), "rb")  # pylint: disable=consider-using-with
        except FileNotFoundError as error:
            raise NotFound(f"blob {digest} is not in the layout {self.root}") from error
        with handle:
            yield from iter(lambda: handle.read(READ_SIZE), b"")

    # --- manifests and the index --------------------------------------------------------

    def read_manifest(self, digest):
        try:
            raw = b"".join(self.blob_chunks(digest))
        except NotFound as error:
            raise NotFound(f"manifest {digest} is not in the layout {self.root}") from error
        if digests.of_bytes(raw) != digest:
            raise digests.DigestMismatch(f"manifest {digest} in {self.root}", digest, digests.of_bytes(raw))
        media_type = mediatypes.media_type_of(jsontext.parse(raw, f"manifest {digest} in {self.root}"))
        mediatypes.check_supported(media_type, f"{self.root}@{digest}")
        return Manifest(raw, media_type, digest)

    def index(self):
        path = os.path.join(self.root, "index.json")
        if self._missing_reads_empty and not os.path.exists(path):
            return _empty_index()
        return jsontext.read(path)

    def find(self, ref_name):
        """The index descriptor named ref_name, or None."""
        return next((d for d in self.index().get("manifests", [])
                     if d.get("annotations", {}).get(REF_NAME) == ref_name), None)

    def ref_names(self):
        return [d["annotations"][REF_NAME] for d in self.index().get("manifests", [])
                if REF_NAME in d.get("annotations", {})]

    def referrers(self, subject):
        return [d for d in self.index().get("manifests", []) if d.get("annotations", {}).get(REFERRER_OF) == subject]


class Layout(LayoutReader):
    """Read and write one OCI image layout directory."""

    def __init__(self, root, create=False, check_mode=False):
        """create: open it as a destination, writing the skeleton when it is missing.

        With check_mode too, nothing is written: a missing layout reads as an empty one,
        so a check-mode run reports what it would copy and leaves the disk as it was.
        """
        if not create:
            super().__init__(root)
            return
        self.root = os.path.abspath(root)
        self._missing_reads_empty = check_mode
        if not check_mode:
            self._initialise()

    def write_blob(self, digest, chunks, size=None):
        """Write chunks as the blob named digest; verified before it gets that name."""
        final = self.blob_path(digest)
        if os.path.exists(final):
            for _block in chunks:
                pass  # drain, so the caller's verification still runs to the end
            return 0
        verifier = digests.Verifier(digest, size, what=f"blob {digest}")
        with atomic.replacing(final, durable=False, prefix=f"{PARTIAL_PREFIX}{os.getpid()}-") as replacement:
            for block in chunks:
                verifier.update(block)
                replacement.handle.write(block)
            verifier.check()
        return verifier.count

    def write_manifest(self, manifest):
        return self.write_blob(manifest.digest, [manifest.raw], len(manifest.raw))

    def tag(self, manifest, ref_name, annotations=None):
        """Point ref_name at manifest in index.json (replacing an older entry of that name)."""
        descriptor = dict(manifest.descriptor, annotations=dict(annotations or {}, **{REF_NAME: ref_name}))
        with self._locked():
            index = self.index()
            kept = [d for d in index.get("manifests", []) if d.get("annotations", {}).get(REF_NAME) != ref_name]
            index["manifests"] = kept + [descriptor]
            self._write_json("index.json", index)
        return descriptor

    def add_referrer(self, manifest, subject):
        """List an artifact whose subject is another manifest: an index entry with no ref name.

        Returns True when the entry is new."""
        descriptor = dict(manifest.descriptor, annotations={REFERRER_OF: subject})
        artifact_type = manifest.parsed().get("artifactType")
        if artifact_type:
            descriptor["artifactType"] = artifact_type
        with self._locked():
            index = self.index()
            if any(d.get("digest") == manifest.digest and d.get("annotations", {}).get(REFERRER_OF) == subject
                   for d in index.get("manifests", [])):
                return False
            index["manifests"] = index.get("manifests", []) + [descriptor]
            self._write_json("index.json", index)
        return True

    # --- internals ---------------------------------------------------------------------

    def _initialise(self):
        os.makedirs(os.path.join(self.root, "blobs", "sha256"), exist_ok=True)
        with self._locked():
            self._sweep_partials()
            if not os.path.exists(os.path.join(self.root, "oci-layout")):
                self._write_json("oci-layout", LAYOUT_VERSION)
            if not os.path.exists(os.path.join(self.root, "index.json")):
                self._write_json("index.json", _empty_index())

    def _sweep_partials(self):
        """Remove temporary blobs of writers that died (killed copies); live writers' stay."""
        blobs = os.path.join(self.root, "blobs", "sha256")
        for name in os.listdir(blobs):
            owner = name[len(PARTIAL_PREFIX):].split("-", 1)[0] if name.startswith(PARTIAL_PREFIX) else ""
            if owner.isdigit() and not os.path.exists(f"/proc/{owner}"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(blobs, name))

    @contextlib.contextmanager
    def _locked(self):
        """flock on the layout directory itself: no lock file to ship in the bundle."""
        descriptor = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)

    def _write_json(self, name, document):
        atomic.write_text(os.path.join(self.root, name), json.dumps(document, separators=(",", ":")))
