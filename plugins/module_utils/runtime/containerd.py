# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""containerd through `ctr`, the client that ships with it (and with k3s and RKE2).

Images are imported under a staging name first and given their real names only once the
import has finished and the image is complete and unpacked: `ctr import` names images
before it unpacks them, so a failed or killed import would otherwise leave a real name
(one that pods use) pointing at an image that cannot run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

from ansible_collections.airlock.airgap.plugins.module_utils.oci.errors import OciError

STAGING_REGISTRY = "airlock-preload.invalid"  # .invalid: never a real registry, so never a name pods use
KNOWN_CTR_PATHS = ("/var/lib/rancher/rke2/bin/ctr", "/usr/local/bin/ctr", "/usr/bin/ctr")
QUERY_TIMEOUT = 120


class RuntimeFailure(OciError):
    """The container runtime is missing, unreachable or refused; the message says which and what to do."""


def staging_name(digest):
    return f"{STAGING_REGISTRY}/staged:{digest.replace(':', '-')}"


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
    """One containerd namespace on one socket."""

    kind = "containerd"

    def __init__(self, socket, namespace="k8s.io", ctr_path=None):
        if not os.path.exists(socket):
            raise RuntimeFailure(f"containerd socket {socket} does not exist: is containerd running on this node? "
                                 "Set socket to its address (k3s and RKE2 use /run/k3s/containerd/containerd.sock)")
        self.socket = socket
        self.namespace = namespace
        self.ctr = find_ctr(ctr_path)

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
        rows = self._run("snapshots", "ls").splitlines()[1:]
        return {fields[0] for fields in (row.split() for row in rows) if fields and fields[-1] == "Committed"}

    def holds(self, image):
        """Whether the image's platform content is all in the store and unpacked (a killed import leaves either short)."""
        return image.whole_in(self.blobs(), self.snapshots())

    # --- changing it --------------------------------------------------------------------

    def import_stream(self, chunks, platform):
        """Feed an OCI archive stream to `ctr images import`; raises with ctr's own words on failure."""
        argv = self._argv("images", "import", "--platform", str(platform), "-")
        with tempfile.TemporaryFile() as output:
            with subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=output, stderr=subprocess.STDOUT) as process:
                try:
                    for chunk in chunks:
                        process.stdin.write(chunk)
                    process.stdin.close()
                except BrokenPipeError:
                    pass  # ctr stopped reading: its exit status and output say why
                except BaseException:
                    process.kill()
                    raise
                status = process.wait()
            if status != 0:
                output.seek(0)
                raise RuntimeFailure(f"ctr images import into {self} failed (exit {status}): "
                                     f"{_last_lines(output.read().decode(errors='replace'))}")

    def tag(self, source, names):
        self._run("images", "tag", "--force", source, *names)

    def remove(self, names):
        if names:
            self._run("images", "rm", *names)

    def _argv(self, *args):
        return [self.ctr, "--address", self.socket, "--namespace", self.namespace, *args]

    def _run(self, *args):
        try:
            completed = subprocess.run(self._argv(*args), capture_output=True, text=True, timeout=QUERY_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            raise RuntimeFailure(f"ctr {' '.join(args)} on {self} did not answer within {QUERY_TIMEOUT} s") from None
        if completed.returncode != 0:
            raise RuntimeFailure(f"ctr {' '.join(args)} on {self} failed: {_last_lines(completed.stderr or completed.stdout)}")
        return completed.stdout


def _last_lines(text, count=5):
    return " | ".join(text.strip().splitlines()[-count:]) or "no output"
