# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The seam between preloading and the runtimes: two small interfaces, one per side of a node's runtime.

A `NodeRuntime` is what image_preload talks to: a live runtime on the node (containerd.Containerd,
docker.Docker) or a record of one taken there and judged on the controller (inventory's records).
Each hands out a `Plan` of its own kind, which judges images against what the runtime holds, says
which layers a node lacks, imports what is missing and checks every name after. Preloading and
exporting only ever speak to these two interfaces, so a runtime is added by implementing them
(like go-containerregistry's `daemon` and `tarball` sinks behind one `Image`), never by a branch
on its name.
"""

from __future__ import annotations

import dataclasses
from typing import Protocol

UNCHANGED, TAGGED, IMPORTED = "unchanged", "tagged", "imported"


@dataclasses.dataclass
class Outcome:
    """What one image needs on one node, and which of its names pointed elsewhere before."""

    image: object  # images.NodeImage
    action: str
    replaced: dict  # name -> the digest or image ID it pointed at before

    def report(self, plan):
        return {"name": str(self.image.reference), "digest": self.image.digest, "manifest": self.image.manifest.digest,
                "config": self.image.config_digest, "action": self.action, "names": plan.names(self.image),
                "replaced": self.replaced, "bytes": sum(d["size"] for d in self.image.content)}


class Plan(Protocol):
    """One run's judgement of images against one runtime's holdings, and the changes that follow from it."""

    def names(self, image) -> list:
        """The names the runtime can give the image (Docker holds no name pinned by digest)."""

    def judge(self, image) -> Outcome:
        """Imported, tagged or unchanged, with the names that pointed at something else."""

    def missing_layers(self, image) -> list:
        """The layer descriptors the runtime lacks, so an export ships only those."""

    def apply(self, outcomes, feed) -> None:
        """Import what is missing in one stream (counted in feed) and add missing names."""

    def verify(self, outcomes) -> None:
        """Raise unless every name now points at its image, complete."""

    def warnings(self, outcomes) -> list:
        """What the user should know about how the runtime holds these images."""


class NodeRuntime(Protocol):
    """A node's runtime, live or recorded: what image_preload and the export need of it."""

    kind: str  # "containerd" or "docker", as reports and inventory records name it
    socket: str

    def holdings(self) -> dict:
        """What it holds, as JSON-able data (the inventory record's body)."""

    def planner(self, platform) -> Plan:
        """A plan over what it holds now."""


class LiveRuntime(NodeRuntime, Protocol):
    """A runtime on this node, which a run changes."""

    def prepare(self) -> None:
        """Make it ready for a run that changes it (containerd sweeps the staging names of killed runs)."""

    def platform(self):
        """The node's own platform, as the runtime sees it."""
