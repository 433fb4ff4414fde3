# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""containerd through `ctr`, the client that ships with it (and with k3s and RKE2).

Images are imported under a staging name first and given their real names only once the
import has finished and the image is complete and unpacked: `ctr import` names images
before it unpacks them, so a failed or killed import would otherwise leave a real name
(one that pods use) pointing at an image that cannot run. Staging names carry the importing
process's PID, so two runs on one node never touch each other's, and the names a killed
run left behind are recognisable and swept.
"""

from __future__ import annotations

import concurrent.futures
import os
import re
import shutil
import subprocess
import tempfile
import threading

from ansible_collections.airlock.airgap.plugins.module_utils.runtime import feed as feeds, waves
from ansible_collections.airlock.airgap.plugins.module_utils.runtime.errors import RuntimeFailure
from ansible_collections.airlock.airgap.plugins.module_utils.runtime.machine import node_platform
from ansible_collections.airlock.airgap.plugins.module_utils.runtime.plan import IMPORTED, TAGGED, UNCHANGED, Outcome

STAGING_REGISTRY = "airlock-preload.invalid"  # .invalid: never a real registry, so never a name pods use
STAGING_NAME = re.compile(re.escape(STAGING_REGISTRY) + r"/run-(\d+):")
KNOWN_CTR_PATHS = ("/var/lib/rancher/rke2/bin/ctr", "/usr/local/bin/ctr", "/usr/bin/ctr")
QUERY_TIMEOUT = 120


def staging_name(digest):
    """This process's staging name for an image digest."""
    return f"{STAGING_REGISTRY}/run-{os.getpid()}:{digest.replace(':', '-')}"


def is_own_staging(name):
    """A staging name of this process (the parallel content streams add a suffix to theirs)."""
    return name.startswith(f"{STAGING_REGISTRY}/run-{os.getpid()}:")


def is_stale_staging(name):
    """A staging name whose importing process is gone."""
    match = STAGING_NAME.match(name)
    return bool(match) and not os.path.exists(f"/proc/{match.group(1)}")


def find_ctr(explicit=None):
    """The ctr binary: the one given, else on PATH, else where k3s and RKE2 put theirs."""
    if explicit:
        if not os.access(explicit, os.X_OK):
            raise RuntimeFailure(f"ctr binary {explicit} does not exist or is not executable; set ctr_path to containerd's ctr")
        return explicit
    found = shutil.which("ctr") or next((p for p in KNOWN_CTR_PATHS if os.access(p, os.X_OK)), None)
    if not found:
        raise RuntimeFailure("no ctr binary found on PATH or in " + ", ".join(KNOWN_CTR_PATHS) + "; set ctr_path")
    return found


class Containerd:
    """One containerd namespace on one socket, unpacking into one snapshotter."""

    kind = "containerd"

    def __init__(self, socket, namespace="k8s.io", ctr_path=None, snapshotter=None, import_timeout=3600, import_jobs=1):  # pylint: disable=too-many-arguments
        if not os.path.exists(socket):
            raise RuntimeFailure(f"containerd socket {socket} does not exist: is containerd running on this node? "
                                 "Set socket to its address (k3s and RKE2 use /run/k3s/containerd/containerd.sock)")
        self.socket = socket
        self.namespace = namespace
        self.ctr = find_ctr(ctr_path)
        self.snapshotter = ["--snapshotter", snapshotter] if snapshotter else []
        self.import_timeout = import_timeout
        self.import_jobs = max(1, import_jobs)

    def __str__(self):
        return f"containerd at {self.socket} (namespace {self.namespace})"

    # --- what is there ------------------------------------------------------------------

    def image_targets(self):
        """{image name: digest it points at}."""
        rows = self._run("images", "ls").splitlines()[1:]
        return {fields[0]: fields[2] for fields in (row.split() for row in rows) if len(fields) >= 3}

    def blobs(self):
        """Digests in the content store, so an import can leave out what the node already has."""
        return set(self._run("content", "ls", "--quiet").split())

    def snapshots(self):
        """Committed snapshot keys: an unpacked layer stack is keyed by its chain ID."""
        rows = self._run("snapshots", *self.snapshotter, "ls").splitlines()[1:]
        return {fields[0] for fields in (row.split() for row in rows) if fields and fields[-1] == "Committed"}

    def holdings(self):
        return {"targets": self.image_targets(), "blobs": sorted(self.blobs()), "snapshots": sorted(self.snapshots())}

    def planner(self, platform):
        return ContainerdPlan(self, platform)

    @staticmethod
    def platform():
        """containerd runs the node's own architecture."""
        return node_platform()

    # --- changing it --------------------------------------------------------------------

    def prepare(self):
        """Remove staging names of killed runs, and wait for the collector, so what they held is not counted as held."""
        self.remove(sorted(name for name in self.image_targets() if is_stale_staging(name)), wait_for_collection=True)

    def import_stream(self, chunks, platform, unpack=True):
        """Feed an OCI archive stream to `ctr images import`; raises with ctr's own words on failure."""
        argv = self._argv("images", "import", *self.snapshotter, "--platform", str(platform), *([] if unpack else ["--no-unpack"]), "-")
        with tempfile.TemporaryFile() as output:
            process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=output, stderr=subprocess.STDOUT)  # pylint: disable=consider-using-with
            watchdog = threading.Timer(self.import_timeout, process.kill)
            watchdog.start()
            try:
                _feed(process, chunks)
                status = process.wait()
            finally:
                watchdog.cancel()
                if process.poll() is None:
                    process.kill()
                    process.wait()
            if status != 0:
                output.seek(0)
                timed_out = f" after the {self.import_timeout} s import_timeout" if status == -9 else ""
                raise RuntimeFailure(f"ctr images import into {self} failed (exit {status}){timed_out}: "
                                     f"{_last_lines(output.read().decode(errors='replace'))}")

    def tag(self, source, names):
        self._run("images", "tag", "--force", source, *names)

    def remove(self, names, wait_for_collection=False):
        if names:
            self._run("images", "rm", *(["--sync"] if wait_for_collection else []), *names)

    def _argv(self, *args):
        return [self.ctr, "--address", self.socket, "--namespace", self.namespace, *args]

    def _run(self, *args):
        try:
            completed = subprocess.run(self._argv(*args), capture_output=True, text=True, timeout=QUERY_TIMEOUT, check=False)
        except subprocess.TimeoutExpired as error:
            raise RuntimeFailure(f"ctr {' '.join(args)} on {self} did not answer within {QUERY_TIMEOUT} s") from error
        if completed.returncode != 0:
            raise RuntimeFailure(f"ctr {' '.join(args)} on {self} failed: {_last_lines(completed.stderr or completed.stdout)}")
        return completed.stdout


