# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Preloading images into a node's runtime: only what is missing, every name checked by digest after.

For each image the node already has, nothing moves (`unchanged`); one it has under some of its
names gets the rest (`tagged`); one it lacks, or holds incomplete after an interrupted import,
is imported (`imported`), and a name that pointed at another image is moved and reported
(`replaced`). All imports of one run travel in one stream holding each missing blob once.
"""

from __future__ import annotations

import dataclasses
import time

from ansible_collections.airlock.airgap.plugins.module_utils.runtime import feed as feeds
from ansible_collections.airlock.airgap.plugins.module_utils.runtime.containerd import RuntimeFailure, staging_name

UNCHANGED, TAGGED, IMPORTED = "unchanged", "tagged", "imported"


@dataclasses.dataclass
class Outcome:
    image: object  # NodeImage
    action: str
    replaced: dict  # name -> the digest it pointed at before

    def report(self, runtime_kind):
        names = self.image.names if runtime_kind == "containerd" else [n for n in self.image.names if "@" not in n]
        return {"name": str(self.image.reference), "digest": self.image.digest, "manifest": self.image.manifest.digest,
                "config": self.image.config_digest, "action": self.action, "names": names, "replaced": self.replaced,
                "bytes": sum(d["size"] for d in self.image.content)}


def preload(runtime, images, platform, check_mode=False):
    """Bring images (NodeImage) into runtime; returns the module's report."""
    started = time.monotonic()
    if runtime.kind == "containerd" and not check_mode:
        runtime.sweep_stale_staging()  # before the plan reads what is held: what they held may be collected
    plan = planner_for(runtime, platform)
    outcomes = [plan.judge(image) for image in unique(images)]
    feed = feeds.Feed()
    if not check_mode:
        plan.apply(outcomes, feed)
        plan.verify(outcomes)
    reports = [outcome.report(runtime.kind) for outcome in outcomes]
    return {
        "changed": any(o.action != UNCHANGED or o.replaced for o in outcomes),
        "runtime": runtime.kind, "socket": runtime.socket, "platform": str(platform), "images": reports,
        "imported": sum(o.action == IMPORTED for o in outcomes), "tagged": sum(o.action == TAGGED for o in outcomes),
        "unchanged": sum(o.action == UNCHANGED for o in outcomes), "replaced": sum(bool(o.replaced) for o in outcomes),
        "bytes_moved": feed.bytes, "blobs_moved": feed.blobs, "seconds": round(time.monotonic() - started, 3),
        "warnings": _warnings(runtime.kind, outcomes),
    }


def _warnings(runtime_kind, outcomes):
    """Docker cannot name an image by digest: one known only by digest is left untagged, and `docker image prune` removes it."""
    if runtime_kind != "docker":
        return []
    return [f"{o.image.reference} has no tag, and Docker cannot hold a name pinned by digest: it is loaded as image "
            f"{o.image.config_digest} without a name, which 'docker image prune' removes; give it a tag to keep it"
            for o in outcomes if not [n for n in o.image.names if "@" not in n]]


def planner_for(runtime, platform):
    """The planner for a live runtime or a node's record of one (they answer the same questions)."""
    return (_ContainerdPlan if runtime.kind == "containerd" else _DockerPlan)(runtime, platform)


def unique(images):
    """One entry per image digest and original name (the same image listed twice moves once)."""
    seen, kept = set(), []
    for image in images:
        key = (str(image.reference), image.digest)
        if key not in seen:
            seen.add(key)
            kept.append(image)
    return kept


class _ContainerdPlan:
    def __init__(self, runtime, platform):
        self.runtime = runtime
        self.platform = platform
        holdings = runtime.holdings()
        self.targets = holdings["targets"]
        self.blobs = set(holdings["blobs"])
        self.snapshots = set(holdings["snapshots"])

    def judge(self, image):
        replaced = {n: self.targets[n] for n in image.names if n in self.targets and self.targets[n] != image.digest}
        if not image.whole_in(self.blobs, self.snapshots):
            return Outcome(image, IMPORTED, replaced)
        good = [n for n in image.names if self.targets.get(n) == image.digest]
        if not good:
            return Outcome(image, IMPORTED, replaced)  # content without a name: only the manifests travel
        return Outcome(image, UNCHANGED if len(good) == len(image.names) else TAGGED, replaced)

    def apply(self, outcomes, feed):
        to_import = [o.image for o in outcomes if o.action == IMPORTED]
        if to_import:
            stream = feeds.oci_archive(to_import, self.blobs, staging_name, feed)
            try:
                self.runtime.import_stream(stream, self.platform)
                self._check_whole(to_import)
            finally:
                self.runtime.remove(sorted({staging_name(i.digest) for i in to_import} & set(self.runtime.image_targets())))
        for outcome in outcomes:
            if outcome.action == TAGGED:
                self.runtime.tag(next(n for n in outcome.image.names if self.targets.get(n) == outcome.image.digest),
                                 outcome.image.names)

    def _check_whole(self, images):
        """Real names only for images that arrived whole and unpacked."""
        blobs, snapshots = self.runtime.blobs(), self.runtime.snapshots()
        for image in images:
            if not image.whole_in(blobs, snapshots):
                raise RuntimeFailure(f"{image.reference} ({image.digest}) was imported into {self.runtime} but is not complete "
                                     "and unpacked; its names were left as they were. Run again; if it persists, check the node's disk")
            self.runtime.tag(staging_name(image.digest), image.names)

    def verify(self, outcomes):
        targets, blobs, snapshots = self.runtime.image_targets(), self.runtime.blobs(), self.runtime.snapshots()
        for outcome in outcomes:
            wrong = [n for n in outcome.image.names if targets.get(n) != outcome.image.digest]
            if wrong or not outcome.image.whole_in(blobs, snapshots):
                raise RuntimeFailure(f"after preloading, {', '.join(wrong) or outcome.image.reference} in {self.runtime} is not "
                                     f"{outcome.image.digest} complete and unpacked")


class _DockerPlan:
    def __init__(self, runtime, platform):
        self.runtime = runtime
        self.platform = platform

    @staticmethod
    def _tags(image):
        return [n for n in image.names if "@" not in n]

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
