# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docker archives (the `docker save` tar): written for hosts without a registry, read as a copy source.

Hosts that cannot pull take images through `docker load` or `ctr images import`, and both read
this format: each layer stored as the uncompressed tar whose sha256 is the config's diff_id, and
no manifest. So writing one inflates every gzip layer; the compressed bytes are checked against
the manifest's digest and the inflated ones against the diff_id as they stream, through a
temporary file beside the archive, and the archive takes its name only once it is whole.

Read back, an archive gives a Docker schema 2 manifest derived from its config and its stored
layers, the same every time, so copying one archive twice changes nothing the second time. When
the archive also carries an OCI index (`docker save` of Docker 25 and later) the manifest stored
there is used instead, so the digests stay those of the image that was saved.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import posixpath
import re
import tarfile
import tempfile
import zlib

from ansible_collections.airlock.airgap.plugins.module_utils.integrity import atomic
from ansible_collections.airlock.airgap.plugins.module_utils import jsontext
from ansible_collections.airlock.airgap.plugins.module_utils.integrity import digest as digests
from ansible_collections.airlock.airgap.plugins.module_utils.oci import endpoints, mediatypes, platforms as platform_lib, reference as references
from ansible_collections.airlock.airgap.plugins.module_utils.oci.errors import NotFound, OciError, PlatformMissing
from ansible_collections.airlock.airgap.plugins.module_utils.oci.layout import blob_member
from ansible_collections.airlock.airgap.plugins.module_utils.oci.manifest import Manifest

MANIFEST_FILE = "manifest.json"
REPOSITORIES_FILE = "repositories"
OCI_INDEX_FILE = "index.json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
TAR_LAYERS = (DOCKER_LAYER, "application/vnd.oci.image.layer.v1.tar", "application/vnd.oci.image.layer.nondistributable.v1.tar")
GZIP_LAYERS = (DOCKER_LAYER_GZIP, "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
               "application/vnd.oci.image.layer.v1.tar+gzip", "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip")
GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
GZIP_WINDOW = 16 + zlib.MAX_WBITS  # tells zlib to expect a gzip header and trailer
BLOB_NAME = re.compile(r"blobs/(sha256|sha384|sha512)/([a-f0-9]+)")
READ_SIZE = 1024 * 1024
MAX_JSON = 64 * 1024 * 1024  # manifest.json, index.json, configs: read whole, so bounded
MAX_LINKS = 8


class ArchiveError(OciError):
    """A docker-archive that cannot be written or read as asked; the message says why and what to do."""


def file_path(path):
    """The archive's absolute path; refused when it names no file, where open() would only say 'Is a directory'."""
    form = "the docker-archive transport needs a file path: docker-archive:/path/file.tar[:NAME]"
    if not path:
        raise ArchiveError(f"docker-archive: names no file; {form}")
    path = os.path.abspath(path)
    if os.path.isdir(path):
        raise ArchiveError(f"docker-archive:{path} is a directory; {form}")
    return path


# --- writing ---------------------------------------------------------------------------


@dataclasses.dataclass
class _Image:
    """One image resolved for one platform: all its archive entry needs, before any layer moves."""

    endpoint: object
    repo_tags: list
    config_raw: bytes
    config_digest: str
    layers: list  # [(layer descriptor, diff_id)]


def write_archive(path, images, source, platform):
    """Write images, a list of (endpoint, repo_tags), for one platform as one docker-archive at path.

    source names where the images come from, for the summary. Every image is resolved before
    any layer moves, so a missing platform or a layer that cannot be stored fails at once.
    Returns a summary: images, layers written, layer references served by a layer already
    written (layers_shared), and the archive's bytes.
    """
    path = file_path(path)
    planned = [_plan(endpoint, repo_tags, platform) for endpoint, repo_tags in images]
    os.makedirs(os.path.dirname(path), exist_ok=True)
    # Archives are deterministic: one identical to the file already at path is discarded, so a re-run
    # leaves the archive (and its mtime) alone and reports no change.
    with atomic.replacing(path, prefix=f".{os.path.basename(path)}.partial-", keep_identical=True) as replacement:
        writer = _Writer(replacement.handle, os.path.dirname(path))
        for image in planned:
            writer.add(image)
        writer.close()
    return {"path": path, "source": source, "platform": str(platform), "images": len(planned), "changed": replacement.changed,
            "layers": len(writer.layers), "layers_shared": writer.shared, "bytes": os.path.getsize(path)}


