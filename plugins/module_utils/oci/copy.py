# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The copy engine: index -> manifests -> config and layers, digest-exact and concurrent.

Manifests travel as the raw bytes received, so digests never change on the way. With
platforms 'all' the source index is copied byte-for-byte; with a list, a new index with
just those entries is written and both digests are recorded. Blobs already at the
destination are skipped, blobs shared by several images are moved once, every byte is
verified against its digest as it streams, and an image already at the destination
costs one request.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import json
import threading

from ansible_collections.airlock.airgap.plugins.module_utils import jsontext
from ansible_collections.airlock.airgap.plugins.module_utils.errors import EXPECTED_ERRORS
from ansible_collections.airlock.airgap.plugins.module_utils.integrity import digest as digests
from ansible_collections.airlock.airgap.plugins.module_utils.oci import mediatypes, platforms as platform_lib
from ansible_collections.airlock.airgap.plugins.module_utils.oci.endpoints import RegistryEndpoint, verified_blob
from ansible_collections.airlock.airgap.plugins.module_utils.oci.errors import NotFound, OciError, PlatformMissing
from ansible_collections.airlock.airgap.plugins.module_utils.oci.image import MountingSink, SignedSource
from ansible_collections.airlock.airgap.plugins.module_utils.oci.manifest import Manifest


SIGNATURE_SUFFIXES = ("sig", "att", "sbom")
_NOT_ASKED = object()


@dataclasses.dataclass
class CopyResult:  # pylint: disable=too-many-instance-attributes
    """What one image copy did; the module returns these and the lock records them."""

    source: str
    destination: str
    via: str = ""
    digest: str = ""
    source_digest: str = ""
    platforms: list = dataclasses.field(default_factory=list)
    changed: bool = False
    bytes_copied: int = 0
    bytes_skipped: int = 0
    blobs_copied: int = 0
    blobs_skipped: int = 0
    blobs_mounted: int = 0
    signatures: list = dataclasses.field(default_factory=list)

    def add_blob(self, outcome, size):
        if outcome == "copied":
            self.blobs_copied += 1
            self.bytes_copied += size
        elif outcome == "mounted":
            self.blobs_mounted += 1
            self.bytes_skipped += size
        else:
            self.blobs_skipped += 1
            self.bytes_skipped += size


