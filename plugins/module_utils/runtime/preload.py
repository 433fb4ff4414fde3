# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Preloading images into a node's runtime: only what is missing, every name checked by digest after.

For each image the node already has, nothing moves (`unchanged`); one it has under some of its
names gets the rest (`tagged`); one it lacks, or holds incomplete after an interrupted import,
is imported (`imported`), and a name that pointed at another image is moved and reported
(`replaced`). All imports of one run travel in one stream holding each missing blob once, counted as it moves
(feed.Feed) into the run's progress file when it has one.
How a runtime judges, imports and verifies is its plan's business (plan.Plan); nothing here
knows which runtime it speaks to.
"""

from __future__ import annotations

import time

from ansible_collections.airlock.airgap.plugins.module_utils.report.progress import Progress
from ansible_collections.airlock.airgap.plugins.module_utils.runtime import feed as feeds
from ansible_collections.airlock.airgap.plugins.module_utils.runtime.plan import IMPORTED, TAGGED, UNCHANGED


def preload(runtime, images, platform, check_mode=False, progress_path=None):
    """Bring images (NodeImage) into runtime (plan.LiveRuntime); returns the module's report. progress_path: where the
    bytes streamed so far are written while they move, and once more when the import ends (None writes nothing)."""
    started = time.monotonic()
    if not check_mode:
        runtime.prepare()  # before the plan reads what is held: what a killed run held may be collected
    plan = runtime.planner(platform)
    outcomes = [plan.judge(image) for image in unique(images)]
    feed = feeds.Feed(Progress(None if check_mode else progress_path))
    if not check_mode:
        try:
            plan.apply(outcomes, feed)
        finally:
            feed.progress.finish()
        plan.verify(outcomes)
    return {
        "changed": any(o.action != UNCHANGED or o.replaced for o in outcomes),
        "runtime": runtime.kind, "socket": runtime.socket, "platform": str(platform), "images": [o.report(plan) for o in outcomes],
        "imported": sum(o.action == IMPORTED for o in outcomes), "tagged": sum(o.action == TAGGED for o in outcomes),
        "unchanged": sum(o.action == UNCHANGED for o in outcomes), "replaced": sum(bool(o.replaced) for o in outcomes),
        "bytes_moved": feed.bytes, "blobs_moved": feed.blobs, "seconds": round(time.monotonic() - started, 3),
        "warnings": plan.warnings(outcomes),
    }


def unique(images):
    """One entry per image digest and original name (the same image listed twice moves once)."""
    seen, kept = set(), []
    for image in images:
        key = (str(image.reference), image.digest)
        if key not in seen:
            seen.add(key)
            kept.append(image)
    return kept
