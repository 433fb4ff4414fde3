#!/usr/bin/python
# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: image_copy
short_description: Copy container images digest-exactly between registries and OCI layouts
version_added: 0.1.0
description:
  - Copies images from C(docker://) registries or C(oci:) image layouts to a registry (under a path
    prefix) or into one shared OCI image layout, such as the C(images/) folder of a bundle.
  - Manifests are copied as the raw bytes received, so digests never change. With O(platforms=[all]) the
    source index is kept byte-for-byte; with a list, a new index holding just those platforms is written
    and both digests are returned. A platform the source lacks is an error that lists what it has.
  - Blobs already at the destination are skipped, blobs shared by several images move once, every byte is
    verified against its digest while it streams, and an image already at the destination costs one request.
  - Registry requests are retried on 429, 5xx and connection errors with backoff (honouring C(Retry-After));
    a cut-off blob download resumes where it stopped.
author:
  - airlock.airgap maintainers (@airlock)
extends_documentation_fragment:
  - airlock.airgap.attributes
  - airlock.airgap.registries
attributes:
  check_mode:
    support: full
    details: Reports what would be copied and how many bytes, reading the source and destination but writing nothing.
  diff_mode:
    support: none
  idempotent:
    support: full
    details: A second run finds every image at the destination and reports C(changed=false).
