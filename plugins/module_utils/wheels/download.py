# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Python packages for the enclave: pip download for its platform, then a folder pip installs from offline.

pip downloads into a scratch folder; each file is checked to fit the target (wheels) and hashed,
and only then moved beside the others. The folder gets ``requirements.txt`` pinning every
distribution by version and sha256 (for ``pip install --no-index --find-links DIR --require-hashes
-r DIR/requirements.txt``) and ``simple/``, a PEP 503 index any static web server or S3 bucket
serves. Each file's sha256 is kept in the lock's ``wheels`` section, which pins it: an index that
later serves other bytes under the same file name is refused.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

from ansible_collections.airlock.airgap.plugins.module_utils.errors import AirlockError
from ansible_collections.airlock.airgap.plugins.module_utils.files import transfer
from ansible_collections.airlock.airgap.plugins.module_utils.integrity import lockfile
from ansible_collections.airlock.airgap.plugins.module_utils.integrity.confined import TEMPORARY_PREFIX
from ansible_collections.airlock.airgap.plugins.module_utils.integrity.atomic import write_text_if_changed
from ansible_collections.airlock.airgap.plugins.module_utils.wheels.target import TargetError, distribution_of

SECTION = "wheels"
REQUIREMENTS = "requirements.txt"
INDEX = "simple"
PIP_TIMEOUT = 1800
DISTRIBUTIONS = (".whl", ".tar.gz", ".zip")
RECORDS = "records.json"


class WheelError(AirlockError):
    """Packages could not be downloaded for the target, or do not fit it; the message names them and the fix."""


def download(requirements, sdists, folder, target, lock_file=None, check_mode=False, section=SECTION, cache_dir=None, refresh=False,
             network=(5, 300)):
    """Download the requirements (wheels for the target only) and sdists into folder; (records, changed).

    With cache_dir, the files of an earlier download of the same requirements for the same target are reused (each verified
    again), unless refresh: a resolution stays as it was, like a lock, until it is refreshed. network is (retries, timeout)
    for pip, which owns its own HTTP (the `retries` and `timeout` options set it as for every other client)."""
    if not requirements and not sdists:
        raise WheelError("no requirements given: name the packages (name==version, or name) to carry")
    scratch = tempfile.mkdtemp(prefix=TEMPORARY_PREFIX)  # not in folder: a run that changes nothing leaves it untouched
    try:
        cache_entry = _cache_entry(cache_dir, requirements, sdists, target)
        records = _from_cache(cache_entry, scratch, target) if cache_entry and not refresh else None
        if records is None:
            records = _from_index(requirements, sdists, scratch, target, ["--retries", str(network[0]), "--timeout", str(network[1])])
            if cache_entry and not check_mode:
                _store_in_cache(scratch, records, cache_entry)
        _refuse_repinned(records, _locked(lock_file, section), lock_file)
        changed = _place(scratch, folder, records, check_mode)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    changed = write_text_if_changed(os.path.join(folder, REQUIREMENTS), render_requirements(records), check_mode) or changed
    changed = write_index(folder, records, check_mode) or changed
    if lock_file:
        changed = lockfile.update(lock_file, lambda lock: lock.__setitem__(section, records), check_mode) or changed
    return records, changed


def _from_index(requirements, sdists, scratch, target, network_options):
    _pip_download(requirements, scratch, network_options + ["--only-binary=:all:"] + target.pip_arguments())
    if sdists:
        _pip_download(sdists, scratch, network_options + ["--no-deps", "--no-binary=:all:"])
    return [_record(scratch, name, target) for name in sorted(os.listdir(scratch))]


def _cache_entry(cache_dir, requirements, sdists, target):
    """The cache folder of this exact resolution: the requirements, sdists and target, hashed."""
    if not cache_dir:
        return None
    inputs = json.dumps({"requirements": sorted(requirements), "sdists": sorted(sdists), "target": dataclasses.asdict(target)}, sort_keys=True)
    return os.path.join(cache_dir, hashlib.sha256(inputs.encode()).hexdigest()[:32])


def _from_cache(entry, scratch, target):
    """The records of a cached resolution, its files copied into scratch and verified again; None when there is none that verifies."""
    try:
        with open(os.path.join(entry, RECORDS), encoding="utf-8") as handle:
            cached = json.load(handle)
        for record in cached:
            shutil.copyfile(os.path.join(entry, transfer.check_name(record["file"])), os.path.join(scratch, record["file"]))
        records = [_record(scratch, record["file"], target) for record in cached]
    except (OSError, ValueError, KeyError, TypeError, transfer.FileError, WheelError):
        return None
    return records if records == cached else None


def _store_in_cache(scratch, records, entry):
    """Keep this resolution's files for the next run (written aside, then renamed into place)."""
    staging = tempfile.mkdtemp(prefix=TEMPORARY_PREFIX, dir=_made(os.path.dirname(entry)))
    try:
        for record in records:
            shutil.copyfile(os.path.join(scratch, record["file"]), os.path.join(staging, record["file"]))
        write_text_if_changed(os.path.join(staging, RECORDS), json.dumps(records, indent=1))
        shutil.rmtree(entry, ignore_errors=True)
        os.replace(staging, entry)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _made(folder):
    os.makedirs(folder, exist_ok=True)
    return folder


