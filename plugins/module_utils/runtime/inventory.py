# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a node's runtime holds, taken on the node and judged elsewhere.

The controller cannot see a node's containerd, yet it should send each node only what that
node lacks. So the node reports its holdings as plain data, and the controller judges the
images against that record exactly as it would against the live runtime: the records below
answer the same questions the runtimes do.
"""

from __future__ import annotations

from ansible_collections.airlock.airgap.plugins.module_utils.oci import reference as references
from ansible_collections.airlock.airgap.plugins.module_utils.runtime.containerd import ContainerdPlan
from ansible_collections.airlock.airgap.plugins.module_utils.runtime.docker import DockerPlan
from ansible_collections.airlock.airgap.plugins.module_utils.runtime.errors import RuntimeFailure


def take(runtime, platform):
    """The runtime's holdings as JSON-able data."""
    return dict(runtime.holdings(), kind=runtime.kind, socket=runtime.socket, platform=str(platform))


def recorded(data):
    """A record taken by take(), as a plan.NodeRuntime the preload planners judge against."""
    record = RECORDS.get((data or {}).get("kind")) if isinstance(data, dict) else None
    if record is None:
        raise RuntimeFailure("inventory is not a node's record: pass what image_preload with state=inventory returned on that node")
    return record(data)


class _Record:
    """A runtime's holdings as plain data, answering what the live runtime would."""

    kind = ""

    def __init__(self, data):
        self.socket = data["socket"]
        self.data = data

    def holdings(self):
        return self.data


class ContainerdRecord(_Record):
    kind = "containerd"

    def planner(self, platform):
        return ContainerdPlan(self, platform)

    def image_targets(self):
        return dict(self.data["targets"])

    def blobs(self):
        return set(self.data["blobs"])

    def snapshots(self):
        return set(self.data["snapshots"])


class DockerRecord(_Record):
    kind = "docker"

    def planner(self, platform):
        return DockerPlan(self, platform)

    def image_id(self, name):
        if name in self.data["ids"]:
            return name
        return self.data["tags"].get(str(references.parse(name)))

    def chains(self):
        return set(self.data["chains"])


RECORDS = {record.kind: record for record in (ContainerdRecord, DockerRecord)}