class Copier:
    """Copies images; one blob pool shared by every image so concurrency stays bounded."""

    def __init__(self, concurrency=4, check_mode=False, include_signatures=False, progress=None):
        """progress (report.progress.Progress) counts every blob as it lands, present ones too, and each image as
        sized once its blobs are all asked for; it starts with every image unsized."""
        self.progress = progress
        self._image = threading.local()
        self.check_mode = check_mode
        self.include_signatures = include_signatures
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="blob")
        # Destination look-ups of the no-op fast path: never queued behind blob transfers.
        self._lookups = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="lookup")
        self._inflight = {}
        self._inflight_lock = threading.Lock()
        self._digest_locks = {}
        self._placed = {}

    def close(self):
        self._lookups.shutdown(wait=True)
        self._pool.shutdown(wait=True)

    def copy(self, source, destination, platforms=None):
        """Copy one image (and its signatures when asked and the source can hold any) from an oci.image.ImageSource
        into an oci.image.ImageSink; platforms is None for all, else a list of Platform. Every write goes to the sink,
        which in check mode is a _Rehearsal of it: the copy takes the same path and writes nothing."""
        destination = _Rehearsal(destination) if self.check_mode else destination
        self._image.sized = False
        try:
            result = self._copy_image(source, destination, platforms)
            self._sized()
            if self.include_signatures and isinstance(source, SignedSource):
                self._copy_signatures(source, destination, result)
        finally:
            self._sized()
        return result

    def _sized(self):
        """This thread's image has asked for all its blobs (or has none to move, or failed): its size is in the total."""
        if self.progress is not None and not self._image.sized:
            self._image.sized = True
            self.progress.sized()

    def _copy_image(self, source, destination, platforms):
        result = CopyResult(str(source), str(destination), via=_fetched_as(source))
        if platforms is None and self._already_there(source, destination, result):
            return result
        top = source.root_manifest()
        result.source_digest = top.digest
        if mediatypes.is_index(top.media_type):
            self._copy_index(source, destination, top, platforms, result)
        else:
            self._copy_single(source, destination, top, platforms, result)
        return result

    def _copy_signatures(self, source, destination, result):
        """OCI referrers of the image, and cosign-style sha256-<hex>.sig/.att/.sbom tags, when present."""
        self._copy_referrers(source, destination, result)
        _algorithm, hexdigest = digests.parse(result.source_digest)
        for suffix in SIGNATURE_SUFFIXES:
            tag = f"sha256-{hexdigest}.{suffix}"
            artifact = source.sibling(tag)
            if artifact.current_digest() is None:
                continue
            copied = self._copy_image(artifact, destination.sibling(tag), None)
            result.signatures.append({"tag": tag, "digest": copied.digest, "changed": copied.changed})
            result.changed = result.changed or copied.changed
            result.bytes_copied += copied.bytes_copied

    def _copy_referrers(self, source, destination, result):
        """Artifacts that name the image as their subject (OCI 1.1), with their blobs, by digest."""
        for descriptor in source.referrers(result.source_digest):
            artifact = source.manifest(descriptor["digest"])
            copied = CopyResult(str(source), str(destination), digest=artifact.digest)
            self._collect(self._submit_blobs(source, destination, artifact), copied)
            copied.changed = destination.put_referrer(artifact, result.source_digest) or copied.changed
            result.signatures.append({"referrer": artifact.digest, "artifact_type": descriptor.get("artifactType", ""),
                                      "changed": copied.changed})
            result.changed = result.changed or copied.changed
            result.bytes_copied += copied.bytes_copied

    def _already_there(self, source, destination, result):
        """The no-op fast path: one request to the destination, sent while the source's tag is resolved, so an
        image already in place costs one round trip."""
        at_destination = self._lookups.submit(destination.current_digest)
        wanted = source.pinned_digest or source.current_digest()
        if wanted is None:
            fetched = f" (fetched as {result.via})" if result.via else ""
            raise NotFound(f"{source}{fetched} not found: check the repository name and the tag or digest")
        if not _in_place(destination, wanted, at_destination.result()):
            return False
        result.digest = result.source_digest = wanted
        if destination.is_local:  # reading a local layout costs no request: keep the lock complete
            result.platforms = _platforms_of(destination, destination.root_manifest())
        return True

    def _copy_index(self, source, destination, top, platforms, result):
        index = top.parsed()
        children = index.get("manifests", [])
        if platforms is not None:
            children = platform_lib.select(children, platforms, str(source))
            top = _subset_index(index, children, top.media_type)
            if _in_place(destination, top.digest):
                result.digest = top.digest
                result.platforms = [str(platform_lib.of_descriptor(d)) for d in children]
                return
        result.digest = top.digest
        result.platforms = [str(platform_lib.of_descriptor(d)) for d in children]
        manifests = [source.manifest(descriptor["digest"]) for descriptor in children]
        for child in manifests:
            mediatypes.check_supported(child.media_type, f"{source}@{child.digest}")
        # every platform's blobs are in flight together, then each manifest follows its blobs
        pending = [self._submit_blobs(source, destination, child) for child in manifests]
        self._sized()
        for child, transfers in zip(manifests, pending):
            self._collect(transfers, result)
            destination.put_manifest(child, by_name=False)
        destination.put_manifest(top, by_name=True)
        result.changed = True

    def _copy_single(self, source, destination, top, platforms, result):
        config = _read_config(source, _blobs_of(top)[0])
        image_platform = platform_lib.of_config(config)
        if platforms is not None and not any(p.matches(image_platform) for p in platforms):
            wanted = ", ".join(str(p) for p in platforms)
            raise PlatformMissing(f"{source} is a single-platform image for {image_platform}, not {wanted}; "
                                  "ask for its platform or 'all'")
        result.digest = top.digest
        result.platforms = [str(image_platform)]
        if platforms is not None and _in_place(destination, top.digest):
            return
        transfers = self._submit_blobs(source, destination, top)
        self._sized()
        self._collect(transfers, result)
        destination.put_manifest(top, by_name=True)
        result.changed = True

    def _submit_blobs(self, source, destination, manifest):
        return [(d, *self._blob_future(source, destination, d)) for d in _blobs_of(manifest)]

    @staticmethod
    def _collect(transfers, result):
        for descriptor, future, moves_it in transfers:
            outcome = future.result() if moves_it else _wait_then_present(future)
            result.add_blob(outcome, descriptor.get("size", 0))
            result.changed = result.changed or outcome != "present"

    def _blob_future(self, source, destination, descriptor):
        """One transfer per (destination, digest), however many images share the blob.

        Returns (future, moves_it): only the image whose request started the transfer
        counts its bytes as copied; the others find the blob in place.
        """
        key = (destination.identity, descriptor["digest"])
        with self._inflight_lock:
            future = self._inflight.get(key)
            if future is None or (future.done() and future.exception() is not None):
                if future is None and self.progress is not None:
                    self.progress.expect(descriptor.get("size", 0))
                future = self._pool.submit(self._transfer_blob, source, destination, descriptor)
                if self.progress is not None:
                    future.add_done_callback(functools.partial(_landed, self.progress, descriptor.get("size", 0)))
                self._inflight[key] = future
                return future, True
        return future, False

    def _transfer_blob(self, source, destination, descriptor):
        digest, size = descriptor["digest"], descriptor.get("size")
        if destination.blob_size(digest) is not None:
            return "present"
        if _mounted(destination, source, digest):
            return "mounted"
        with self._digest_lock(destination.store, digest):
            placed = self._placed.get((destination.store, digest))
            if placed is not None and _mounted(destination, placed, digest):
                return "mounted"  # another repository of this registry got it in this run
            # each request is retried by the HTTP transport, the only retry layer; errors name the blob and the store,
            # never one image, since every image sharing the blob reports them
            destination.write_blob(digest, verified_blob(source, {"digest": digest, "size": size}, what=f"blob {digest}"), size)
            self._placed[(destination.store, digest)] = destination
        return "copied"

    def _digest_lock(self, store, digest):
        """One upload of a digest per registry at a time: the others wait, then mount it."""
        with self._inflight_lock:
            return self._digest_locks.setdefault((store, digest), threading.Lock())


