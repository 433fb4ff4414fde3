"""image_copy beside skopeo on a realistic image set, in one run.

image_copy runs as Ansible runs it, at its defaults (concurrency 4, image_concurrency 2): a module
process with its JSON arguments, and one `ansible-playbook` task beside it. skopeo runs at its best:
`--all --preserve-digests` (digests kept, nothing re-compressed), per image sequentially, two images
at a time (the module's image_concurrency; --par changes both together), and `skopeo sync`.
Phases, each with a fresh destination before every run, the tools' order alternated between runs:
  full      registry -> registry
  layout    registry -> one OCI layout (skopeo sequential: parallel skopeo loses index.json entries)
  noop      the registry -> registry copy again with everything in place; manifest requests
            counted in the destination registry's access log
  sizes     layout bytes vs unique blob bytes vs per-image docker-archives (amd64)
See measure.py for how wall, CPU and load are taken.

Usage: python bench/bench_image_copy.py [--preset large] [--runs 3] [--par 2] [--work DIR] [--json FILE]
Needs what `tests/testbed/testbed install` installs (docker-registry, skopeo).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(REPO, "bench"), os.path.join(REPO, "tests"), os.path.join(REPO, ".cache", "collections")]

import imageset  # noqa: E402  pylint: disable=wrong-import-position
import measure  # noqa: E402  pylint: disable=wrong-import-position
from testbed import install, processes, services  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.airlock.airgap.plugins.module_utils.oci import copy as engine, transports  # noqa: E402  pylint: disable=wrong-import-position


class Registry:
    """A plain-HTTP distribution registry of the bench's own, restartable empty."""

    def __init__(self, home, tools):
        self.home, self.tools = home, tools
        self.record = None

    def start(self):
        os.makedirs(self.home, exist_ok=True)
        self.record = services.start_public_registry(self.home, self.tools)
        return self

    @property
    def address(self):
        return self.record["env"]["AIRLOCK_PUBLIC_REGISTRY"]

    def manifest_requests(self):
        """Manifest requests of any method (GET, HEAD, PUT) in the registry's access log."""
        with open(self.record["log"], encoding="utf-8", errors="replace") as log:
            return sum(1 for line in log if line.startswith("127.0.0.1 - ") and "/manifests/" in line)

    def reset(self):
        self.stop()
        shutil.rmtree(self.home, ignore_errors=True)
        return self.start()

    def stop(self):
        if self.record:
            processes.stop(self.record["pids"], self.home)
            self.record = None


def skopeo_env(work):
    """skopeo's blob-info cache would otherwise remember blobs between runs."""
    shutil.rmtree(os.path.join(work, "xdg"), ignore_errors=True)
    return dict(os.environ, XDG_DATA_HOME=os.path.join(work, "xdg"), _CONTAINERS_ROOTLESS_UID="0")


def skopeo_copy_argv(skopeo, source, destination):
    return [skopeo, "copy", "-q", "--all", "--preserve-digests", "--src-tls-verify=false", "--dest-tls-verify=false", source, destination]


def skopeo_sequential(skopeo, pairs, work):
    env = skopeo_env(work)
    for source, destination in pairs:
        measure.run_quietly(skopeo_copy_argv(skopeo, source, destination), env=env)


def skopeo_parallel(skopeo, pairs, work, parallel):
    env, running = skopeo_env(work), []
    for source, destination in pairs:
        if len(running) >= parallel:
            if running.pop(0).wait() != 0:
                raise RuntimeError("a parallel skopeo copy failed")
        running.append(subprocess.Popen(skopeo_copy_argv(skopeo, source, destination), env=env,  # pylint: disable=consider-using-with
                                        stdout=subprocess.DEVNULL))
    if any(process.wait() != 0 for process in running):
        raise RuntimeError("a parallel skopeo copy failed")


def skopeo_sync(skopeo, source_registry, refs, destination, work):
    repos = {}
    for ref in refs:
        repository, tag = ref.rsplit(":", 1)
        repos.setdefault(repository, []).append(tag)
    config = os.path.join(work, "sync.yaml")
    with open(config, "w", encoding="utf-8") as handle:
        json.dump({source_registry: {"tls-verify": False, "images": repos}}, handle)
    # Without --scoped, sync keeps the last path element: <destination>/bench/imgNN, as the others write.
    measure.run_quietly([skopeo, "sync", "--all", "--preserve-digests", "--src", "yaml", "--dest", "docker", "--dest-tls-verify=false",
                         config, f"{destination}/bench"], env=skopeo_env(work))


def module_args(images, destination, insecure_hosts, parallel):
    """image_copy's arguments at its defaults; image_concurrency only when --par tunes skopeo too."""
    arguments = {"images": images, "destination": destination, "registries": [{"host": h, "insecure": True} for h in insecure_hosts]}
    if parallel != 2:
        arguments["image_concurrency"] = parallel
    return arguments


def ours_in_process(sources, destination, insecure_hosts):
    """Seeding only (never timed): the engine in-process, to fill the source registry."""
    clients = transports.Clients({host: transports.RegistrySettings(insecure=True) for host in insecure_hosts})
    copier = engine.Copier()
    try:
        jobs = [(s, d, None) for s, d in transports.plan(sources, destination, clients)]
        _results, failures = engine.copy_many(copier, jobs)
    finally:
        copier.close()
    if failures:
        raise RuntimeError(f"image_copy failed: {failures[0][1]}")


def counting(tool, registry, counts):
    """tool whose runs also count the destination's manifest requests into counts[tool.name]."""
    action = tool.action

    def counted():
        before = registry.manifest_requests()
        action()
        counts.setdefault(tool.name, []).append(registry.manifest_requests() - before)
    tool.action = counted
    return tool


