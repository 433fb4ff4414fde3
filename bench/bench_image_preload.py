"""image_preload side by side with `ctr images import` of per-image docker-archives, in one run.

Phases, each timed RUNS times (median reported), every first import into a fresh containerd:
  first     sequential `ctr -n k8s.io images import` of one amd64 docker-archive per image
            (what users do by hand) vs image_preload of the bundle's OCI layout (all images)
  noop      the same again with everything present: ctr re-imports every archive; image_preload
            (run as Ansible runs it, a module process) finds everything in place
  bytes     bytes handed to the runtime: the archives' total vs image_preload's bytes_moved

Usage: python bench/bench_image_preload.py [--preset large] [--runs 1] [--work DIR]
Needs what `tests/testbed/testbed install` installs (containerd, ctr).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(REPO, "bench"), os.path.join(REPO, "tests"), os.path.join(REPO, ".cache", "collections")]

import imageset  # noqa: E402  pylint: disable=wrong-import-position
from measure import median_of, timed  # noqa: E402  pylint: disable=wrong-import-position
from testbed import install, processes, services  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.airlock.airgap.plugins.module_utils.oci import archive, platforms, transports  # noqa: E402  pylint: disable=wrong-import-position

AMD64 = platforms.Platform("linux", "amd64")


class Containerd:
    """A containerd of the bench's own, restartable empty."""

    def __init__(self, home, tools):
        self.home, self.tools = home, tools
        self.record = None

    @property
    def socket(self):
        return self.record["env"]["AIRLOCK_CONTAINERD_SOCKET"]

    def reset(self):
        self.stop()
        shutil.rmtree(self.home, ignore_errors=True)
        os.makedirs(self.home)
        self.record = services.start_containerd(self.home, self.tools)

    def stop(self):
        if self.record:
            processes.stop(self.record["pids"], self.home)
            self.record = None


def write_archives(layout, refs, out_dir):
    """One amd64 docker-archive per image, as users make them with `docker save` for each node."""
    os.makedirs(out_dir, exist_ok=True)
    clients = transports.Clients()
    paths = []
    for index, ref in enumerate(refs):
        path = os.path.join(out_dir, f"image-{index:02d}.tar")
        if not os.path.exists(path):
            (endpoint, reference), = transports.expand_source(f"oci:{layout}:{ref}", clients)
            archive.write_archive(path, [(endpoint, [transports.layout_name(reference)])], ref, AMD64)
        paths.append(path)
    return paths


def ctr_import_all(ctr, socket, paths):
    for path in paths:
        subprocess.run([ctr, "--address", socket, "--namespace", "k8s.io", "images", "import", path],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def preload_module(socket, layout, work):
    """image_preload as Ansible runs it: its own process, JSON in and out."""
    args = os.path.join(work, "preload-args.json")
    with open(args, "w", encoding="utf-8") as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": {"source": f"oci:{layout}", "socket": socket, "platform": str(AMD64)}}, handle)
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, ".cache", "collections"))
    completed = subprocess.run([sys.executable, "-m", "ansible_collections.airlock.airgap.plugins.modules.image_preload", args],
                               capture_output=True, text=True, check=False, env=env)
    result = json.loads(completed.stdout)
    if result.get("failed"):
        raise RuntimeError(result["msg"])
    return result


def main():  # pylint: disable=too-many-locals
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", choices=imageset.PRESETS, default="large")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "airlock-bench-preload"))
    args = parser.parse_args()
    tools = install.ensure_all(lambda message: print(message, file=sys.stderr))
    os.makedirs(args.work, exist_ok=True)
    layout = os.path.join(args.work, f"set-{args.preset}")
    summary = imageset.generate(layout, **imageset.PRESETS[args.preset])
    refs = sorted(imageset.ref_names(layout))
    print(f"set: {len(refs)} images, {summary['unique_bytes'] / 1e9:.2f} GB unique; writing per-image amd64 docker-archives", file=sys.stderr)
    archives = write_archives(layout, refs, os.path.join(args.work, f"archives-{args.preset}"))
    node = Containerd(os.path.join(args.work, "containerd"), tools)
    results, moved = {}, {}
    try:
        def fresh_then(action):
            def measure():
                node.reset()
                return timed(action)
            return measure

        def ours():
            moved["first"] = preload_module(node.socket, layout, args.work)

        results["ctr import (first)"] = median_of(args.runs, fresh_then(lambda: ctr_import_all(tools["ctr"], node.socket, archives)))
        results["ctr import (no-op)"] = median_of(args.runs, lambda: timed(lambda: ctr_import_all(tools["ctr"], node.socket, archives)))
        results["image_preload (first)"] = median_of(args.runs, fresh_then(ours))
        results["image_preload (no-op)"] = median_of(args.runs, lambda: timed(
            lambda: moved.__setitem__("noop", preload_module(node.socket, layout, args.work))))
    finally:
        node.stop()
    report = {
        "images": len(refs), "unique_bytes": summary["unique_bytes"],
        "archive_bytes": sum(os.path.getsize(p) for p in archives),
        "preload_bytes_moved": moved["first"]["bytes_moved"], "noop_changed": moved["noop"]["changed"],
        "seconds": {name: {"median": round(median, 2), "samples": [round(s, 2) for s in samples]} for name, (median, samples) in results.items()},
    }
    first_ratio = results["ctr import (first)"][0] / results["image_preload (first)"][0]
    noop_ratio = results["ctr import (no-op)"][0] / results["image_preload (no-op)"][0]
    print(json.dumps(report, indent=2))
    print(f"first preload: ctr import {results['ctr import (first)'][0]:.1f} s vs image_preload {results['image_preload (first)'][0]:.1f} s "
          f"({first_ratio:.2f}x); bytes {report['archive_bytes'] / 1e9:.2f} GB vs {report['preload_bytes_moved'] / 1e9:.2f} GB")
    print(f"no-op: ctr import {results['ctr import (no-op)'][0]:.1f} s vs image_preload {results['image_preload (no-op)'][0]:.2f} s "
          f"({noop_ratio:.0f}x)")


if __name__ == "__main__":
    main()