class ContainerdPlan:
    """plan.Plan for containerd, live or recorded: every name by tag and digest, content and snapshots judged."""

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

    @staticmethod
    def names(image):
        return list(image.names)

    def missing_layers(self, image):
        return [d for d in image.layers if d["digest"] not in self.blobs]

    @staticmethod
    def warnings(_outcomes):
        return []

    def apply(self, outcomes, feed):
        to_import = [o.image for o in outcomes if o.action == IMPORTED]
        if to_import:
            try:
                self._import(to_import, feed)
                self._check_whole(to_import)
            finally:
                self.runtime.remove(sorted(name for name in self.runtime.image_targets() if is_own_staging(name)))
        for outcome in outcomes:
            if outcome.action == TAGGED:
                self.runtime.tag(next(n for n in outcome.image.names if self.targets.get(n) == outcome.image.digest),
                                 outcome.image.names)

    def _import(self, images, feed):
        """One stream, or with import_jobs above 1, the blobs and then the unpacking split between parallel streams (waves.py).

        Every content stream names every image (under a staging name of its own: ctr refuses to create one name twice at
        once), so a blob one stream stored is referenced, and safe from containerd's collector, as soon as any stream has
        ended; the unpacking streams then carry the index alone."""
        named = feeds.staging_annotations(staging_name)
        jobs = self.runtime.import_jobs
        if jobs == 1 or len(images) == 1:
            self.runtime.import_stream(feeds.oci_archive(images, self.blobs, named, feed), self.platform)
            return
        _side_by_side([lambda have=have, number=number: self.runtime.import_stream(
            feeds.oci_archive(images, have, feeds.staging_annotations(lambda digest: f"{staging_name(digest)}-content{number}"), feed),
            self.platform, unpack=False) for number, have in enumerate(waves.blob_shares(images, self.blobs, jobs))])
        stored = {digest for image in images for digest in (image.root.digest, image.manifest.digest, *(d["digest"] for d in image.content))}
        for wave in waves.unpack_waves(images, jobs):
            _side_by_side([lambda group=group: self.runtime.import_stream(feeds.oci_archive(group, stored, named, feed), self.platform)
                           for group in wave])

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


def _side_by_side(actions):
    """Run the actions in parallel threads; the first failure is raised once all have ended (a failed stream stops its own ctr)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(actions)) as pool:
        futures = [pool.submit(action) for action in actions]
    for future in futures:
        future.result()


def _feed(process, chunks):
    """Write the stream to ctr; if ctr stops reading, its exit status and output say why. Any other error
    (a blob that fails its digest) kills ctr first, so it never sees the end of the archive."""
    try:
        for chunk in chunks:
            process.stdin.write(chunk)
    except BrokenPipeError:
        pass
    except BaseException:
        process.kill()
        raise
    finally:
        try:
            process.stdin.close()
        except BrokenPipeError:
            pass


def _last_lines(text, count=5):
    return " | ".join(text.strip().splitlines()[-count:]) or "no output"