class _Writer:
    """Adds images to an open docker-archive; each layer once, however many images share it."""

    def __init__(self, handle, scratch_dir):
        self.tar = tarfile.open(fileobj=handle, mode="w", format=tarfile.PAX_FORMAT)  # pylint: disable=consider-using-with
        self.scratch_dir = scratch_dir
        self.entries = {}  # config digest -> its manifest.json entry
        self.layers = {}  # diff_id -> member name
        self.shared = 0

    def add(self, image):
        names = [self._layer(image.endpoint, descriptor, diff_id) for descriptor, diff_id in image.layers]
        entry = self.entries.get(image.config_digest)
        if entry is None:
            config_name = digests.parse(image.config_digest)[1] + ".json"
            self._add_bytes(config_name, image.config_raw)
            entry = self.entries[image.config_digest] = {"Config": config_name, "RepoTags": [], "Layers": names}
        entry["RepoTags"] += [tag for tag in image.repo_tags if tag not in entry["RepoTags"]]

    def close(self):
        entries = list(self.entries.values())
        self._add_bytes(MANIFEST_FILE, _json_bytes(entries))
        self._add_bytes(REPOSITORIES_FILE, _json_bytes(_repositories(entries)))
        self.tar.close()

    def _layer(self, endpoint, descriptor, diff_id):
        """Inflate one layer into a temporary file (its size must precede it in the tar), then add it."""
        if diff_id in self.layers:
            self.shared += 1
            return self.layers[diff_id]
        name = digests.parse(diff_id)[1] + "/layer.tar"
        with tempfile.TemporaryFile(prefix=".layer-", dir=self.scratch_dir) as handle:  # no name: gone even after a crash
            for block in _diff(endpoint, descriptor, diff_id):
                handle.write(block)
            size = handle.tell()
            handle.seek(0)
            self.tar.addfile(tar_member(name, size), handle)
        self.layers[diff_id] = name
        return name

    def _add_bytes(self, name, data):
        self.tar.addfile(tar_member(name, len(data)), io.BytesIO(data))


def _plan(endpoint, repo_tags, platform):
    top = endpoint.root_manifest()
    manifest, from_index = endpoints.platform_manifest(endpoint, top, platform), mediatypes.is_index(top.media_type)
    parsed = manifest.parsed()
    config_raw = b"".join(endpoints.verified_blob(endpoint, parsed["config"]))
    config = jsontext.parse(config_raw, f"the config of {endpoint}")
    image_platform = platform_lib.of_config(config)
    if not from_index and not platform.matches(image_platform):
        raise PlatformMissing(f"{endpoint} is a single-platform image for {image_platform}, not {platform}; "
                              "write the archive for the platform the image has")
    diff_ids, layers = config.get("rootfs", {}).get("diff_ids", []), parsed.get("layers", [])
    if len(diff_ids) != len(layers):
        raise ArchiveError(f"{endpoint}: its config lists {len(diff_ids)} diff_ids for {len(layers)} layers; "
                           "a docker-archive needs one per layer")
    for layer in layers:
        _layer_kind(layer, endpoint)  # refuse what cannot be stored before anything is written
    return _Image(endpoint, [_repo_tag(name) for name in repo_tags], config_raw, parsed["config"]["digest"], list(zip(layers, diff_ids)))