class _Rehearsal:
    """A sink in check mode: it answers every read as the sink does and takes every write without making it (no
    source byte is read for it, no blob mounted), so a check-mode copy reports what a real one would move."""

    def __init__(self, sink):
        self.sink = sink
        self.is_local = sink.is_local

    def __str__(self):
        return str(self.sink)

    @property
    def identity(self):
        return self.sink.identity

    @property
    def store(self):
        return self.sink.store

    def current_digest(self):
        return self.sink.current_digest()

    def root_manifest(self):
        return self.sink.root_manifest()

    def manifest(self, digest):
        return self.sink.manifest(digest)

    def blob_size(self, digest):
        return self.sink.blob_size(digest)

    def blob_chunks(self, digest, size=None):
        return self.sink.blob_chunks(digest, size)

    def sibling(self, tag):
        return _Rehearsal(self.sink.sibling(tag))

    @staticmethod
    def write_blob(digest, chunks, size):  # pylint: disable=unused-argument
        return 0

    @staticmethod
    def put_manifest(manifest, by_name=False):  # pylint: disable=unused-argument
        return manifest.digest

    @staticmethod
    def put_referrer(manifest, subject):  # pylint: disable=unused-argument
        return False


def copy_many(copier, jobs, image_concurrency=2):
    """Copy (source, destination, platforms) jobs; returns ([CopyResult], [(job, error)]) in job order.

    Only EXPECTED_ERRORS (an engine's error, bad content, or I/O, which includes every error of the requests
    library) are reported per image; anything else is a bug, raised with its traceback.
    """
    outcomes = [None] * len(jobs)
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, image_concurrency), thread_name_prefix="image") as pool:
        futures = {pool.submit(copier.copy, *job): position for position, job in enumerate(jobs)}
        for future in concurrent.futures.as_completed(futures):
            try:
                outcomes[futures[future]] = future.result()
            except EXPECTED_ERRORS as error:
                outcomes[futures[future]] = error
    results = [o for o in outcomes if isinstance(o, CopyResult)]
    failures = [(job, o) for job, o in zip(jobs, outcomes) if not isinstance(o, CopyResult)]
    return results, failures


