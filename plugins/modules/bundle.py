#!/usr/bin/python
# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: bundle
short_description: Pack a bundle into verified transfer volumes, or verify and unpack them safely
version_added: 0.1.0
description:
  - With O(state=packed), streams the bundle directory O(path) as a plain tar (blobs are already compressed, so nothing
    is compressed again) into volumes C(NAME.tar.000), C(NAME.tar.001), ... of at most O(volume_size) bytes in O(volumes_dir),
    each with its C(.sha256) in C(sha256sum) format, plus C(NAME.index.json) listing volumes, sizes, digests and the digest of
    the bundle's C(airlock.lock.json). Never needs a second copy of the bundle on disk. An unchanged bundle is not repacked.
  - With O(state=verified), proves every volume present, whole and matching its digest, naming each that is not.
  - With O(state=unpacked), verifies the volumes first, then reads them in place as one tar into O(path). Entries with
    absolute paths or C(..), symlinks pointing outside O(path), hard links, devices and FIFOs are refused. Files already
    in place with the same content are kept, so an interrupted unpack (a full disk) completes when run again. It ends with a
    full verification of the bundle's C(SHA256SUMS) when the bundle has one.
  - With O(state=unpacked) and O(keep_in_volumes), those top folders are not unpacked and each file that is, is checked against
    the bundle's C(SHA256SUMS) before it takes its name. M(airlock.airgap.image_copy) reads the images in place from the volumes
    (C(volumes:DIR:NAME)), so the enclave needs no second copy of them.
author:
  - airlock.airgap maintainers (@airlock)
requirements:
  - zstandard (only for O(compression=zstd))
extends_documentation_fragment:
  - airlock.airgap.attributes
attributes:
  check_mode:
    support: full
    details: Packing reports whether the volumes would change; unpacking verifies the volumes and writes nothing.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  path:
    description: The bundle directory (packed from, or unpacked into).
    type: path
    required: true
  volumes_dir:
    description: Where the volumes and the index are (written by O(state=packed), read otherwise).
    type: path
    required: true
  name:
    description: The volumes' base name.
    type: str
    default: bundle
  state:
    description: V(packed), V(verified) (the volumes) or V(unpacked).
    type: str
    choices: [packed, verified, unpacked]
    default: verified
  volume_size:
    description: Largest volume in bytes. The default, 4 GiB less one byte, fits FAT32 sticks.
    type: int
    default: 4294967295
  workers:
    description: Volumes or files hashed at once. Defaults to the number of cores.
    type: int
  compression:
    description:
      - V(none) stores files as they are (image blobs are compressed already).
      - V(zstd) compresses, inside the tar, each file that does not already start like gzip, zstd, xz, bzip2 or zip data
        (model weights, configs, lock files), and unpacking decompresses it. Volumes packed this way are meant for this
        module, since plain C(tar) would extract such files still compressed.
    type: str
    choices: [none, zstd]
    default: none
  base:
    description:
      - Differential packing against what the enclave already holds, given as that bundle's C(airlock.lock.json) or its
        C(SHA256SUMS). Only what is new travels, and the index records the base.
      - With a lock, the manifests, configs and layers of the images it lists stay home (found through this bundle's
        C(images/) layout). With a C(SHA256SUMS), every file is compared, and files gone since are deleted on unpack.
      - Unpacking such volumes requires the target to hold exactly that base file (or the result, when already applied).
    type: path
  remove_packed:
    description:
      - With O(state=packed), delete each file from O(path) once it is in a volume, and the folders it leaves empty, so the
        connected side never holds the bundle twice (the tree and the volumes).
      - A file listed in the bundle's C(SHA256SUMS) is hashed as it is packed and deleted only when it matches; one changed
        since the bundle was sealed fails the pack and stays.
      - A second run finds no file left and the volumes whole, and changes nothing. Not with O(compression=zstd) or O(base).
    type: bool
    default: false
  keep_in_volumes:
    description:
      - With O(state=unpacked), top folders of the bundle left in the volumes, not unpacked (for example V(images)).
      - Empty unpacks everything.
    type: list
    elements: str
    default: []
  report:
    description:
      - Write a JSON verification report here to file as evidence - with O(state=verified), of the volumes (each with its
        expected and found sha256); with O(state=unpacked), of the unpacked bundle against its C(SHA256SUMS).
    type: path
  progress_file:
    description:
      - Rewrite this JSON file about once a second with the files and bytes packed, verified or unpacked so far, so a person
        (or C(async_status)) can follow an hour-long job.
    type: path
"""

EXAMPLES = r"""
- name: Pack the bundle into 4 GiB volumes for FAT32 media
  airlock.airgap.bundle:
    path: /srv/bundle
    volumes_dir: /media/usb
    name: release-2026-11
    state: packed

- name: Pack on a connected host short of disk, the tree removed as it goes into the volumes
  airlock.airgap.bundle:
    path: /srv/bundle
    volumes_dir: /media/usb
    name: release-2026-11
    state: packed
    remove_packed: true

- name: In the enclave, verify and unpack, with evidence
  airlock.airgap.bundle:
    path: /srv/enclave/bundle
    volumes_dir: /media/usb
    name: release-2026-11
    state: unpacked
    report: /var/log/airlock/release-2026-11.verification.json

- name: In the enclave, unpack all but the images, which image_copy pushes from the volumes (volumes:/media/usb:release-2026-11)
  airlock.airgap.bundle:
    path: /srv/enclave/bundle
    volumes_dir: /media/usb
    name: release-2026-11
    state: unpacked
    keep_in_volumes: [images]
