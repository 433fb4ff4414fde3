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
  - Registry requests are retried on 408, 429, 5xx and connection errors with backoff (honouring C(Retry-After)), by one
    transport that is the only retry layer (see O(retries)); a cut-off blob download resumes where it stopped, and a failed
    upload request resumes at the offset the registry reports.
  - With O(sources), an image of a registry the connected side cannot or should not reach directly is fetched through
    the pull-through proxy or mirror standing for it, and still named by its canonical reference in the layout, the lock
    and the result.
author:
  - airlock.airgap maintainers (@airlock)
extends_documentation_fragment:
  - airlock.airgap.attributes
  - airlock.airgap.registries
  - airlock.airgap.network
attributes:
  check_mode:
    support: full
    details: Reports what would be copied and how many bytes, reading the source and destination but writing nothing
      (no layout, archive, lock file or registry upload), even for a destination that does not exist yet.
  diff_mode:
    support: none
  idempotent:
    support: full
    details: A second run finds every image at the destination and reports C(changed=false).
options:
  images:
    description:
      - Images to copy. Each is a source string, or a dictionary with C(source) and, optionally, its own C(destination)
        (no other keys). Entries of any other type are refused, naming their position.
      - A source is an image reference (C(nats:2.12.6-alpine), C(docker://ghcr.io/org/app:v1@sha256:...)), or
        C(oci:DIR:NAME) for one image of an OCI layout, or C(oci:DIR) for every image in it, or
        C(docker-archive:FILE[:NAME]) for an image of a C(docker save) archive, or C(volumes:DIR:BUNDLE[:NAME]) for the images of
        the bundle BUNDLE packed in DIR by M(airlock.airgap.bundle), read in place from its volumes (no unpacking; verify the
        volumes first with M(airlock.airgap.bundle) C(state=verified); index.json is checked against the bundle's SHA256SUMS and
        every manifest and blob against its digest as it is read).
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
    description: Blobs transferred at once, across all images. At least 1.
    type: int
    default: 4
  image_concurrency:
    description: Images worked on at once. At least 1.
    type: int
    default: 2
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
        which keeps requests under the body size limits of proxies in front of a registry. At least 1024.
    type: int
    default: 67108864
  sources:
    description:
      - Registries reached through another host - a pull-through proxy or a connected-side mirror. An image named on
        O(sources[].registry) (C(docker.io/library/nats:2.12.6-alpine)) is fetched from O(sources[].via) with the same
        path under its prefix (C(proxy.corp:5000/dockerhub/library/nats:2.12.6-alpine)), and no request goes to the
        registry itself.
      - The image keeps its canonical reference as its source in the result and the lock, and as its name in an C(oci:)
        layout or under a C(docker://) prefix, so later steps find its digest by the name charts and Compose files use.
      - Credentials, TLS and plain HTTP of a via host are set in O(registries) under that host.
    type: list
    elements: dict
    default: []
    suboptions:
      registry:
        description: The registry as image references name it (C(docker.io), C(ghcr.io), C(registry.example:5000)); each once.
        type: str
        required: true
      via:
        description:
          - C(HOST[:PORT][/PREFIX]) serving that registry's images, such as a distribution registry in proxy mode
            (C(proxy.corp:5000), where Docker Hub's official images are under C(library/)) or a mirror holding them
            under a path (C(mirror.corp/dockerhub)).
        type: str
        required: true
  lock_file:
    description:
      - Merge the copied images (source, destination, digests, platforms) into this C(airlock.lock.json).
      - When some images fail, the ones copied or found in place are still recorded, so the lock never falls behind the layout;
        the task fails naming the others. Nothing is written in check mode.
    type: path
  progress_file:
    description:
      - While the images are copied, keep this JSON file up to date (rewritten whole, at most once a second, and once at the end)
        with C(bytes_done), C(bytes_total), C(bytes_per_second), C(items) (the images) and C(unsized), those whose manifests are not read yet
        (until none is left, C(bytes_total) is a lower bound). Blobs already in place count as done.
      - A role runs the copy with C(async) and prints it on every poll with the filter P(airlock.airgap.progress_line#filter).
        Not written in check mode, nor for a C(docker-archive:) destination.
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
    progress_file: /srv/.images.progress.json

- name: Push the images of a bundle straight from its volumes on the transfer disk, without unpacking it
  airlock.airgap.image_copy:
    images: ["volumes:/media/transfer:release-42"]
    destination: docker://registry.enclave:5000/mirror

- name: Push everything in the bundle to the enclave registry under mirror/
  airlock.airgap.image_copy:
    images: [oci:/srv/bundle/images]
    destination: docker://registry.enclave:5000/mirror
    registries:
      - host: registry.enclave:5000
        username: "{{ mirror_user }}"
        password: "{{ mirror_password }}"
        ca_file: /etc/pki/enclave-ca.pem

- name: Fetch Docker Hub and GHCR images through the corporate proxy, recorded under their own names
  airlock.airgap.image_copy:
    images:
      - docker.io/library/nats:2.12.6-alpine   # fetched as proxy.corp:5000/dockerhub/library/nats:2.12.6-alpine
      - ghcr.io/org/app:v1.4.2                 # fetched as proxy.corp:5000/ghcr/org/app:v1.4.2
    destination: oci:/srv/bundle/images
    sources:
      - {registry: docker.io, via: proxy.corp:5000/dockerhub}
      - {registry: ghcr.io, via: proxy.corp:5000/ghcr}
    registries:
      - {host: proxy.corp:5000, username: "{{ proxy_user }}", password: "{{ proxy_password }}", ca_file: /etc/pki/corp-ca.pem}
    lock_file: /srv/bundle/airlock.lock.json

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
      description: The source, normalised; for an image fetched through O(sources), its canonical reference.
      type: str
      sample: docker.io/library/nats:2.12.6-alpine
    via:
      description: What the image was fetched as when a source stands for its registry; empty otherwise.
      type: str
      sample: proxy.corp:5000/dockerhub/library/nats:2.12.6-alpine
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
  returned: when O(lock_file) is set, not in check mode, and an image was copied or found in place
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
import unicodedata

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.airlock.airgap.plugins.module_utils.errors import EXPECTED_ERRORS, fail_from_exception
from ansible_collections.airlock.airgap.plugins.module_utils.http import transport as network
from ansible_collections.airlock.airgap.plugins.module_utils.oci import copy, lock, platforms, transports
from ansible_collections.airlock.airgap.plugins.module_utils.report.progress import Progress

ARGUMENT_SPEC = dict(
    images=dict(type="list", elements="raw", required=True),
    destination=dict(type="str"),
    platforms=dict(type="list", elements="str", default=["all"]),
    concurrency=dict(type="int", default=4),
    image_concurrency=dict(type="int", default=2),
    include_signatures=dict(type="bool", default=False),
    upload_chunk_size=dict(type="int", default=64 * 1024 * 1024),
    lock_file=dict(type="path"),
    progress_file=dict(type="path"),
    **transports.REGISTRIES_ARGUMENT_SPEC,
    **transports.SOURCES_ARGUMENT_SPEC,
    **network.ARGUMENT_SPEC,
)

# (lowest, highest or None) per integer option.
INTEGER_RANGES = {"concurrency": (1, None), "image_concurrency": (1, None), "upload_chunk_size": (1024, None), **network.OPTION_RANGES}
LONGEST_STRING = 4096  # PATH_MAX
IMAGE_KEYS = ("source", "destination")
SOURCE_FORM = ("a source string (nats:2.12.6-alpine, oci:/path/layout[:NAME], docker-archive:/path/file.tar[:NAME] or "
               "volumes:/path/volumes:BUNDLE[:NAME]) "
               "or a dictionary with source and destination")
DESTINATION_FORM = "a destination string (docker://HOST[/PREFIX], oci:/path/layout or docker-archive:/path/file.tar)"


def option_problems(params):
    """Every reason the options cannot be used, found before anything is read or written.

    Ansible's argument_spec checks types, but cannot say 'a source string or a {source, destination}
    dictionary', nor ranges, nor that a string must hold something and no control characters.
    """
    for position, entry in enumerate(params["images"]):
        yield from image_entry_problems(f"images[{position}]", entry, params["destination"])
    if params["destination"] is not None:
        yield from _present(transports.text_problem("destination", params["destination"], DESTINATION_FORM))
    if not params["platforms"]:
        yield "platforms is empty: give [all], or the platforms to copy such as [linux/amd64]"
    yield from transports.registries_problems(params["registries"])
    yield from transports.sources_problems(params["sources"])
    yield from network.option_problems(params, INTEGER_RANGES)
    yield from string_problems(params)


def image_entry_problems(where, entry, destination):
    """Problems of one `images` entry: a source string, or a dictionary with source and an optional destination."""
    if not isinstance(entry, dict):
        yield from _present(transports.text_problem(where, entry, SOURCE_FORM))
        return
    unknown = sorted(str(key) for key in entry if key not in IMAGE_KEYS)
    if unknown:
        yield f"{where} has the unknown keys {', '.join(unknown)}: an entry takes source and, optionally, destination"
    if "source" not in entry:
        yield f"{where} has no source: give it as {{source: REFERENCE, destination: DESTINATION}}"
    else:
        yield from _present(transports.text_problem(f"{where}.source", entry["source"], SOURCE_FORM))
    if entry.get("destination") is not None:
        yield from _present(transports.text_problem(f"{where}.destination", entry["destination"], DESTINATION_FORM))
        if (destination or "").startswith(transports.ARCHIVE):
            yield f"{where} has its own destination, but every image goes into the docker-archive {destination}: drop one of them"


def string_problems(params):
    """Strings no path, reference or host can be: with a control character (file APIs would say only 'embedded null byte'),
    or longer than any path Linux accepts (the error would repeat them whole)."""
    for name, text in _strings(params):
        if len(text) > LONGEST_STRING:
            yield f"{name} is {len(text)} characters long ({text[:40]!r}...); no path, image reference or host is longer than {LONGEST_STRING}"
            continue
        control = next((character for character in text if unicodedata.category(character) == "Cc"), None)
        if control is not None:
            yield f"{name} contains the control character U+{ord(control):04X}: {text!r}"


def _strings(value, name=""):
    """(option path, string) for every string in the options, secrets left out so they never reach a message."""
    if isinstance(value, str):
        yield name, value
    elif isinstance(value, list):
        for position, item in enumerate(value):
            yield from _strings(item, f"{name}[{position}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            if key != "password":
                yield from _strings(item, f"{name}.{key}" if name else str(key))


def _present(problem):
    return [problem] if problem else []


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
        path = transports.archive_path(module.params["destination"])
        if module.check_mode:
            module.exit_json(changed=True, archive={"path": path}, requests=0)
        summary = transports.write_archive(module.params["images"], module.params["destination"], clients, selected[0])
    except EXPECTED_ERRORS as error:
        fail_from_exception(module, error)
    module.exit_json(changed=summary.pop("changed"), archive=summary, requests=clients.requests_sent,
                     seconds=round(time.monotonic() - started, 3))


def record_in_lock(module, results, report):
    """Merge the images committed into the lock file, also when others failed: the lock never falls behind the layout."""
    path = module.params["lock_file"]
    try:
        report["changed"] = lock.write(path, results) or report["changed"]
    except EXPECTED_ERRORS as error:
        fail_from_exception(module, error, msg=f"the lock file {path} could not be updated: {error}", **report)
    report["lock_file"] = path


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    if network.REQUESTS_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("requests"), exception=network.REQUESTS_IMPORT_ERROR)
    params = module.params
    problems = list(option_problems(params))
    if problems:
        module.fail_json(msg="; ".join(problems))
    started = time.monotonic()
    clients = transports.clients_for(params, upload_chunk=params["upload_chunk_size"], routes=transports.source_routes(params["sources"]))
    if (params["destination"] or "").startswith(transports.ARCHIVE):
        write_archive(module, clients, started)
    try:
        selected = wanted_platforms(params["platforms"])
        plan = transports.plan(params["images"], params["destination"], clients, check_mode=module.check_mode)
        jobs = [(source, target, selected) for source, target in plan]
        progress = Progress(None if module.check_mode else params["progress_file"], unsized=len(jobs))
        copier = copy.Copier(params["concurrency"], check_mode=module.check_mode, include_signatures=params["include_signatures"],
                             progress=progress)
        try:
            results, failures = copy.copy_many(copier, jobs, params["image_concurrency"])
        finally:
            copier.close()
            progress.finish()
    except EXPECTED_ERRORS as error:
        fail_from_exception(module, error)
    report = dict(
        changed=any(r.changed for r in results),
        images=[dataclasses.asdict(r) for r in results],
        bytes_copied=sum(r.bytes_copied for r in results),
        bytes_skipped=sum(r.bytes_skipped for r in results),
        requests=clients.requests_sent,
        seconds=round(time.monotonic() - started, 3),
    )
    if params["lock_file"] and results and not module.check_mode:
        record_in_lock(module, results, report)
    if failures:
        lines = [f"{job[0]}: {error}" for job, error in failures]
        fail_from_exception(module, failures[0][1], msg=f"{len(failures)} of {len(jobs)} images failed: " + " | ".join(lines), **report)
    module.exit_json(**report)


if __name__ == "__main__":
    main()
