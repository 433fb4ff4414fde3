# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docker through its SDK: what a node holds, by image ID, and loading a docker-archive stream.

Docker (before its containerd image store) identifies an image by its config digest and names
it by tags only; it cannot hold a name pinned by digest, so those are verified by image ID.
`docker load` moves a tag only after every layer of its image is stored, so a failed load
leaves the tags that were there untouched.
"""

from __future__ import annotations

import os
import traceback

from ansible_collections.airlock.airgap.plugins.module_utils.oci import reference as references
from ansible_collections.airlock.airgap.plugins.module_utils.runtime import feed as feeds
from ansible_collections.airlock.airgap.plugins.module_utils.runtime.errors import RuntimeFailure
from ansible_collections.airlock.airgap.plugins.module_utils.runtime.images import chain_ids
from ansible_collections.airlock.airgap.plugins.module_utils.runtime.machine import node_platform
from ansible_collections.airlock.airgap.plugins.module_utils.runtime.plan import IMPORTED, TAGGED, UNCHANGED, Outcome

try:
    import docker
    import docker.errors
except ImportError:
    DOCKER_IMPORT_ERROR = traceback.format_exc()
else:
    DOCKER_IMPORT_ERROR = None

LOAD_TIMEOUT = 3600


class Docker:
    """One Docker engine on a unix socket."""

    kind = "docker"

    def __init__(self, socket):
        if not os.path.exists(socket):
            raise RuntimeFailure(f"Docker socket {socket} does not exist: is dockerd running on this node? Set socket to its path")
        if DOCKER_IMPORT_ERROR:
            raise RuntimeFailure("the Docker SDK for Python is needed to preload into Docker: pip install docker")
        self.socket = socket
        try:
            self.client = docker.APIClient(base_url=f"unix://{socket}", timeout=LOAD_TIMEOUT, version="auto")
            info = self.client.info()
        except docker.errors.DockerException as error:
            raise RuntimeFailure(f"the Docker daemon at {socket} did not answer: {error}") from error
        self.info = info
        if uses_containerd_image_store(info):
            raise RuntimeFailure(f"the Docker daemon at {socket} keeps its images in containerd (the containerd image store), "
                                 "where image IDs are manifest digests: preload with runtime=containerd, namespace=moby and "
                                 "containerd's own socket instead")

    def __str__(self):
        return f"Docker at {self.socket}"

    def close(self):
        self.client.close()

    def platform(self):
        """The platform the daemon reports, which may differ from the machine's (an emulated daemon)."""
        return node_platform(self.info.get("Architecture", ""))

    def planner(self, platform):
        return DockerPlan(self, platform)

    def prepare(self):
        """Nothing to sweep: a failed load leaves no name behind."""

    def image_id(self, name):
        """The image ID (config digest) a name or ID resolves to, or None."""
        try:
            return self.client.inspect_image(name)["Id"]
        except docker.errors.ImageNotFound:
            return None
        except docker.errors.APIError as error:
            raise RuntimeFailure(f"{self} could not inspect {name}: {error.explanation or error}") from error

    def chains(self):
        """Chain IDs of every layer stack Docker holds: a load may leave those layers out."""
        held = set()
        for summary in self.client.images(all=True):
            layers = self.client.inspect_image(summary["Id"]).get("RootFS", {}).get("Layers", [])
            held.update(chain_ids(layers))
        return held

    def holdings(self):
        """Tags (normalised) and IDs of every image, and the layer chains held."""
        tags, ids = {}, []
        for summary in self.client.images(all=True):
            ids.append(summary["Id"])
            for tag in summary.get("RepoTags") or []:
                if tag != "<none>:<none>":
                    tags[str(references.parse(tag))] = summary["Id"]
        return {"tags": tags, "ids": ids, "chains": sorted(self.chains())}

    def load(self, chunks):
        try:
            for message in self.client.load_image(chunks):
                if "errorDetail" in message:
                    raise RuntimeFailure(f"{self} refused the image stream: {message['errorDetail'].get('message')}")
        except docker.errors.APIError as error:
            raise RuntimeFailure(f"{self} refused the image stream: {error.explanation or error}") from error

    def tag(self, image_id, names):
        for name in names:
            reference = references.parse(name)
            self.client.tag(image_id, reference.name, reference.tag, force=True)


class DockerPlan:
    """plan.Plan for Docker, live or recorded: names by tag only, images by ID, layers by chain."""

    def __init__(self, runtime, platform):
        self.runtime = runtime
        self.platform = platform

    @staticmethod
    def _tags(image):
        return [n for n in image.names if "@" not in n]

    def names(self, image):
        return self._tags(image)

    def missing_layers(self, image):
        held = self.runtime.chains()
        return [d for d, chain in zip(image.layers, chain_ids(image.diff_ids)) if chain not in held]

    def warnings(self, outcomes):
        """Docker cannot name an image by digest: one known only by digest is left untagged, and `docker image prune` removes it."""
        return [f"{o.image.reference} has no tag, and Docker cannot hold a name pinned by digest: it is loaded as image "
                f"{o.image.config_digest} without a name, which 'docker image prune' removes; give it a tag to keep it"
                for o in outcomes if not self._tags(o.image)]

    def judge(self, image):
        held = {n: self.runtime.image_id(n) for n in self._tags(image)}
        replaced = {n: held_id for n, held_id in held.items() if held_id and held_id != image.config_digest}
        if not self.runtime.image_id(image.config_digest):
            return Outcome(image, IMPORTED, replaced)
        if all(held_id == image.config_digest for held_id in held.values()):
            return Outcome(image, UNCHANGED, {})
        return Outcome(image, TAGGED, replaced)

    def apply(self, outcomes, feed):
        to_import = [o.image for o in outcomes if o.action == IMPORTED]
        if to_import:
            self.runtime.load(feeds.docker_archive(to_import, self.runtime.chains(), feed))
        for outcome in outcomes:
            if outcome.action == TAGGED:
                self.runtime.tag(outcome.image.config_digest, self._tags(outcome.image))

    def verify(self, outcomes):
        for outcome in outcomes:
            image = outcome.image
            wrong = [n for n in [image.config_digest, *self._tags(image)] if self.runtime.image_id(n) != image.config_digest]
            if wrong:
                raise RuntimeFailure(f"after preloading, {', '.join(wrong)} in {self.runtime} is not image {image.config_digest}")


def uses_containerd_image_store(info):
    """Docker 24+ with the containerd snapshotter (the default of fresh Docker 29 installs) reports it as its driver."""
    return any("io.containerd.snapshotter" in str(value) for pair in info.get("DriverStatus") or [] for value in pair)