def main():  # pylint: disable=too-many-locals
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="large", choices=sorted(imageset.PRESETS))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--par", type=int, default=2, help="skopeo images at a time and the module's image_concurrency (default: its default, 2)")
    parser.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "airlock-bench"))
    parser.add_argument("--json", help="write every sample here")
    args = parser.parse_args()
    tools = install.ensure_all(lambda message: print(message, file=sys.stderr))
    skopeo = tools["skopeo"]
    os.makedirs(args.work, exist_ok=True)
    set_dir = os.path.join(args.work, f"set-{args.preset}")
    summary = imageset.generate(set_dir, **imageset.PRESETS[args.preset])
    refs = sorted(imageset.ref_names(set_dir))
    source = Registry(os.path.join(args.work, "reg-src"), tools).reset()
    destination = Registry(os.path.join(args.work, "reg-dst"), tools).start()
    print(f"{args.preset} set: {len(refs)} images, {summary['unique_bytes'] / 1e9:.2f} GB unique; {os.cpu_count()} cores; "
          f"load {measure.load_average():.2f}")
    report = {"images": len(refs), "unique_bytes": summary["unique_bytes"]}
    try:
        ours_in_process([f"oci:{set_dir}"], f"docker://{source.address}", [source.address])
        src_images = [f"{source.address}/{ref}" for ref in refs]

        def to_registry():  # the destination's port changes with every reset
            return [(f"docker://{i}", f"docker://{destination.address}/{i.split('/', 1)[1]}") for i in src_images]

        def copy_args():
            return module_args(src_images, f"docker://{destination.address}", [source.address, destination.address], args.par)
        copy_tools = [
            measure.Tool("skopeo copy, sequential", lambda: skopeo_sequential(skopeo, to_registry(), args.work)),
            measure.Tool(f"skopeo copy, {args.par} at a time", lambda: skopeo_parallel(skopeo, to_registry(), args.work, args.par)),
            measure.Tool("skopeo sync", lambda: skopeo_sync(skopeo, source.address, refs, destination.address, args.work)),
            measure.Tool("image_copy (module process)", lambda: measure.module("image_copy", copy_args(), args.work)),
            measure.Tool("image_copy (ansible-playbook)", lambda: measure.playbook("image_copy", copy_args(), args.work)),
        ]
        for tool in copy_tools:
            tool.reset = destination.reset
        report["full"] = measure.compare(copy_tools, args.runs)

        layout_dir = os.path.join(args.work, "layout")

        def fresh_layout():
            shutil.rmtree(layout_dir, ignore_errors=True)
        to_layout = [(f"docker://{i}", f"oci:{layout_dir}:{i}") for i in src_images]
        layout_args = module_args(src_images, f"oci:{layout_dir}", [source.address], args.par)
        report["layout"] = measure.compare([
            measure.Tool("skopeo copy, sequential", lambda: skopeo_sequential(skopeo, to_layout, args.work), fresh_layout),
            measure.Tool("image_copy (module process)", lambda: measure.module("image_copy", layout_args, args.work), fresh_layout),
        ], args.runs)
        layout_bytes = sum(os.path.getsize(os.path.join(root, f)) for root, _dirs, files in os.walk(os.path.join(layout_dir, "blobs"))
                           for f in files)

        destination.reset()
        measure.module("image_copy", copy_args(), args.work)
        requests = {}
        noop_tools = [counting(measure.Tool(tool.name, tool.action), destination, requests) for tool in copy_tools]
        report["noop"] = measure.compare(noop_tools, args.runs)
        report["noop_manifest_requests"] = requests
    finally:
        source.stop()
        destination.stop()
    report["layout_bytes"] = layout_bytes
    print_report(report, summary)
    measure.write_report(args.json, report)


def print_report(report, summary):
    full = measure.table("registry -> registry (fresh destination)", report["full"], summary["unique_bytes"], "image_copy (module process)")
    measure.table("registry -> one OCI layout", report["layout"], summary["unique_bytes"], "image_copy (module process)")
    noop = measure.table("no-op re-run (everything in place)", report["noop"], reference="image_copy (module process)")
    images = report["images"]
    print(f"\nmanifest requests at the destination per no-op run ({images} images): "
          + ", ".join(f"{name}: {statistics.median(counts):.0f}" for name, counts in report["noop_manifest_requests"].items()))
    ours, sync = full["image_copy (module process)"], full["skopeo sync"]
    speedup = sync["wall"] / ours["wall"]
    print(f"target >= 1.3x faster than skopeo sync: {speedup:.2f}x -> {'met' if speedup >= 1.3 else 'MISSED'}; "
          f"client CPU {ours['cpu']:.1f} s vs {sync['cpu']:.1f} s -> {'met' if ours['cpu'] <= sync['cpu'] else 'MISSED'}")
    ours_requests = statistics.median(report["noop_manifest_requests"]["image_copy (module process)"])
    print(f"target one manifest request per image on a no-op: {ours_requests:.0f} for {images} -> {'met' if ours_requests <= images else 'MISSED'}")
    share = noop["image_copy (module process)"]["wall"] / noop["skopeo sync"]["wall"]
    print(f"target no-op <= 25% of skopeo sync's: {share:.0%} -> {'met' if share <= 0.25 else 'MISSED'}")
    unique, archives, layout_bytes = summary["unique_bytes"], summary["sum_amd64_uncompressed_bytes"], report["layout_bytes"]
    print(f"sizes: unique blobs {unique / 1e9:.2f} GB; our layout {layout_bytes / 1e9:.2f} GB "
          f"({layout_bytes / unique:.3f}x unique); per-image amd64 docker-archives would hold {archives / 1e9:.2f} GB")


if __name__ == "__main__":
    main()