def _layer_kind(descriptor, endpoint):
    """'gzip' or 'tar'; zstd and anything else is refused with the reason."""
    media_type = descriptor.get("mediaType", "")
    if media_type in GZIP_LAYERS:
        return "gzip"
    if media_type in TAR_LAYERS:
        return "tar"
    if "zstd" in media_type:
        raise ArchiveError(f"{endpoint}: layer {descriptor.get('digest')} is zstd-compressed ({media_type}); a docker-archive holds "
                           "uncompressed layers and Python has no zstd decompressor: copy this image to a registry or an OCI layout instead")
    raise ArchiveError(f"{endpoint}: layer {descriptor.get('digest')} has media type {media_type!r}, which is not a "
                       "tar, tar+gzip or tar+zstd layer, so it cannot go into a docker-archive")


def _diff(endpoint, descriptor, diff_id):
    """The layer's uncompressed tar: the stored bytes checked against the digest, the tar against the diff_id."""
    stored = endpoints.verified_blob(endpoint, descriptor)
    blocks = _gunzip(stored, f"{endpoint}: layer {descriptor['digest']}") if _layer_kind(descriptor, endpoint) == "gzip" else stored
    what = f"{endpoint}: uncompressed layer {descriptor['digest']} (diff_id)"
    yield from digests.Verifier(diff_id, what=what).through(blocks)


def _gunzip(chunks, what):
    """Inflate gzip (of one or more members) at most READ_SIZE at a time: a small blob can inflate to gigabytes."""
    inflater = zlib.decompressobj(GZIP_WINDOW)
    try:
        for block in chunks:
            pending, out = block, b""
            while pending or len(out) == READ_SIZE:  # a full piece may leave more output inside zlib
                if inflater.eof and not pending:
                    break
                if inflater.eof:  # one gzip member ended and another follows
                    inflater = zlib.decompressobj(GZIP_WINDOW)
                out = inflater.decompress(pending, READ_SIZE)
                yield out
                pending = inflater.unused_data if inflater.eof else inflater.unconsumed_tail
    except zlib.error as error:
        for _unused in chunks:
            pass  # a blob that is not the one its digest names is reported as such, not as bad gzip
        raise ArchiveError(f"{what} is not valid gzip ({error})") from error
    if not inflater.eof:
        raise ArchiveError(f"{what} ends inside its gzip stream: the blob is truncated")


def _repo_tag(name):
    """A name as `docker save` records it (`nats:2.12.6-alpine`, `ghcr.io/org/app:v1`): by tag, in short form."""
    parsed = references.parse(name)
    if parsed.tag is None:
        raise ArchiveError(f"{name}: a docker-archive records images by tag, and this names a digest only; give it a tag")
    return dataclasses.replace(parsed, digest=None).familiar


def _repositories(entries):
    """The legacy `repositories` file: short name -> tag -> directory of the image's top layer."""
    repositories = {}
    for entry in entries:
        for tag in entry["RepoTags"] if entry["Layers"] else []:
            name, _sep, version = tag.rpartition(":")
            repositories.setdefault(name, {})[version] = entry["Layers"][-1].split("/")[0]
    return repositories


def tar_member(name, size):
    """A member header with fixed owner, mode and time, so the same images always make the same archive bytes."""
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o644, 0
    return info


def _json_bytes(document):
    return json.dumps(document, separators=(",", ":")).encode()


# --- reading ---------------------------------------------------------------------------


