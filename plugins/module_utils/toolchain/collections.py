# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Collection tarballs for the enclave: this collection and every collection it depends on.

``ansible-galaxy collection install`` reaches for Galaxy to resolve dependencies; the enclave has
none, so each collection travels as a tarball and is installed from the tarballs alone. A source
checkout (``galaxy.yml``) is built with ``ansible-galaxy collection build``. An installed collection
(``MANIFEST.json`` and ``FILES.json``, as Galaxy or the ``ansible`` package installs it) is packed as
it is on disk, every file first checked against its ``FILES.json`` sha256; ``FILES.json`` then
lists the files present (the ``ansible`` package drops tests and docs) so the installer finds each.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import traceback

from ansible_collections.airlock.airgap.plugins.module_utils.errors import AirlockError

try:
    import yaml
    YAML_IMPORT_ERROR = None
except ImportError:
    yaml = None
    YAML_IMPORT_ERROR = traceback.format_exc()

BUILD_TIMEOUT = 600


class CollectionError(AirlockError):
    """A collection could not be found, checked or packed; the message names it and the fix."""


def identity(root):
    """(namespace, name, version, dependencies) of a checkout or an installed collection."""
    galaxy = os.path.join(root, "galaxy.yml")
    if os.path.isfile(galaxy):
        with open(galaxy, encoding="utf-8") as handle:
            info = yaml.safe_load(handle) or {}
    else:
        info = _manifest(root)["collection_info"]
    try:
        return info["namespace"], info["name"], str(info["version"]), dict(info.get("dependencies") or {})
    except (KeyError, TypeError) as error:
        raise CollectionError(f"{root} has no namespace, name and version in galaxy.yml or MANIFEST.json: is it a collection?") from error


def _manifest(root):
    try:
        with open(os.path.join(root, "MANIFEST.json"), encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError) as error:
        raise CollectionError(f"{root} is neither a collection checkout (galaxy.yml) nor an installed collection (MANIFEST.json): {error}") from error


def find(fqcn, search_paths):
    """The folder of collection NAMESPACE.NAME under the first of search_paths (each holding ansible_collections/) that has it."""
    namespace, name = fqcn.split(".", 1)
    for base in search_paths:
        for candidate in (os.path.join(base, "ansible_collections", namespace, name), os.path.join(base, namespace, name)):
            if os.path.isfile(os.path.join(candidate, "MANIFEST.json")) or os.path.isfile(os.path.join(candidate, "galaxy.yml")):
                return os.path.realpath(candidate)
    raise CollectionError(f"the collection {fqcn}, a dependency, is not installed in {', '.join(search_paths)}: install it on the "
                          "connected side (ansible-galaxy collection install), or give the path that holds it")


def closure(root, search_paths):
    """This collection and every collection it needs, each once: [(fqcn, folder)]."""
    found, pending = {}, [root]
    while pending:
        folder = pending.pop()
        namespace, name, _version, dependencies = identity(folder)
        if f"{namespace}.{name}" in found:
            continue
        found[f"{namespace}.{name}"] = folder
        pending.extend(find(dependency, search_paths) for dependency in sorted(dependencies) if dependency not in found)
    return sorted(found.items())


def tarball_name(root):
    namespace, name, version, _dependencies = identity(root)
    return f"{namespace}-{name}-{version}.tar.gz"


def pack(root, scratch):
    """The collection's tarball, written in scratch; its path."""
    if os.path.isfile(os.path.join(root, "galaxy.yml")):
        return _build(root, scratch)
    return _pack_installed(root, os.path.join(scratch, tarball_name(root)))


def _build(root, scratch):
    command = [sys.executable, "-m", "ansible.cli.galaxy", "collection", "build", root, "--output-path", scratch, "--force"]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=BUILD_TIMEOUT, check=False)
    path = os.path.join(scratch, tarball_name(root))
    if completed.returncode != 0 or not os.path.isfile(path):
        raise CollectionError(f"ansible-galaxy collection build {root} failed: {(completed.stderr or completed.stdout).strip()[-2000:]}")
    return path


def _pack_installed(root, path):
    """A reproducible tarball of an installed collection: its files as listed and verified, MANIFEST.json and FILES.json first."""
    manifest = _manifest(root)
    with open(os.path.join(root, "FILES.json"), encoding="utf-8") as handle:
        listing = json.load(handle)
    present = [entry for entry in listing["files"] if entry["name"] == "." or os.path.lexists(os.path.join(root, entry["name"]))]
    for entry in present:
        if entry["ftype"] == "file" and _sha256_of(os.path.join(root, entry["name"])) != entry["chksum_sha256"]:
            raise CollectionError(f"{root}/{entry['name']} does not match its sha256 in FILES.json: the installed collection was changed; "
                                  "install it again before carrying it")
    files_json = json.dumps(dict(listing, files=present), indent=4).encode()
    manifest["file_manifest_file"] = dict(manifest["file_manifest_file"], chksum_sha256=hashlib.sha256(files_json).hexdigest())
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as compressed:
        with tarfile.open(fileobj=compressed, mode="w", format=tarfile.GNU_FORMAT) as archive:
            _add_bytes(archive, "MANIFEST.json", json.dumps(manifest, indent=4).encode())
            _add_bytes(archive, "FILES.json", files_json)
            for entry in present:
                if entry["name"] != ".":
                    _add_path(archive, root, entry)
    return path


def _sha256_of(path):
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _add_bytes(archive, name, data):
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o644
    archive.addfile(info, io.BytesIO(data))


def _add_path(archive, root, entry):
    path = os.path.join(root, entry["name"])
    info = tarfile.TarInfo(entry["name"])
    if entry["ftype"] == "dir":
        info.type, info.mode = tarfile.DIRTYPE, 0o755
        archive.addfile(info)
        return
    info.size = os.path.getsize(path)
    info.mode = 0o755 if os.access(path, os.X_OK) else 0o644
    with open(path, "rb") as handle:
        archive.addfile(info, handle)


def same_content(first, second):
    """Whether two collection tarballs hold the same MANIFEST.json and FILES.json (a build's bytes differ by timestamps only)."""
    try:
        return _listing(first) == _listing(second)
    except (OSError, tarfile.TarError, KeyError):
        return False


def _listing(path):
    with tarfile.open(path, "r:gz") as archive:
        return tuple(archive.extractfile(name).read() for name in ("MANIFEST.json", "FILES.json"))


def scratch_folder():
    return tempfile.mkdtemp(prefix=".airlock-partial-collections-")
