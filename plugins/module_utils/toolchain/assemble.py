# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The bundle's toolchain/: everything needed to run this collection in an enclave that has only python3.

    collections/   this collection's tarball and its collection dependencies'
    wheels/        ansible-core and every Python library the collections need, for the enclave's Python
                   and platform, with a hashed requirements.txt (and a PEP 503 simple/ index)
    bin/helm       a helm binary for the enclave's architecture (checked from its ELF header)
    install.sh     installs it all into a virtual environment, offline
    SHA256SUMS     every file above, for sha256sum -c before anything runs
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil

from ansible_collections.airlock.airgap.plugins.module_utils.errors import AirlockError
from ansible_collections.airlock.airgap.plugins.module_utils.files import transfer
from ansible_collections.airlock.airgap.plugins.module_utils.integrity import atomic, lockfile, sums
from ansible_collections.airlock.airgap.plugins.module_utils.integrity.confined import TEMPORARY_PREFIX
from ansible_collections.airlock.airgap.plugins.module_utils.toolchain import collections
from ansible_collections.airlock.airgap.plugins.module_utils.toolchain.install_script import render as render_install_script
from ansible_collections.airlock.airgap.plugins.module_utils.wheels import download

LINUX_PLATFORM = re.compile(r"^(?:manylinux\d+|manylinux_\d+_\d+|musllinux_\d+_\d+|linux)_(?P<arch>\w+)$")
# ELF e_machine of each wheel architecture.
LOCK_SECTION = "toolchain"
ELF_MACHINES = {"x86_64": 62, "aarch64": 183, "ppc64le": 21, "s390x": 22, "i686": 3, "armv7l": 40}


class ToolchainError(AirlockError):
    """The toolchain could not be assembled; the message names the part and the fix."""


@dataclasses.dataclass(frozen=True)
class Recipe:  # pylint: disable=too-many-instance-attributes
    dest: str
    collection_root: str
    search_paths: tuple
    target: object
    ansible_core: str
    extra_requirements: tuple = ()
    helm: str = None
    lock_file: str = None
    cache_dir: str = None
    refresh: bool = False
    check_mode: bool = False
    network: tuple = (5, 300)  # (retries, timeout) for pip


def assemble(recipe):
    """Write the toolchain into recipe.dest; a summary with changed."""
    architecture = architecture_of(recipe.target.platforms)
    carried = collections.closure(recipe.collection_root, recipe.search_paths)
    collection_files, changed = place_collections(carried, os.path.join(recipe.dest, "collections"), recipe.check_mode)
    requirements = [recipe.ansible_core] + list(recipe.extra_requirements)
    for _fqcn, folder in carried:
        listed = os.path.join(folder, "requirements.txt")
        requirements += download.read_requirements(listed) if os.path.isfile(listed) else []
    wheels, wheels_changed = download.download(sorted(set(requirements)), [], os.path.join(recipe.dest, "wheels"), recipe.target,
                                               check_mode=recipe.check_mode, cache_dir=recipe.cache_dir, refresh=recipe.refresh,
                                               network=recipe.network)
    helm_changed = place_helm(recipe.helm, architecture, os.path.join(recipe.dest, "bin"), recipe.check_mode)
    script_changed = atomic.write_text_if_changed(os.path.join(recipe.dest, "install.sh"),
                                                  render_install_script(recipe.target.python_version), recipe.check_mode)
    changed = changed or wheels_changed or helm_changed or script_changed
    sums_changed, files, size = (changed, 0, 0) if recipe.check_mode else sums.write(recipe.dest)
    if recipe.lock_file and not recipe.check_mode:
        sums_changed = lockfile.update(recipe.lock_file, lambda lock: lock.__setitem__(LOCK_SECTION, locked_files(recipe.dest))) or sums_changed
    return {"changed": changed or sums_changed, "collections": collection_files, "wheels": len(wheels),
            "requirements": sorted(set(requirements)), "files": files, "bytes": size, "architecture": architecture}


def locked_files(dest):
    """The toolchain's files as the bundle's lock records them (path from the bundle's root, sha256, size), so what the
    enclave holds already can be told from what it lacks."""
    listed = sums.read(os.path.join(dest, sums.SUMS_NAME))
    folder = os.path.basename(os.path.normpath(dest))
    return [{"path": f"{folder}/{path}", "sha256": listed[path], "size": os.path.getsize(os.path.join(dest, path))} for path in sorted(listed)]


def architecture_of(platforms):
    """The one CPU architecture the platform tags name (the toolchain is for Linux, where helm and the wheels must agree)."""
    matches = [LINUX_PLATFORM.match(platform) for platform in platforms]
    found = {match["arch"] for match in matches if match}
    if not all(matches) or len(found) != 1 or not found <= set(ELF_MACHINES):
        raise ToolchainError(f"toolchain platform {list(platforms)}: give Linux wheel platform tags of one architecture "
                             f"({', '.join(sorted(ELF_MACHINES))}), such as manylinux2014_x86_64")
    return next(iter(found))


def place_collections(carried, folder, check_mode):
    """Each collection's tarball in folder (an existing one with the same MANIFEST.json and FILES.json is kept); others removed."""
    scratch = collections.scratch_folder()
    changed, names = False, []
    try:
        for _fqcn, root in carried:
            built = collections.pack(root, scratch)
            name = os.path.basename(built)
            names.append(name)
            final = os.path.join(folder, name)
            if collections.same_content(built, final):
                continue
            changed = True
            if not check_mode:
                os.makedirs(folder, exist_ok=True)
                temporary = os.path.join(folder, TEMPORARY_PREFIX + name)
                shutil.move(built, temporary)
                os.replace(temporary, final)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    stale = [name for name in os.listdir(folder) if name not in names] if os.path.isdir(folder) else []
    for name in [] if check_mode else stale:
        os.unlink(os.path.join(folder, name))
    return names, changed or bool(stale)


def place_helm(helm, architecture, folder, check_mode):
    """Copy the helm binary as bin/helm, once its ELF header says it runs on the architecture; True when it changed."""
    if not helm or not os.path.isfile(helm):
        raise ToolchainError(f"no helm binary at {helm!r}: give the path of a helm for linux/{architecture} (the enclave runs helm "
                             "to render and install charts)")
    check_elf(helm, architecture)
    with open(helm, "rb") as handle:
        sha256 = transfer.hash_open(handle)[1]
    if transfer.holds(os.path.join(folder, "helm"), sha256):
        return False
    if not check_mode:
        partial = transfer.Partial(folder, "helm", resume=False)
        transfer.fetch_local(partial, helm)
        partial.commit(sha256, helm)
        os.chmod(os.path.join(folder, "helm"), 0o755)
    return True


def check_elf(path, architecture):
    with open(path, "rb") as handle:
        header = handle.read(20)
    if len(header) < 20 or header[:4] != b"\x7fELF":
        raise ToolchainError(f"{path} is not a Linux (ELF) executable: give a helm binary for linux/{architecture}")
    machine = int.from_bytes(header[18:20], "little" if header[5] == 1 else "big")
    if machine != ELF_MACHINES[architecture]:
        found = next((name for name, number in ELF_MACHINES.items() if number == machine), f"machine {machine}")
        raise ToolchainError(f"{path} is a helm for {found}, not for the enclave's {architecture}: give a helm binary built for "
                             f"linux/{architecture}; nothing was carried for the wrong machine")
