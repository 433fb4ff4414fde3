#!/usr/bin/python
# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: file_mirror
short_description: Carry plain files across the air gap - fetched by URL, from S3 or a path, verified by sha256, published in the enclave
version_added: 0.1.0
description:
  - With O(state=fetched), fetches each of O(files) into the folder O(path) (a bundle's C(files/)) from an C(http(s)://) URL,
    an C(s3://BUCKET/KEY) object or a local path. Every byte is hashed while it streams into C(.airlock-partial-NAME) beside
    the final name, and the file gets its name only once its sha256 matches; a mismatch deletes the bytes and fails, naming both digests.
  - An HTTP download cut midway resumes where it stopped (C(Range), with C(If-Range) so a file that changed meanwhile starts over),
    up to O(retries) times, and every request is retried as O(retries) says; one that still fails keeps its bytes, and the
    next run resumes them when the sha256 is known.
  - Each file's sha256 is given (C(sha256)) or learned on its first fetch and recorded in O(lock_file) (section C(files)), which then
    pins it - a source serving other bytes later is refused. One of the two is required.
  - With O(state=published), in the enclave, every file O(lock_file) lists goes from O(path) to the folder O(dest) or to the
    S3-compatible store O(s3), each proven against the lock's sha256 first (files already there with that sha256 are skipped;
    objects carry it in their metadata and single PUTs are checked by the server).
author:
  - airlock.airgap maintainers (@airlock)
extends_documentation_fragment:
  - airlock.airgap.s3
  - airlock.airgap.attributes
  - airlock.airgap.network
attributes:
  check_mode:
    support: full
    details: Compares with what is in place and reports the bytes that would move, fetching and writing nothing.
  diff_mode:
    support: none
  idempotent:
    support: full
    details: A file already in place with its sha256 is neither fetched nor published again.
requirements:
  - requests (for http(s) sources)
  - boto3 (for s3 sources and O(s3))
options:
  state:
    description: V(fetched) brings the files into O(path); V(published) takes them from O(path) to O(dest) or O(s3).
    type: str
    choices: [fetched, published]
    default: fetched
  files:
    description:
      - With O(state=fetched), the files. A string is the source; a dict has C(src) (an C(http(s)://) URL, C(s3://BUCKET/KEY),
        a local path or C(file://) URL), optionally C(name) (the file name in O(path); by default the source's last path
        component) and C(sha256) (64 hex, a C(sha256:) prefix accepted).
    type: list
    elements: raw
    default: []
  path:
    description: The folder the files are fetched into, or published from (a bundle's C(files/)).
    type: path
    required: true
  lock_file:
    description:
      - The lock (C(airlock.lock.json)) whose C(files) section records each file's source, sha256 and size.
      - Required with O(state=published), where it says what every file must hold.
    type: path
  dest:
    description: With O(state=published), the folder the files are copied into (or give O(s3)).
    type: path
  s3:
    description:
      - With O(state=published), the S3-compatible store the files are uploaded to, each as O(s3.prefix)/NAME.
      - With O(state=fetched), the endpoint and credentials C(s3://) sources are read with (their bucket comes from the URL).
  headers:
    description: HTTP headers sent with every download (an C(Authorization) header, say).
    type: dict
  validate_certs:
    description: Verify the TLS certificates of HTTPS sources.
    type: bool
    default: true
  ca_file:
    description: A CA bundle for HTTPS sources with a private CA.
    type: path
"""

EXAMPLES = r"""
- name: Fetch a client wheel pinned by sha256 and a tool whose sha256 the lock learns, into the bundle
  airlock.airgap.file_mirror:
    path: /srv/bundle/files
    lock_file: /srv/bundle/airlock.lock.json
    files:
      - src: https://example.com/dist/client-1.2.0-py3-none-any.whl
        sha256: 3f0c5b1c2c1d8e9f4a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f
      - https://example.com/tools/yq_linux_amd64
      - {src: "s3://vendor-drop/datasets/labels.csv", name: labels.csv}
    s3: {endpoint_url: "https://s3.corp.example", access_key: "{{ key }}", secret_key: "{{ secret }}"}

- name: Publish them into the enclave's object store
  airlock.airgap.file_mirror:
    state: published
    path: /media/bundle/files
    lock_file: /media/bundle/airlock.lock.json
    s3: {endpoint_url: "http://seaweedfs:8333", bucket: files, create_bucket: true, access_key: "{{ k }}", secret_key: "{{ s }}"}
"""

RETURN = r"""
files:
  description: One entry per file.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The file's name in O(path).
      type: str
    source:
      description: Where it came from.
      type: str
    sha256:
      description: Its sha256 (empty in check mode for a file whose sha256 is still to be learned).
      type: str
    size:
      description: Its size in bytes.
      type: int
    bytes_moved:
      description: Bytes fetched or published (or that would be, in check mode).
      type: int
    changed:
      description: Whether the file was fetched or published.
      type: bool
bytes_moved:
  description: Bytes moved, over all files.
  returned: always
  type: int
seconds:
  description: Time taken.
  returned: always
  type: float
"""

import time

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.airlock.airgap.plugins.module_utils.errors import EXPECTED_ERRORS, fail_from_exception
from ansible_collections.airlock.airgap.plugins.module_utils.arguments import refuse_nul_bytes, refuse_scalars_for_dict_options
from ansible_collections.airlock.airgap.plugins.module_utils.files import mirror, transfer
from ansible_collections.airlock.airgap.plugins.module_utils.http import transport as network
from ansible_collections.airlock.airgap.plugins.module_utils.models import s3store

S3_OPTIONS = dict(
    bucket=dict(type="str"),
    prefix=dict(type="str", default=""),
    endpoint_url=dict(type="str"),
    access_key=dict(type="str", no_log=False),
    secret_key=dict(type="str", no_log=True),
    region=dict(type="str", default="us-east-1"),
    ca_bundle=dict(type="path"),
    create_bucket=dict(type="bool", default=False),
)

ARGUMENT_SPEC = dict(
    state=dict(type="str", choices=["fetched", "published"], default="fetched"),
    files=dict(type="list", elements="raw", default=[]),
    path=dict(type="path", required=True),
    lock_file=dict(type="path"),
    dest=dict(type="path"),
    s3=dict(type="dict", options=S3_OPTIONS),
    headers=dict(type="dict", no_log=True),
    validate_certs=dict(type="bool", default=True),
    ca_file=dict(type="path"),
    **network.ARGUMENT_SPEC,
)
REQUIRED_IF = [("state", "published", ["lock_file"]), ("state", "published", ["dest", "s3"], True)]


def s3_settings(params, check_mode):
    s3 = params["s3"]
    if not s3:
        return None
    if params["state"] == "published" and not s3["bucket"]:
        raise transfer.FileError("s3.bucket is required to publish to S3")
    return s3store.S3Settings(bucket=s3["bucket"] or "", prefix=s3["prefix"], endpoint_url=s3["endpoint_url"], access_key=s3["access_key"],
                              secret_key=s3["secret_key"], region=s3["region"], ca_bundle=s3["ca_bundle"],
                              create_bucket=s3["create_bucket"] and params["state"] == "published", retries=params["retries"],
                              timeout=params["timeout"])


def missing_libraries(params, specs):
    needed = []
    if any(spec.scheme == "http" for spec in specs):
        needed.append(("requests", network.REQUESTS_IMPORT_ERROR))
    if params["s3"] and (params["state"] == "published" or any(spec.scheme == "s3" for spec in specs)):
        needed.append(("boto3", s3store.BOTO3_IMPORT_ERROR))
    return [(name, error) for name, error in needed if error]


def main():
    refuse_scalars_for_dict_options(ARGUMENT_SPEC)
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, required_if=REQUIRED_IF, mutually_exclusive=[("dest", "s3")],
                           supports_check_mode=True)
    refuse_nul_bytes(module)
    params = module.params
    started = time.monotonic()
    created = lock_changed = False
    try:
        specs = [mirror.parse(entry) for entry in params["files"]] if params["state"] == "fetched" else []
        for name, error in missing_libraries(params, specs):
            module.fail_json(msg=missing_required_lib(name), exception=error)
        settings = mirror.Settings(headers=params["headers"], validate_certs=params["validate_certs"], ca_file=params["ca_file"],
                                   retry=network.policy_from(params), timeout=params["timeout"],
                                   s3=s3_settings(params, module.check_mode), check_mode=module.check_mode)
        if params["state"] == "fetched":
            results, lock_changed = mirror.fetch(specs, params["path"], params["lock_file"], settings)
        else:
            if settings.s3 and settings.s3.create_bucket:
                created = s3store.Store(settings.s3).create_bucket(module.check_mode)
            results = mirror.publish(params["path"], params["lock_file"], params["dest"], settings)
    except EXPECTED_ERRORS as error:
        fail_from_exception(module, error, where=params["path"])
    module.exit_json(changed=created or lock_changed or any(result["changed"] for result in results), files=results,
                     bytes_moved=sum(result["bytes_moved"] for result in results), seconds=round(time.monotonic() - started, 3))


if __name__ == "__main__":
    main()