options:
  images:
    description:
      - Images to copy. Each is a source string, or a dictionary with C(source) and its own C(destination).
      - A source is an image reference (C(nats:2.12.6-alpine), C(docker://ghcr.io/org/app:v1@sha256:...)), or
        C(oci:DIR:NAME) for one image of an OCI layout, or C(oci:DIR) for every image in it, or
        C(docker-archive:FILE[:NAME]) for an image of a C(docker save) archive.
    type: list
    elements: raw
    required: true
  destination:
    description:
      - Where images go unless an entry names its own.
      - C(docker://HOST[/PREFIX]) keeps each image's path under the prefix
        (C(docker.io/library/redis:7) to C(docker://mirror:5000/mirror) becomes C(mirror:5000/mirror/library/redis:7)).
      - C(oci:DIR) writes into one shared OCI layout and names each image by its full source reference.
      - C(docker-archive:FILE) writes one C(docker save) archive holding every image for exactly one platform (O(platforms) must
        name one), readable by C(docker load) and C(ctr images import); layers shared by several images are stored once.
      - In an entry's own C(destination), a full reference (C(docker://host/repo:tag)) or C(oci:DIR:NAME).
    type: str
  platforms:
    description:
      - C(all) to copy every platform of multi-platform images, or a list such as C(linux/amd64) and C(linux/arm64/v8).
    type: list
    elements: str
    default: [all]
  concurrency:
    description: Blobs transferred at once, across all images.
    type: int
    default: 4
  image_concurrency:
    description: Images worked on at once.
    type: int
    default: 2
  retries:
    description: Attempts per registry request and per blob transfer before giving up.
    type: int
    default: 5
  timeout:
    description: Seconds to wait for a registry to send data before the attempt counts as failed.
    type: int
    default: 300
  include_signatures:
    description:
      - Also copy what signs or describes each image, when the source has it - the artifacts the OCI 1.1
        referrers API lists for its digest, and the cosign-style tags C(sha256-<digest>.sig), C(.att) and C(.sbom).
      - In an OCI layout, referrers are index entries without a name, annotated C(io.airlock.referrer.of) with the image digest.
    type: bool
    default: false
  upload_chunk_size:
    description:
      - Blobs up to this many bytes are uploaded in one request; bigger ones in chunks of this size (C(PATCH)),
        which keeps requests under the body size limits of proxies in front of a registry.
    type: int
    default: 67108864
  lock_file:
    description:
      - Merge the copied images (source, destination, digests, platforms) into this C(airlock.lock.json).
    type: path
requirements:
  - requests
notes:
  - Docker schema 1 manifests are refused; they cannot be copied digest-exactly.
seealso:
  - name: OCI distribution specification
    description: The registry API this module speaks.
    link: https://github.com/opencontainers/distribution-spec
"""

EXAMPLES = r"""
- name: Mirror the images of a release into a bundle layout, all platforms
  airlock.airgap.image_copy:
    images:
      - nats:2.12.6-alpine
      - ghcr.io/org/app:v1.4.2
    destination: oci:/srv/bundle/images
    lock_file: /srv/bundle/airlock.lock.json

- name: Push everything in the bundle to the enclave registry under mirror/
  airlock.airgap.image_copy:
    images: [oci:/srv/bundle/images]
    destination: docker://registry.enclave:5000/mirror
    registries:
      - host: registry.enclave:5000
        username: "{{ mirror_user }}"
        password: "{{ mirror_password }}"
        ca_file: /etc/pki/enclave-ca.pem

- name: Copy only the nodes' platform, pinned by digest, to an explicit name
  airlock.airgap.image_copy:
    images:
      - source: docker://ghcr.io/org/app@sha256:0f2c1d5e1b7a4a3f8d6e9c2b5a7f1e3d9c8b6a4f2e1d3c5b7a9f8e6d4c2b1a0f
        destination: docker://registry.enclave:5000/apps/app:v1
    platforms: [linux/amd64]
"""

RETURN = r"""
images:
  description: One entry per image copied or found already in place.
  returned: always
  type: list
  elements: dict
  contains:
    source:
      description: The source, normalised.
      type: str
      sample: docker.io/library/nats:2.12.6-alpine
    destination:
      description: Where it went.
      type: str
      sample: registry.enclave:5000/mirror/library/nats:2.12.6-alpine
    digest:
      description: Digest of the manifest or index at the destination.
      type: str
      sample: sha256:4f1e2d3c5b7a9f8e6d4c2b1a0f0f2c1d5e1b7a4a3f8d6e9c2b5a7f1e3d9c8b6a
    source_digest:
      description: Digest of the source's manifest or index (differs from RV(images[].digest) when a platform subset was copied).
      type: str
      sample: sha256:0f2c1d5e1b7a4a3f8d6e9c2b5a7f1e3d9c8b6a4f2e1d3c5b7a9f8e6d4c2b1a0f
    platforms:
      description: Platforms copied; empty when the image was already in place and not inspected.
      type: list
      elements: str
      sample: [linux/amd64, linux/arm64/v8]
    changed:
      description: Whether anything was (or in check mode would be) written for this image.
      type: bool
    bytes_copied:
      description: Blob bytes moved (in check mode, that would be moved).
      type: int
    bytes_skipped:
      description: Blob bytes already at the destination or mounted from another repository.
      type: int
    signatures:
      description:
        - Artifacts copied with the image (with O(include_signatures)) - C(tag) and C(digest) for cosign-style tags,
          C(referrer) and C(artifact_type) for OCI referrers - each with C(changed).
      type: list
      elements: dict
bytes_copied:
  description: Total blob bytes moved.
  returned: always
  type: int
bytes_skipped:
  description: Total blob bytes found in place.
  returned: always
  type: int
requests:
  description: Registry requests sent, retries included.
  returned: always
  type: int
seconds:
  description: Wall-clock time the copy took.
  returned: always
  type: float
lock_file:
  description: The lock file written, when O(lock_file) was given.
  returned: when O(lock_file) is set
  type: str
archive:
  description: What was written for a C(docker-archive:) destination.
  returned: when O(destination) is a docker-archive
  type: dict
  contains:
    path:
      description: The archive.
      type: str
    images:
      description: Images in it.
      type: int
    layers:
      description: Layers stored (each once).
      type: int
    bytes:
      description: The archive's size.
      type: int
"""

import dataclasses
import time

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.airlock.airgap.plugins.module_utils.integrity.digest import DigestMismatch
from ansible_collections.airlock.airgap.plugins.module_utils.oci import auth, copy, lock, platforms, registry, transports
from ansible_collections.airlock.airgap.plugins.module_utils.oci.errors import OciError
from ansible_collections.airlock.airgap.plugins.module_utils.oci.mediatypes import UnsupportedManifest
from ansible_collections.airlock.airgap.plugins.module_utils.oci.reference import InvalidReference

ARGUMENT_SPEC = dict(
    images=dict(type="list", elements="raw", required=True),
    destination=dict(type="str"),
    platforms=dict(type="list", elements="str", default=["all"]),
    concurrency=dict(type="int", default=4),
    image_concurrency=dict(type="int", default=2),
    retries=dict(type="int", default=5),
    timeout=dict(type="int", default=300),
    include_signatures=dict(type="bool", default=False),
    upload_chunk_size=dict(type="int", default=64 * 1024 * 1024),
    lock_file=dict(type="path"),
    **transports.REGISTRIES_ARGUMENT_SPEC,
)

EXPECTED_ERRORS = (OciError, DigestMismatch, UnsupportedManifest, InvalidReference, auth.CredentialError, ValueError, OSError)


def wanted_platforms(values):
    if [v.strip().lower() for v in values] == ["all"]:
        return None
    return [platforms.parse(v) for v in values]


def write_archive(module, clients, started):
    """docker-archive destination: one tar of every image for the one platform asked for."""
    try:
        selected = wanted_platforms(module.params["platforms"])
        if not selected or len(selected) != 1:
            module.fail_json(msg="a docker-archive holds one platform per image: set platforms to exactly one, for example [linux/amd64]")
        if module.check_mode:
            module.exit_json(changed=True, archive={"path": module.params["destination"][len(transports.ARCHIVE):]}, requests=0)
        summary = transports.write_archive(module.params["images"], module.params["destination"], clients, selected[0])
    except EXPECTED_ERRORS as error:
        module.fail_json(msg=str(error))
    module.exit_json(changed=summary.pop("changed"), archive=summary, requests=clients.requests_sent,
                     seconds=round(time.monotonic() - started, 3))


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    if registry.REQUESTS_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("requests"), exception=registry.REQUESTS_IMPORT_ERROR)
    params = module.params
    started = time.monotonic()
    retry = registry.RetryPolicy(attempts=max(1, params["retries"]))
    clients = transports.Clients(transports.registry_settings(params["registries"]), params["docker_config"], retry, params["timeout"],
                                 max(1024, params["upload_chunk_size"]))
    if (params["destination"] or "").startswith(transports.ARCHIVE):
        write_archive(module, clients, started)
    copier = copy.Copier(params["concurrency"], retry, check_mode=module.check_mode, include_signatures=params["include_signatures"])
    try:
        selected = wanted_platforms(params["platforms"])
        jobs = [(source, target, selected) for source, target in transports.plan(params["images"], params["destination"], clients)]
        results, failures = copy.copy_many(copier, jobs, params["image_concurrency"])
    except EXPECTED_ERRORS as error:
        module.fail_json(msg=str(error))
    finally:
        copier.close()
    report = dict(
        changed=any(r.changed for r in results),
        images=[dataclasses.asdict(r) for r in results],
        bytes_copied=sum(r.bytes_copied for r in results),
        bytes_skipped=sum(r.bytes_skipped for r in results),
        requests=clients.requests_sent,
        seconds=round(time.monotonic() - started, 3),
    )
    if failures:
        lines = [f"{job[0]}: {error}" for job, error in failures]
        module.fail_json(msg=f"{len(failures)} of {len(jobs)} images failed: " + " | ".join(lines), **report)
    if params["lock_file"] and not module.check_mode:
        report["changed"] = lock.write(params["lock_file"], results) or report["changed"]
        report["lock_file"] = params["lock_file"]
    module.exit_json(**report)


if __name__ == "__main__":
    main()
