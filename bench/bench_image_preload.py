"""image_preload beside `ctr images import`, per-image archives and one multi-image archive, in one run.

Every first import goes into a fresh containerd; the tools' order alternates between runs:
  first     `ctr -n k8s.io images import` of one amd64 docker-archive per image, sequentially (what users
            do by hand), and of ONE multi-image archive of all the images (shared layers once: ctr at its
            best) vs image_preload of the bundle's OCI layout, run as Ansible runs it (a module process at
            its defaults, and one `ansible-playbook` task beside it)
  noop      the same again with everything present: ctr re-imports; image_preload finds everything in place
  bytes     bytes handed to the runtime: the archives' totals vs image_preload's bytes_moved on a first import
image_preload runs at its defaults: import_jobs is the machine's CPU count (at most 4), so its blobs and then its
unpacking go to containerd in that many parallel streams.
See measure.py for how wall, CPU (client side: containerd's own is not counted) and load are taken.

Usage: python bench/bench_image_preload.py [--preset large] [--runs 3] [--work DIR] [--json FILE]
Needs what `tests/testbed/testbed install` installs (containerd, ctr).
"""

import argparse
import os
import shutil
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(REPO, "bench"), os.path.join(REPO, "tests"), os.path.join(REPO, ".cache", "collections")]

import imageset  # noqa: E402  pylint: disable=wrong-import-position
import measure  # noqa: E402  pylint: disable=wrong-import-position
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
    """One amd64 docker-archive per image (as users make them with `docker save` for each), and one of them all."""
    os.makedirs(out_dir, exist_ok=True)
    clients = transports.Clients()
    endpoints = {ref: transports.expand_source(f"oci:{layout}:{ref}", clients)[0] for ref in refs}
    paths = []
    for index, ref in enumerate(refs):
        path = os.path.join(out_dir, f"image-{index:02d}.tar")
        if not os.path.exists(path):
            endpoint, reference = endpoints[ref]
            archive.write_archive(path, [(endpoint, [transports.layout_name(reference)])], ref, AMD64)
        paths.append(path)
    combined = os.path.join(out_dir, "all-images.tar")
    if not os.path.exists(combined):
        archive.write_archive(combined, [(endpoint, [transports.layout_name(reference)]) for endpoint, reference in endpoints.values()],
                              "all images", AMD64)
    return paths, combined


def ctr_import_all(ctr, socket, paths):
    for path in paths:
        measure.run_quietly([ctr, "--address", socket, "--namespace", "k8s.io", "images", "import", path])


def main():  # pylint: disable=too-many-locals
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", choices=imageset.PRESETS, default="large")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "airlock-bench-preload"))
    parser.add_argument("--json", help="write every sample here")
    args = parser.parse_args()
    tools = install.ensure_all(lambda message: print(message, file=sys.stderr))
    os.makedirs(args.work, exist_ok=True)
    layout = os.path.join(args.work, f"set-{args.preset}")
    summary = imageset.generate(layout, **imageset.PRESETS[args.preset])
    refs = sorted(imageset.ref_names(layout))
    print(f"set: {len(refs)} images, {summary['unique_bytes'] / 1e9:.2f} GB unique; load {measure.load_average():.2f}")
    archives, combined = write_archives(layout, refs, os.path.join(args.work, f"archives-{args.preset}"))
    node = Containerd(os.path.join(args.work, "containerd"), tools)
    moved = {}

    def preload_args():
        return {"source": f"oci:{layout}", "socket": node.socket}

    contenders = [
        ("ctr import, per-image archives", lambda: ctr_import_all(tools["ctr"], node.socket, archives)),
        ("ctr import, one multi-image archive", lambda: ctr_import_all(tools["ctr"], node.socket, [combined])),
        ("image_preload (module process)", lambda: measure.module("image_preload", preload_args(), args.work)),
        ("image_preload (ansible-playbook)", lambda: measure.playbook("image_preload", preload_args(), args.work)),
    ]
    report = {"images": len(refs), "unique_bytes": summary["unique_bytes"], "archive_bytes": sum(os.path.getsize(p) for p in archives),
              "combined_archive_bytes": os.path.getsize(combined)}
    try:
        report["first"] = measure.compare([measure.Tool(name, action, node.reset) for name, action in contenders], args.runs)
        node.reset()  # the first import's report, untimed, on a fresh node (the timed runs' reports are not kept)
        moved["first"] = measure.module("image_preload", preload_args(), args.work)
        moved["noop"] = measure.module("image_preload", preload_args(), args.work)
        report["noop"] = measure.compare([measure.Tool(name, action) for name, action in contenders], args.runs)
    finally:
        node.stop()
    report.update(preload_bytes_moved=moved["first"]["bytes_moved"], noop_changed=moved["noop"]["changed"])
    first = measure.table("first import into a fresh containerd", report["first"], summary["unique_bytes"], "image_preload (module process)")
    measure.table("no-op (everything present)", report["noop"], reference="image_preload (module process)")
    share = first["image_preload (module process)"]["wall"] / first["ctr import, one multi-image archive"]["wall"]
    print(f"\ntarget first import <= 0.8x ctr import of one multi-image archive: {share:.2f}x -> {'met' if share <= 0.8 else 'MISSED'}")
    print(f"bytes handed to the runtime: per-image archives {report['archive_bytes'] / 1e9:.2f} GB, one archive "
          f"{report['combined_archive_bytes'] / 1e9:.2f} GB, image_preload {report['preload_bytes_moved'] / 1e9:.2f} GB; "
          f"no-op changed: {report['noop_changed']}")
    measure.write_report(args.json, report)


if __name__ == "__main__":
    main()
