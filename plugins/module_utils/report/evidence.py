# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What crossed the gap and what proves it, gathered from the bundle's lock, its image layout, the volumes' index and
the verification reports into one summary: the data of the HTML transfer report, the JSON report and AWX's set_stats.

All of it came across the gap, so every document is checked for the shape it must have before anything is read."""

from __future__ import annotations

import json
import os

from ansible_collections.airlock.airgap.plugins.module_utils import jsontext
from ansible_collections.airlock.airgap.plugins.module_utils.errors import AirlockError
from ansible_collections.airlock.airgap.plugins.module_utils.integrity import bundle_index
from ansible_collections.airlock.airgap.plugins.module_utils.integrity import digest as digests
from ansible_collections.airlock.airgap.plugins.module_utils.oci import mediatypes
from ansible_collections.airlock.airgap.plugins.module_utils.oci.layout import Layout, NotFound

FILE_SECTIONS = ("files", "wheels", "datasets")


class ReportError(AirlockError, ValueError):
    """A lock or report that is missing or not what the collection writes."""


def _load_json(path, what):
    document = jsontext.read_written(path, ReportError, f"{what} {path} is missing: give the path the role wrote it to",
                                     f"{what} {path} cannot be read as JSON ({{}}): write it again from its source")
    if not isinstance(document, dict):
        raise ReportError(f"{what} {path} is not a JSON object: it is not what the collection writes")
    return document


def _entries(document, section, path):
    entries = document.get(section, [])
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        raise ReportError(f"{path}: '{section}' is not a list of objects: the lock is damaged or not the collection's")
    return entries


def _text(value):
    return "" if value is None else str(value)


def _int(value):
    """A size as a count of bytes; anything that is not one counts nothing (the report shows 0, never a traceback)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _image_sizes(layout, digest):
    """{platform: bytes of config and layers} of one image in the bundle's layout; {} when it is not there."""
    try:
        top = layout.read_manifest(digest)
    except (NotFound, ValueError):
        return {}
    document = json.loads(top.raw)
    if not mediatypes.is_index(top.media_type):
        return {"": _manifest_bytes(document)}
    sizes = {}
    for entry in document.get("manifests", []):
        if not isinstance(entry, dict):
            continue
        platform = entry.get("platform") if isinstance(entry.get("platform"), dict) else {}
        name = "/".join(part for part in (platform.get("os"), platform.get("architecture"), platform.get("variant")) if part)
        try:
            sizes[name or entry.get("digest", "")] = _manifest_bytes(json.loads(layout.read_manifest(entry["digest"]).raw))
        except (NotFound, ValueError, KeyError):
            continue
    return sizes


def _manifest_bytes(document):
    blobs = [document.get("config") or {}] + list(document.get("layers") or [])
    return sum(_int(blob.get("size")) for blob in blobs if isinstance(blob, dict))


def _listed_platforms(entry):
    platforms = entry.get("platforms")
    return [_text(p) for p in platforms if p] if isinstance(platforms, list) else []


def _images(lock, lock_path, bundle_dir):
    layout_dir = os.path.join(bundle_dir, "images")
    layout = Layout(layout_dir) if os.path.isfile(os.path.join(layout_dir, "oci-layout")) else None
    images = []
    for entry in _entries(lock, "images", lock_path):
        sizes = _image_sizes(layout, entry["digest"]) if layout and isinstance(entry.get("digest"), str) else {}
        images.append({"source": _text(entry.get("source")), "digest": _text(entry.get("digest")),
                       "source_digest": _text(entry.get("source_digest")),
                       "platforms": _listed_platforms(entry) or sorted(p for p in sizes if p),
                       "bytes": sum(sizes.values())})
    return sorted(images, key=lambda image: image["source"])


def _dependencies(entry):
    """'nats 1.3.0' for every dependency of a chart, all the way down."""
    found = []
    for dependency in entry.get("dependencies") or []:
        if isinstance(dependency, dict):
            found.append(f"{_text(dependency.get('name'))} {_text(dependency.get('version'))}".strip())
            found.extend(_dependencies(dependency))
    return found