def _pip_download(requirements, scratch, options):
    command = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--no-input", "--progress-bar", "off",
               "--dest", scratch] + options + list(requirements)
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT, check=False)
    except subprocess.TimeoutExpired as error:
        raise WheelError(f"pip download of {', '.join(requirements)} took more than {PIP_TIMEOUT} s: check the package index") from error
    if completed.returncode != 0:
        detail = "\n".join(line for line in completed.stderr.splitlines() if line.startswith("ERROR"))[-2000:] or completed.stderr[-2000:]
        raise WheelError(f"pip download of {', '.join(requirements)} failed for the target ({' '.join(options)}): {detail.strip()}; "
                         "pick versions that publish wheels for that platform and Python, or list the package under sdists to carry "
                         "its source (built in the enclave)")


def _record(scratch, name, target):
    """One downloaded file, checked to fit the target and hashed: its lock record."""
    path = os.path.join(scratch, name)
    try:
        if name.endswith(".whl"):
            target.check_wheel(name)
        project, version, kind = distribution_of(name)
    except TargetError as error:
        raise WheelError(str(error)) from error
    with open(path, "rb") as handle:
        size, sha256 = transfer.hash_open(handle)
    return {"file": name, "project": project, "version": version, "kind": kind,
            "sha256": sha256, "size": size}


def _locked(lock_file, section):
    """file name -> sha256 the lock records (a lock that cannot be read is an error, never taken as empty)."""
    if not lock_file or not os.path.isfile(lock_file):
        return {}
    try:
        with open(lock_file, encoding="utf-8") as handle:
            listed = json.load(handle).get(section, [])
    except (OSError, ValueError, AttributeError) as error:
        raise WheelError(f"{lock_file} is not a readable lock ({error}): remove it or write it again") from error
    return {entry.get("file"): entry.get("sha256") for entry in listed if isinstance(entry, dict)} if isinstance(listed, list) else {}


def _refuse_repinned(records, locked, lock_file):
    changed = [record["file"] for record in records if locked.get(record["file"]) not in (None, record["sha256"])]
    if changed:
        raise WheelError(f"the index now serves other bytes for {', '.join(changed)} than {lock_file} records: a file of the same "
                         "name must never change; find out why, then remove those entries from the lock to accept the new bytes")


def _place(scratch, folder, records, check_mode):
    """Copy each file to its name, verified again on the way (one that holds the same bytes is kept); True when any was."""
    changed = False
    for record in records:
        final = os.path.join(folder, record["file"])
        if transfer.holds(final, record["sha256"]):
            continue
        changed = True
        if not check_mode:
            partial = transfer.Partial(folder, record["file"], resume=False)
            transfer.fetch_local(partial, os.path.join(scratch, record["file"]))
            partial.commit(record["sha256"], os.path.join(scratch, record["file"]))
    return _prune(folder, {record["file"] for record in records}, check_mode) or changed


def _prune(folder, kept, check_mode):
    """Remove distributions of earlier runs that the requirements no longer name, so they are not carried."""
    stale = [name for name in os.listdir(folder) if name.endswith(DISTRIBUTIONS) and name not in kept] if os.path.isdir(folder) else []
    for name in [] if check_mode else stale:
        os.unlink(os.path.join(folder, name))
    return bool(stale)


def read_requirements(path):
    """The requirement specifiers of a requirements file (comments and blank lines skipped); a pip option is refused, as it
    could change the target or the index."""
    found = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            text = line.split(" #")[0].strip()
            if not text or text.startswith("#"):
                continue
            if text.startswith("-"):
                raise WheelError(f"{path} line {number}: {text!r} is a pip option; only requirement specifiers are accepted")
            found.append(text)
    return found


def render_requirements(records):
    """name==version with every sha256 of its files: what pip install --require-hashes takes."""
    lines = {}
    for record in records:
        lines.setdefault(f"{record['project']}=={record['version']}", []).append(record["sha256"])
    return "".join(f"{pin}" + "".join(f" --hash=sha256:{sha256}" for sha256 in sorted(hashes)) + "\n" for pin, hashes in sorted(lines.items()))


def write_index(folder, records, check_mode=False):
    """simple/index.html and simple/PROJECT/index.html (PEP 503) linking to the files with their sha256."""
    projects = {}
    for record in records:
        projects.setdefault(record["project"], []).append(record)
    changed = write_text_if_changed(os.path.join(folder, INDEX, "index.html"), _page(
        "Simple index", [(f"{project}/", project) for project in sorted(projects)]), check_mode)
    for project, files in sorted(projects.items()):
        links = [(f"../../{record['file']}#sha256={record['sha256']}", record["file"]) for record in sorted(files, key=lambda r: r["file"])]
        changed = write_text_if_changed(os.path.join(folder, INDEX, project, "index.html"), _page(f"Links for {project}", links),
                                        check_mode) or changed
    return changed


def _page(title, links):
    anchors = "".join(f'    <a href="{href}">{text}</a><br/>\n' for href, text in links)
    return f"<!DOCTYPE html>\n<html>\n  <head><title>{title}</title></head>\n  <body>\n{anchors}  </body>\n</html>\n"
