#!/usr/bin/python
# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: image_preload
short_description: Preload images into a node's containerd or Docker, idempotently, verified by digest
version_added: 0.1.0
description:
  - Runs on each node. Brings the listed images into the node's container runtime so pods with C(imagePullPolicy=IfNotPresent)
    start without pulling, from an OCI layout or a docker-archive on the node, or from the enclave's registry (by digest).
  - Only the node's own platform of a multi-arch image is imported, and only the blobs the runtime lacks travel, in one stream
    with each blob once; layers stay compressed. The stream goes straight into the runtime, with no temporary archive on disk.
  - An image already present under all its names with the same digest is left unchanged. A name that points at another digest is
    moved to the new image and reported in RV(images[].replaced).
  - Each image gets every name a pod may use, the original reference and the mirror's, each by tag and by digest (Docker holds tags only).
  - containerd (plain, k3s, RKE2) is driven through its C(ctr); an image is imported under a staging name and takes its real names
    only once it is complete and unpacked, so a failed or interrupted import never leaves a name pointing at a broken image.
    Docker is driven through its API (C(docker load)), which moves tags only after every layer is stored.
  - After the import every name is checked against the expected digest (containerd) or image ID (Docker).
author:
  - airlock.airgap maintainers (@airlock)
extends_documentation_fragment:
  - airlock.airgap.attributes
  - airlock.airgap.registries
  - airlock.airgap.network
attributes:
  action:
    description: Has a corresponding action plugin, so parts of the work run on the controller.
    support: full
    details: The action sends O(archive) for O(state=received); every other state runs the module as it is.
  check_mode:
    support: full
    details: Reports per image whether it would be imported, tagged or skipped, and which names would be replaced. With O(state=received), nothing is sent.
  diff_mode:
    support: none
  idempotent:
    support: partial
    details: Every state but V(received) is idempotent. V(received) ships and unpacks its archive each time it runs; the export
      that writes the archive is what finds nothing needed (RV(needed) is 0) on a second run, so the role then ships nothing.
requirements:
  - C(ctr) for containerd (it ships with containerd, k3s and RKE2).
  - The Docker SDK for Python for Docker.