"""

RETURN = r"""
volumes:
  description: The volumes with their sizes and sha256 (O(state=packed) and O(state=verified)).
  returned: when O(state=packed) or O(state=verified)
  type: list
  elements: dict
bytes:
  description: Bytes in the volumes.
  returned: when O(state=packed) or O(state=verified)
  type: int
written:
  description: Files and links written by the unpack.
  returned: when O(state=unpacked)
  type: int
bytes_written:
  description: Bytes of the files written by the unpack.
  returned: when O(state=unpacked)
  type: int
unchanged:
  description: Files and links already in place with the same content (named so that Ansible never reads it as the task's skip status).
  returned: when O(state=unpacked)
  type: int
removed:
  description: Files deleted because the differential bundle no longer has them.
  returned: when O(state=unpacked)
  type: int
verification:
  description:
    - The final SHA256SUMS verification of the unpacked bundle (checked, ok, missing, extra, mismatched).
    - With O(keep_in_volumes), of the files unpacked or kept, each proven as it was written, and the folders left in the volumes
      (kept_in_volumes).
  returned: when O(state=unpacked) and the bundle has a SHA256SUMS
  type: dict
seconds:
  description: Time taken.
  returned: always
  type: float
"""

import os
import time

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.airlock.airgap.plugins.module_utils.errors import EXPECTED_ERRORS, fail_from_exception
from ansible_collections.airlock.airgap.plugins.module_utils.integrity import bundle, sums
from ansible_collections.airlock.airgap.plugins.module_utils.integrity.bundle_files import BundleFiles

ARGUMENT_SPEC = dict(
    path=dict(type="path", required=True),
    volumes_dir=dict(type="path", required=True),
    name=dict(type="str", default="bundle"),
    state=dict(type="str", choices=["packed", "verified", "unpacked"], default="verified"),
    volume_size=dict(type="int", default=4 * 1024 ** 3 - 1),
    base=dict(type="path"),
    compression=dict(type="str", choices=["none", "zstd"], default="none"),
    keep_in_volumes=dict(type="list", elements="str", default=[]),
    remove_packed=dict(type="bool", default=False),
    workers=dict(type="int"),
    report=dict(type="path"),
    progress_file=dict(type="path"),
)


def verified(module, started):
    """The volumes alone; the report is written whether they pass or not."""
    params = module.params
    try:
        index = bundle.verify_volumes(params["volumes_dir"], params["name"], params["workers"], params["progress_file"])
    except bundle.BundleError as error:
        if params["report"]:
            bundle.write_volume_report(params["report"], params["volumes_dir"], params["name"], str(error))
        raise
    if params["report"]:
        bundle.write_volume_report(params["report"], params["volumes_dir"], params["name"], None)
    module.exit_json(changed=False, volumes=index["volumes"], bytes=index["bytes"], seconds=round(time.monotonic() - started, 3))


def unpacked_but_kept(module, started):
    """All but the kept top folders, which stay in the volumes to be read there in place."""
    params = module.params
    index = bundle.verify_volumes(params["volumes_dir"], params["name"], params["workers"], params["progress_file"])
    keep = {folder.strip("/") for folder in params["keep_in_volumes"]}
    counts, proven = BundleFiles(params["volumes_dir"], params["name"]).extract(params["path"], keep, module.check_mode)
    result = dict(counts, changed=counts["written"] > 0, volumes=len(index["volumes"]), seconds=round(time.monotonic() - started, 3))
    if module.check_mode:
        module.exit_json(**result)
    if params["report"]:
        sums.write_report(params["report"], params["path"], os.path.join(params["path"], sums.SUMS_NAME), proven)
    module.exit_json(verification=dict(proven.summary(), kept_in_volumes=sorted(keep)), **result)


def unpacked(module, started):
    params = module.params
    if params["keep_in_volumes"]:
        unpacked_but_kept(module, started)
    counts = bundle.unpack(params["volumes_dir"], params["name"], params["path"], params["workers"], module.check_mode,
                           params["progress_file"])
    digests = counts.pop("digests", {})
    result = dict(counts, seconds=round(time.monotonic() - started, 3))
    sums_path = os.path.join(params["path"], sums.SUMS_NAME)
    if module.check_mode or not os.path.exists(sums_path):
        module.exit_json(**result)
    found = sums.verify(params["path"], sums_path, params["workers"], known=digests)
    result["verification"] = found.summary()
    if params["report"]:
        sums.write_report(params["report"], params["path"], sums_path, found)
    if not found.ok:
        module.fail_json(msg=f"unpacked {params['path']} does not match its SHA256SUMS: {found.summary()}", **result)
    module.exit_json(**result)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    started = time.monotonic()
    if params["compression"] == "zstd" and bundle.ZSTD_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("zstandard"), exception=bundle.ZSTD_IMPORT_ERROR)
    try:
        if params["state"] == "packed":
            changed, index = bundle.pack(params["path"], params["volumes_dir"], params["name"], params["volume_size"], module.check_mode,
                                         params["base"], params["progress_file"], params["compression"], params["remove_packed"])
            module.exit_json(changed=changed, volumes=index["volumes"], bytes=index.get("bytes", 0), seconds=round(time.monotonic() - started, 3))
        if params["state"] == "verified":
            verified(module, started)
        unpacked(module, started)
    except EXPECTED_ERRORS as error:
        fail_from_exception(module, error, where=params["path"])


if __name__ == "__main__":
    main()