def _charts(lock, lock_path):
    return [{"name": _text(c.get("name")), "version": _text(c.get("version")), "digest": _text(c.get("digest")),
             "source": _text(c.get("source")), "dependencies": _dependencies(c)} for c in _entries(lock, "charts", lock_path)]


def _models(lock, lock_path):
    models = []
    for model in _entries(lock, "models", lock_path):
        files = [f for f in model.get("files") or [] if isinstance(f, dict)]
        models.append({"name": _text(model.get("name")), "revision": _text(model.get("revision")), "commit": _text(model.get("commit")),
                       "source": _text(model.get("source")), "bytes": _int(model.get("bytes")) or sum(_int(f.get("size")) for f in files),
                       "files": [{"path": _text(f.get("path")), "size": _int(f.get("size")), "sha256": _text(f.get("sha256"))}
                                 for f in files]})
    return models


def _files(lock, lock_path):
    files = []
    for section in FILE_SECTIONS:
        for entry in _entries(lock, section, lock_path):
            files.append({"kind": section, "name": _text(entry.get("path") or entry.get("name") or entry.get("file") or entry.get("url")),
                          "source": _text(entry.get("url") or entry.get("source")), "sha256": _text(entry.get("sha256")),
                          "bytes": _int(entry.get("size")) or _int(entry.get("bytes"))})
    return files


def _volumes(volumes_dir, name):
    if not volumes_dir or not os.path.exists(os.path.join(volumes_dir, name + bundle_index.INDEX_SUFFIX)):
        return None
    try:
        return bundle_index.load(os.path.join(volumes_dir, name + bundle_index.INDEX_SUFFIX), name)
    except bundle_index.BundleIndexError as error:
        raise ReportError(str(error)) from error


def _verification(path, what):
    if not path:
        return None
    report = _load_json(path, what)
    return {"result": _text(report.get("result")), "checked_at": _text(report.get("checked_at")),
            "where": _text(report.get("root") or report.get("index")), "problem": _text(report.get("problem")),
            "sums_file_sha256": _text(report.get("sums_file_sha256")), "checked": _int(report.get("checked")),
            "volumes": [{"name": _text(v.get("name")), "sha256": _text(v.get("sha256")), "size": _int(v.get("size"))}
                        for v in report.get("volumes") or [] if isinstance(v, dict)]}


def _digest_of(path):
    return digests.of_file(path) if os.path.isfile(path) else ""


def collect(bundle_dir, name, volumes_dir=None, volume_report=None, bundle_report=None, audit=None):  # pylint: disable=too-many-arguments
    """The summary of one bundle: contents from its lock and layout, evidence from the index and the reports."""
    lock_path = os.path.join(bundle_dir, bundle_index.LOCK_NAME)
    lock = _load_json(lock_path, "the bundle's lock")
    images, charts, models, files = _images(lock, lock_path, bundle_dir), _charts(lock, lock_path), _models(lock, lock_path), _files(lock, lock_path)
    volumes = _volumes(volumes_dir, name)
    platforms = sorted({p for image in images for p in image["platforms"]})
    return {
        "name": name,
        "images": images, "charts": charts, "models": models, "files": files,
        "totals": {"images": len(images), "charts": len(charts), "models": len(models), "files": len(files),
                   "platforms": platforms, "image_bytes": sum(i["bytes"] for i in images),
                   "model_bytes": sum(m["bytes"] for m in models), "file_bytes": sum(f["bytes"] for f in files),
                   "volumes": len(volumes["volumes"]) if volumes else 0, "volume_bytes": volumes["bytes"] if volumes else 0},
        "evidence": {"lock_sha256": _digest_of(lock_path),
                     "sums_sha256": _digest_of(os.path.join(bundle_dir, bundle_index.SUMS_NAME)),
                     "packed_at": _text(volumes.get("created")) if volumes else "",
                     "volumes": [{"name": v["name"], "size": v["size"], "sha256": "sha256:" + v["sha256"]} for v in volumes["volumes"]]
                     if volumes else [],
                     "volume_verification": _verification(volume_report, "the volumes' verification report"),
                     "bundle_verification": _verification(bundle_report, "the bundle's verification report")},
        "audit": audit,
    }