options:
  state:
    description:
      - V(present) brings the images into the node's runtime.
      - V(inventory) changes nothing and returns what the node's runtime holds (RV(inventory)), for O(state=exported).
      - V(exported), run on the controller, writes to O(dest) a sparse OCI layout holding only what one node lacks, judged
        against that node's O(inventory); ship it to the node and preload from it there. This is what the C(preload) role does.
      - V(received) sends the export archive O(archive) from the controller to the node in one stream, over the connection
        Ansible already has, and unpacks it there into the OCI layout O(dest), every blob checked against its digest before it
        takes its name. Preload from O(dest) next.
    type: str
    choices: [present, inventory, exported, received]
    default: present
  source:
    description:
      - Where the images come from (on the node; on the controller for O(state=exported)). Required unless O(state=inventory).
      - C(oci:DIR) an OCI image layout such as the bundle's C(images/); C(docker-archive:FILE) a C(docker save) tar;
        C(docker://HOST[/PREFIX]) the enclave registry, where each image lives under its original path below the prefix
        (as M(airlock.airgap.image_copy) put it there).
    type: str
  images:
    description:
      - The images to preload, each a reference as pods name it (C(docker.io/library/redis:7.2)) or a dict with C(name) and C(digest).
      - A digest pins the image; a source holding anything else under that name is an error.
      - Empty means every image an OCI layout or docker-archive holds. Required for a registry source.
    type: list
    elements: raw
    default: []
  mirror:
    description:
      - The mirror C(HOST[/PREFIX]) the deployment pulls from; every image is also named there. Defaults to the registry of a
        C(docker://) O(source).
    type: str
  platform:
    description: The platform to import, C(os/arch[/variant]). Defaults to the runtime's own.
    type: str
  runtime:
    description:
      - V(auto) looks for k3s/RKE2's containerd, then a containerd that has the O(namespace), then Docker, then any containerd.
    type: str
    choices: [auto, containerd, docker]
    default: auto
  socket:
    description: The runtime's socket, when it is not in its usual place.
    type: path
  namespace:
    description: The containerd namespace. Kubernetes (the CRI) uses C(k8s.io).
    type: str
    default: k8s.io
  ctr_path:
    description: The C(ctr) binary. Defaults to C(ctr) on PATH, then where k3s and RKE2 keep it.
    type: path
  snapshotter:
    description:
      - The containerd snapshotter to unpack into; it must be the one the node's CRI uses (C(overlayfs) unless configured
        otherwise, for example C(stargz) or C(zfs)). Defaults to ctr's default.
    type: str
  import_timeout:
    description: Seconds one containerd import may take before it is stopped (and the images left under their old names).
    type: int
    default: 3600
  import_jobs:
    description:
      - containerd imports in this many parallel streams, first storing the blobs, then unpacking images (images sharing
        layers in the same stream, bases first), which uses the node's cores where one C(ctr import) gunzips one layer at a time.
      - V(1) imports in one stream. Defaults to the node's CPU count, at most 4.
    type: int
  dest:
    description:
      - With O(state=exported), where the sparse OCI layout is written (a directory, or one file with O(format=archive)).
      - With O(state=received), the directory on the node the shipped archive is unpacked into (replaced when it is an earlier one).
    type: path
  format:
    description:
      - With O(state=exported), V(layout) writes an OCI layout directory; V(archive) writes it as one tar (an OCI archive), to
        ship with O(state=received).
    type: str
    choices: [layout, archive]
    default: layout
  archive:
    description:
      - With O(state=received), the export archive on the controller (O(state=exported) with O(format=archive) wrote it).
        The action sends it to a temporary file on the node, removed afterwards; run without the action (a module process on
        the node), it is a path on the node.
    type: path
  inventory:
    description: With O(state=exported), the RV(inventory) that O(state=inventory) returned on the node.
    type: dict
  progress_file:
    description:
      - With O(state=present), keep this JSON file on the node up to date while the images stream into the runtime (rewritten
        whole, at most once a second, and once when the import ends) with C(bytes_done), C(bytes_total) (the blobs the runtime
        lacks, as RV(bytes_moved) counts them), C(files_done), C(files_total) and C(bytes_per_second).
      - A role runs the step with C(async) and prints it on every poll with M(airlock.airgap.async_wait), as the C(preload) role does.
        Not written in check mode.
    type: path
"""

EXAMPLES = r"""
- name: Preload every image of the bundle into the node's containerd
  airlock.airgap.image_preload:
    source: oci:/srv/bundle/images
    mirror: registry.enclave:5000/mirror

- name: Let each node pull its own platform by digest from the enclave registry (a fleet pulls in parallel)
  airlock.airgap.image_preload:
    source: docker://registry.enclave:5000/mirror
    images:
      - name: docker.io/library/redis:7.2
        digest: sha256:4f1e2d3c5b7a9f8e6d4c2b1a0f0f2c1d5e1b7a4a3f8d6e9c2b5a7f1e3d9c8b6a
    registries:
      - host: registry.enclave:5000
        username: "{{ mirror_user }}"
        password: "{{ mirror_password }}"
        ca_file: /etc/pki/enclave-ca.pem

- name: Learn what a node holds
  airlock.airgap.image_preload:
    state: inventory
  register: node_holds

- name: On the controller, write only what that node lacks
  airlock.airgap.image_preload:
    state: exported
    source: oci:/srv/bundle/images
    inventory: "{{ node_holds.inventory }}"
    dest: /tmp/preload-{{ inventory_hostname }}
  delegate_to: localhost

- name: On the controller, write only what that node lacks as one archive
  airlock.airgap.image_preload:
    state: exported
    format: archive
    source: oci:/srv/bundle/images
    inventory: "{{ node_holds.inventory }}"
    dest: /tmp/preload-{{ inventory_hostname }}.tar
  delegate_to: localhost
  register: node_lacks

- name: Send it to the node in one stream, unpacked there with every blob verified
  airlock.airgap.image_preload:
    state: received
    archive: /tmp/preload-{{ inventory_hostname }}.tar
    dest: /var/tmp/preload
  when: node_lacks.needed > 0

- name: Load a docker save tar into Docker
  airlock.airgap.image_preload:
    source: docker-archive:/tmp/app.tar
    runtime: docker
"""

RETURN = r"""
images:
  description: One entry per image.
  returned: with O(state=present) and O(state=exported)
  type: list
  elements: dict
  contains:
    name:
      description: The image's original reference.
      type: str
      sample: docker.io/library/redis:7.2
    digest:
      description: The digest every name points at (the multi-arch index when there is one).
      type: str
    manifest:
      description: The node platform's image manifest.
      type: str
    config:
      description: The config digest, which is the image ID in Docker.
      type: str
    action:
      description: V(imported), V(tagged) (present, names added) or V(unchanged) (present under all its names).
      type: str
    names:
      description: Every name the image has (or would have) in the runtime.
      type: list
      elements: str
    replaced:
      description: Names that pointed at another digest or image ID before, with that value.
      type: dict
    bytes:
      description: Size of the image's config and compressed layers for this platform.
      type: int
runtime:
  description: C(containerd) or C(docker).
  returned: with O(state=present)
  type: str
socket:
  description: The runtime's socket.
  returned: with O(state=present)
  type: str
platform:
  description: The platform imported (or exported).
  returned: with O(state=present) and O(state=exported)
  type: str
  sample: linux/amd64
imported:
  description: Images imported.
  returned: with O(state=present)
  type: int
tagged:
  description: Images that were present and got missing names.
  returned: with O(state=present)
  type: int
unchanged:
  description: Images already present under every name (named so that Ansible never reads it as the task's skip status).
  returned: with O(state=present)
  type: int
replaced:
  description: Images that took over a name from another image.
  returned: with O(state=present)
  type: int
bytes_moved:
  description: Bytes streamed into the runtime (blobs it lacked, and manifests).
  returned: with O(state=present)
  type: int
blobs_moved:
  description: Blobs streamed into the runtime.
  returned: with O(state=present)
  type: int
seconds:
  description: Wall-clock time.
  returned: with O(state=present)
  type: float
inventory:
  description:
    - What the node's runtime holds, for O(state=exported) - C(kind), C(socket), C(platform), and for containerd C(targets)
      (name to digest), C(blobs) and C(snapshots), for Docker C(tags), C(ids) and C(chains).
  returned: with O(state=inventory)
  type: dict
path:
  description: The sparse layout (or archive) written, or the layout the shipped archive was unpacked into.
  returned: with O(state=exported) and O(state=received)
  type: str
blobs:
  description: Blobs unpacked from the shipped archive, each verified.
  returned: with O(state=received)
  type: int
bytes_received:
  description: Bytes of the blobs unpacked from the shipped archive.
  returned: with O(state=received)
  type: int
needed:
  description: Images the node lacks in full or in part; 0 means there is nothing to ship.
  returned: with O(state=exported)
  type: int
bytes_written:
  description: Bytes written into the sparse layout.
  returned: with O(state=exported)
  type: int
to_preload:
  description: The images the node lacks, each C(name) and C(digest), ready to pass as O(images) on the node.
  returned: with O(state=exported)
  type: list
  elements: dict
"""

import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.airlock.airgap.plugins.module_utils.errors import EXPECTED_ERRORS, fail_from_exception
from ansible_collections.airlock.airgap.plugins.module_utils.http import transport as network
from ansible_collections.airlock.airgap.plugins.module_utils.oci import platforms, transports
from ansible_collections.airlock.airgap.plugins.module_utils.runtime import detect, docker as docker_runtime, export, images, inventory, preload, receive

ARGUMENT_SPEC = dict(
    state=dict(type="str", choices=["present", "inventory", "exported", "received"], default="present"),
    source=dict(type="str"),
    images=dict(type="list", elements="raw", default=[]),
    mirror=dict(type="str"),
    platform=dict(type="str"),
    runtime=dict(type="str", choices=["auto", "containerd", "docker"], default="auto"),
    socket=dict(type="path"),
    namespace=dict(type="str", default="k8s.io"),
    ctr_path=dict(type="path"),
    snapshotter=dict(type="str"),
    import_timeout=dict(type="int", default=3600),
    import_jobs=dict(type="int"),
    dest=dict(type="path"),
    format=dict(type="str", choices=["layout", "archive"], default="layout"),
    archive=dict(type="path"),
    inventory=dict(type="dict"),
    progress_file=dict(type="path"),
    **transports.REGISTRIES_ARGUMENT_SPEC,
    **network.ARGUMENT_SPEC,
)
MAX_IMPORT_JOBS = 4
REQUIRED_IF = [("state", "present", ["source"]), ("state", "exported", ["source", "dest", "inventory"]),
               ("state", "received", ["archive", "dest"])]


def node_platform(params, runtime):
    return platforms.parse(params["platform"]) if params["platform"] else runtime.platform()


def run(module, clients):
    """The report for the requested state."""
    params = module.params
    if params["state"] == "received":
        return receive.receive(params["archive"], params["dest"], check_mode=module.check_mode)
    if params["state"] == "exported":
        record = inventory.recorded(params["inventory"])
        platform = platforms.parse(params["platform"] or params["inventory"].get("platform") or "")
        wanted = images.resolve(params["source"], params["images"], platform, params["mirror"], clients)
        return export.export(wanted, record, platform, params["dest"], check_mode=module.check_mode, archive=params["format"] == "archive")
    runtime = detect.runtime(params["runtime"], params["socket"], params["namespace"], params["ctr_path"],
                             snapshotter=params["snapshotter"], import_timeout=params["import_timeout"],
                             import_jobs=params["import_jobs"] or min(MAX_IMPORT_JOBS, os.cpu_count() or 1))
    platform = node_platform(params, runtime)
    if params["state"] == "inventory":
        return {"changed": False, "inventory": inventory.take(runtime, platform)}
    wanted = images.resolve(params["source"], params["images"], platform, params["mirror"], clients)
    return preload.preload(runtime, wanted, platform, check_mode=module.check_mode, progress_path=params["progress_file"])


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, required_if=REQUIRED_IF, supports_check_mode=True)
    params = module.params
    if network.REQUESTS_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("requests"), exception=network.REQUESTS_IMPORT_ERROR)
    if params["runtime"] == "docker" and docker_runtime.DOCKER_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("docker"), exception=docker_runtime.DOCKER_IMPORT_ERROR)
    try:
        clients = transports.clients_for(params)
        report = run(module, clients)
    except EXPECTED_ERRORS as error:
        fail_from_exception(module, error)
    for warning in report.pop("warnings", []):
        module.warn(warning)
    module.exit_json(**report)


if __name__ == "__main__":
    main()