class ArchiveEndpoint:
    """One image in a docker-archive: an oci.image.ImageSource, and nothing more (an archive holds no
    signatures, and is written whole by write_archive).

    The tar's headers are read once into an index; blobs are then read straight from their
    offsets, through a file handle of their own, so concurrent blob copies never share one.
    """

    def __init__(self, path, image_name=None):
        self.path = file_path(path)
        self.image_name = image_name
        self._members = _index(self.path)
        entry = self._choose(jsontext.parse(self._read(self._resolve(MANIFEST_FILE)), f"{MANIFEST_FILE} in {self.path}"))
        self.repo_tags = list(entry.get("RepoTags") or [])
        config_name = self._resolve(entry.get("Config", ""))
        config_raw = self._read(config_name)
        config_digest = digests.of_bytes(config_raw)
        diff_ids = jsontext.parse(config_raw, f"{config_name} in {self.path}").get("rootfs", {}).get("diff_ids", [])
        found = self._stored_manifest(config_digest, len(diff_ids)) or self._derived_manifest(entry, diff_ids, config_raw, config_name)
        self._root, self._blobs = found

    def __str__(self):
        return f"docker-archive:{self.path}" + (f":{self.image_name}" if self.image_name else "")

    @property
    def pinned_digest(self):
        return None

    def current_digest(self):
        return self._root.digest

    def root_manifest(self):
        return self._root

    def manifest(self, digest):
        return self._root if digest == self._root.digest else self._stored(digest)

    def blob_chunks(self, digest, size=None):  # pylint: disable=unused-argument
        name = self._blobs.get(digest)
        if name is None:
            raise NotFound(f"blob {digest} is not part of {self}")
        return self._chunks(name)

    # --- choosing the image and its manifest ----------------------------------------------

    def _choose(self, entries):
        names = ", ".join(tag for entry in entries for tag in entry.get("RepoTags") or []) or "untagged images only"
        if self.image_name is None:
            if len(entries) == 1:
                return entries[0]
            raise ArchiveError(f"{self.path} holds {len(entries)} images ({names}); name the one to copy")
        wanted = str(references.parse(self.image_name))
        for entry in entries:
            if wanted in {str(references.parse(tag)) for tag in entry.get("RepoTags") or []}:
                return entry
        raise NotFound(f"{self.image_name} is not in the docker-archive {self.path} (it has: {names})")

    def _stored_manifest(self, config_digest, layer_count):
        """(manifest, blobs) of the OCI manifest a Docker 25+ `docker save` stored for this image, if whole; else None."""
        if OCI_INDEX_FILE not in self._members:
            return None
        pending = list(jsontext.parse(self._read(self._resolve(OCI_INDEX_FILE)), f"{OCI_INDEX_FILE} in {self.path}").get("manifests", []))
        while pending:
            descriptor = pending.pop(0)
            if blob_member(descriptor.get("digest", "")) not in self._members:
                continue
            manifest = self._stored(descriptor["digest"])
            parsed = manifest.parsed()
            if mediatypes.is_index(manifest.media_type):
                pending += parsed.get("manifests", [])
                continue
            wanted = [parsed.get("config", {}), *parsed.get("layers", [])]
            blobs = {d.get("digest"): blob_member(d.get("digest", "")) for d in wanted}
            if wanted[0].get("digest") == config_digest and len(wanted) == layer_count + 1 and all(n in self._members for n in blobs.values()):
                return manifest, {digest: self._resolve(name) for digest, name in blobs.items()}
        return None  # Docker 25.0.0 stored manifests without their layers: derive one instead

    def _derived_manifest(self, entry, diff_ids, config_raw, config_name):
        """(manifest, blobs): a Docker schema 2 manifest over the layers as stored, the same for the same archive."""
        paths = entry.get("Layers") or []
        if len(paths) != len(diff_ids):
            raise ArchiveError(f"{self}: the image has {len(paths)} layers but its config lists {len(diff_ids)} diff_ids")
        config = {"mediaType": mediatypes.DOCKER_CONFIG, "size": len(config_raw), "digest": digests.of_bytes(config_raw)}
        blobs = {config["digest"]: config_name}
        layers = []
        for path, diff_id in zip(paths, diff_ids):
            name = self._resolve(path)
            media_type, digest = self._layer_identity(name, diff_id)
            blobs[digest] = name
            layers.append({"mediaType": media_type, "size": self._members[name].size, "digest": digest})
        raw = _json_bytes({"schemaVersion": 2, "mediaType": mediatypes.DOCKER_MANIFEST, "config": config, "layers": layers})
        return Manifest.of(raw, mediatypes.DOCKER_MANIFEST), blobs

    def _layer_identity(self, name, diff_id):
        """(media type, digest) of a stored layer: an uncompressed one is its own diff_id, checked as it is copied."""
        head = b"".join(self._chunks(name, len(ZSTD_MAGIC)))
        if head.startswith(ZSTD_MAGIC):
            raise ArchiveError(f"{self}: layer {name} is zstd-compressed, and Python has no zstd decompressor")
        if not head.startswith(GZIP_MAGIC):
            return DOCKER_LAYER, diff_id
        match = BLOB_NAME.fullmatch(name)
        if match:
            return DOCKER_LAYER_GZIP, f"{match.group(1)}:{match.group(2)}"
        hasher = hashlib.sha256()
        for block in self._chunks(name):
            hasher.update(block)
        return DOCKER_LAYER_GZIP, f"sha256:{hasher.hexdigest()}"

    def _stored(self, digest):
        """A manifest or index stored under blobs/, checked against its digest."""
        name = blob_member(digest)
        if name not in self._members:
            raise NotFound(f"manifest {digest} is not in the docker-archive {self.path}")
        raw = self._read(self._resolve(name))
        if digests.of_bytes(raw) != digest:
            raise digests.DigestMismatch(f"manifest {digest} in {self.path}", digest, digests.of_bytes(raw))
        return Manifest(raw, mediatypes.media_type_of(jsontext.parse(raw, f"manifest {digest} in {self.path}")), digest)

    # --- members -----------------------------------------------------------------------

    def _resolve(self, name):
        """The regular file a path names, following symbolic and hard links that stay inside the archive."""
        name = _inside(name, self.path)
        for _hop in range(MAX_LINKS):
            member = self._members.get(name)
            if member is None:
                raise ArchiveError(f"{self.path} has no member {name}: it is not a docker-archive (docker save), or it is damaged")
            if member.isfile():
                return name
            target = member.linkname if member.islnk() else posixpath.join(posixpath.dirname(name), member.linkname)
            name = _inside(posixpath.normpath(target), self.path)
        raise ArchiveError(f"{self.path}: {name} is behind more than {MAX_LINKS} links")

    def _read(self, name):
        """A small member (JSON) whole; anything the size of a layer is refused rather than held in memory."""
        if self._members[name].size > MAX_JSON:
            raise ArchiveError(f"{self.path}: {name} is {self._members[name].size} bytes, too big for the JSON document it should be")
        return b"".join(self._chunks(name))

    def _chunks(self, name, limit=None):
        member = self._members[name]
        remaining = member.size if limit is None else min(limit, member.size)
        with open(self.path, "rb") as handle:
            handle.seek(member.offset_data)
            while remaining:
                block = handle.read(min(READ_SIZE, remaining))
                if not block:
                    raise ArchiveError(f"{self.path} ends inside {name}: the archive is truncated")
                remaining -= len(block)
                yield block


def _index(path):
    """Every file and link member by its clean name, from the headers alone; every name is checked first."""
    members = {}
    try:
        with tarfile.open(path, "r:") as tar:
            for member in tar:
                name = _inside(member.name, path)
                if member.isfile() or member.issym() or member.islnk():
                    members[name] = member
    except tarfile.ReadError as error:
        raise ArchiveError(f"{path} is not a tar archive ({error}); a docker-archive is a plain tar: decompress a .tar.gz first") from error
    return members


def _inside(name, archive):
    """A member path without './'; absolute paths and '..' are refused, so nothing read can point outside the archive."""
    if name.startswith("/") or ".." in name.split("/"):
        raise ArchiveError(f"{archive}: the member path {name!r} is absolute or contains '..'; refusing an archive that points outside itself")
    return posixpath.normpath(name)
