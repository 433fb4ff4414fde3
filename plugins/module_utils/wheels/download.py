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

import json
import os
import shutil
import subprocess
import sys
import tempfile

from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename

from ansible_collections.airlock.airgap.plugins.module_utils.files import transfer
from ansible_collections.airlock.airgap.plugins.module_utils.integrity import lockfile
from ansible_collections.airlock.airgap.plugins.module_utils.integrity.confined import TEMPORARY_PREFIX
from ansible_collections.airlock.airgap.plugins.module_utils.integrity.sums import write_text_if_changed
from ansible_collections.airlock.airgap.plugins.module_utils.wheels.target import TargetError

SECTION = "wheels"
REQUIREMENTS = "requirements.txt"
INDEX = "simple"
PIP_TIMEOUT = 1800
DISTRIBUTIONS = (".whl", ".tar.gz", ".zip")


class WheelError(Exception):
    """Packages could not be downloaded for the target, or do not fit it; the message names them and the fix."""


def download(requirements, sdists, folder, target, lock_file=None, check_mode=False, section=SECTION):
    """Download the requirements (wheels for the target only) and sdists into folder; (records, changed)."""
    if not requirements and not sdists:
        raise WheelError("no requirements given: name the packages (name==version, or name) to carry")
    scratch = tempfile.mkdtemp(prefix=TEMPORARY_PREFIX, dir=_scratch_parent(folder, check_mode))
    try:
        _pip_download(requirements, scratch, ["--only-binary=:all:"] + target.pip_arguments())
        if sdists:
            _pip_download(sdists, scratch, ["--no-deps", "--no-binary=:all:"])
        records = [_record(scratch, name, target) for name in sorted(os.listdir(scratch))]
        _refuse_repinned(records, _locked(lock_file, section), lock_file)
        changed = _place(scratch, folder, records, check_mode)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    changed = write_text_if_changed(os.path.join(folder, REQUIREMENTS), render_requirements(records), check_mode) or changed
    changed = write_index(folder, records, check_mode) or changed
    if lock_file:
        changed = lockfile.update(lock_file, lambda lock: lock.__setitem__(section, records), check_mode) or changed
    return records, changed


def _scratch_parent(folder, check_mode):
    """Where pip's scratch folder goes: inside the destination (one file system, so moves are renames), but never
    created there in check mode."""
    if check_mode:
        return None
    os.makedirs(folder, exist_ok=True)
    return folder


def _pip_download(requirements, scratch, options):
    command = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--no-input", "--progress-bar", "off",
               "--dest", scratch] + options + list(requirements)
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise WheelError(f"pip download of {', '.join(requirements)} took more than {PIP_TIMEOUT} s: check the package index") from None
    if completed.returncode != 0:
        detail = "\n".join(line for line in completed.stderr.splitlines() if line.startswith("ERROR"))[-2000:] or completed.stderr[-2000:]
        raise WheelError(f"pip download of {', '.join(requirements)} failed for the target ({' '.join(options)}): {detail.strip()}; "
                         "pick versions that publish wheels for that platform and Python, or list the package under sdists to carry "
                         "its source (built in the enclave)")


def _record(scratch, name, target):
    """One downloaded file, checked to fit the target and hashed: its lock record."""
    path = os.path.join(scratch, name)
    if name.endswith(".whl"):
        try:
            target.check_wheel(name)
        except TargetError as error:
            raise WheelError(str(error)) from None
        project, version = parse_wheel_filename(name)[:2]
        kind = "wheel"
    else:
        project, version = parse_sdist_filename(name)
        kind = "sdist"
    with open(path, "rb") as handle:
        size, sha256 = transfer.hash_open(handle)
    return {"file": name, "project": str(canonicalize_name(project)), "version": str(version), "kind": kind,
            "sha256": sha256, "size": size}


def _locked(lock_file, section):
    """file name -> sha256 the lock records (a lock that cannot be read is an error, never taken as empty)."""
    if not lock_file or not os.path.isfile(lock_file):
        return {}
    try:
        with open(lock_file, encoding="utf-8") as handle:
            listed = json.load(handle).get(section, [])
    except (OSError, ValueError, AttributeError) as error:
        raise WheelError(f"{lock_file} is not a readable lock ({error}): remove it or write it again") from None
    return {entry.get("file"): entry.get("sha256") for entry in listed if isinstance(entry, dict)} if isinstance(listed, list) else {}


def _refuse_repinned(records, locked, lock_file):
    changed = [record["file"] for record in records if locked.get(record["file"]) not in (None, record["sha256"])]
    if changed:
        raise WheelError(f"the index now serves other bytes for {', '.join(changed)} than {lock_file} records: a file of the same "
                         "name must never change; find out why, then remove those entries from the lock to accept the new bytes")


def _place(scratch, folder, records, check_mode):
    """Move each verified file to its name (one that holds the same bytes is kept); True when any moved."""
    changed = False
    for record in records:
        final = os.path.join(folder, record["file"])
        if transfer.holds(final, record["sha256"]):
            continue
        changed = True
        if not check_mode:
            os.chmod(os.path.join(scratch, record["file"]), 0o644)
            os.replace(os.path.join(scratch, record["file"]), final)
    return _prune(folder, {record["file"] for record in records}, check_mode) or changed


def _prune(folder, kept, check_mode):
    """Remove distributions of earlier runs that the requirements no longer name, so they are not carried."""
    stale = [name for name in os.listdir(folder) if name.endswith(DISTRIBUTIONS) and name not in kept] if os.path.isdir(folder) else []
    for name in [] if check_mode else stale:
        os.unlink(os.path.join(folder, name))
    return bool(stale)


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