def _landed(progress, size, future):
    """A blob's transfer ended: its bytes are done when it is in place (moved, mounted or found there)."""
    if future.exception() is None:
        progress.advance(size)


def _fetched_as(source):
    """What a source is fetched as when a proxy or mirror stands for its registry, else "": only a registry image can be."""
    return source.via if isinstance(source, RegistryEndpoint) else ""


def _mounted(destination, source, digest):
    """Whether the destination linked the blob from source (another repository of its registry) so no byte moved."""
    return isinstance(destination, MountingSink) and destination.mount_from(source, digest)


def _in_place(destination, digest, named=_NOT_ASKED):
    """The destination names digest (named: what it names, None for nothing, when already asked) and, when it is
    local (a stat per blob, no request), still holds all of it."""
    if named is _NOT_ASKED:
        named = destination.current_digest()
    return named == digest and (not destination.is_local or _whole(destination, digest))


def _whole(endpoint, digest):
    """Whether a local store holds the manifest or index at digest and everything it references: a deleted blob is copied again."""
    if endpoint.blob_size(digest) is None:
        return False
    top = endpoint.manifest(digest)
    if not mediatypes.is_index(top.media_type):
        return _holds_blobs_of(endpoint, top)
    return all(endpoint.blob_size(child["digest"]) is not None and _holds_blobs_of(endpoint, endpoint.manifest(child["digest"]))
               for child in top.parsed().get("manifests", []))


def _holds_blobs_of(endpoint, manifest):
    return all(endpoint.blob_size(descriptor["digest"]) is not None for descriptor in _blobs_of(manifest))


def _blobs_of(manifest):
    """The config and layer descriptors of an image manifest, each naming a digest; anything else is refused by name."""
    parsed = manifest.parsed()
    layers = parsed.get("layers", [])
    descriptors = [parsed.get("config"), *(layers if isinstance(layers, list) else [None])]
    if not all(isinstance(descriptor, dict) and isinstance(descriptor.get("digest"), str) for descriptor in descriptors):
        raise OciError(f"manifest {manifest.digest} is not an image manifest whose config and layers each name a digest "
                       "(an index inside an index, or a damaged manifest), so it cannot be copied")
    return descriptors


def _platforms_of(endpoint, manifest):
    parsed = manifest.parsed()
    if mediatypes.is_index(manifest.media_type):
        return [str(platform_lib.of_descriptor(d)) for d in parsed.get("manifests", [])]
    return [str(platform_lib.of_config(_read_config(endpoint, _blobs_of(manifest)[0])))]


def _wait_then_present(future):
    future.result()  # re-raises the transfer's failure for this image too
    return "present"


def _subset_index(index, children, media_type):
    subset = dict(index, manifests=children)
    return Manifest.of(json.dumps(subset, separators=(",", ":"), sort_keys=False).encode(), media_type)


def _read_config(source, descriptor):
    raw = b"".join(verified_blob(source, descriptor))
    return jsontext.parse(raw, f"the config {descriptor.get('digest')} of {source}")
