"""image_copy side by side with skopeo on a realistic image set, in one run.

Phases, each timed RUNS times (median reported) with a fresh destination per run:
  full      registry -> registry: skopeo per image (sequential, and PAR in parallel),
            `skopeo sync`, and image_copy
  layout    registry -> one OCI layout: skopeo per image (sequential: parallel skopeo
            loses index.json entries) and image_copy
  noop      the same registry -> registry copy again with everything in place;
            manifest requests counted in the destination registry's access log
  sizes     layout bytes vs unique blob bytes vs per-image docker-archives (amd64)

Usage: python bench/bench_image_copy.py [--preset large] [--runs 3] [--par 4] [--work DIR]
Needs what `tests/testbed/testbed install` installs (docker-registry, skopeo).
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


def measured(reset, action, work):
    """A measurement: reset the destination, clear skopeo's cache, then time action(env)."""
    def measure():
        reset()
        env = skopeo_env(work)
        return timed(lambda: action(env))
    return measure


def run(argv):
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def skopeo_env(work):
    """skopeo's blob-info cache would otherwise remember blobs between runs."""
    env = dict(os.environ, XDG_DATA_HOME=os.path.join(work, "xdg"), _CONTAINERS_ROOTLESS_UID="0")
    shutil.rmtree(os.path.join(work, "xdg"), ignore_errors=True)
    return env


def skopeo_copy(skopeo, source, destination, env):
    subprocess.run([skopeo, "copy", "-q", "--all", "--src-tls-verify=false", "--dest-tls-verify=false", source, destination],
                   check=True, env=env, stdout=subprocess.DEVNULL)


def skopeo_parallel(skopeo, pairs, env, parallel):
    running = []
    for source, destination in pairs:
        if len(running) >= parallel:
            running.pop(0).wait()
        argv = [skopeo, "copy", "-q", "--all", "--src-tls-verify=false", "--dest-tls-verify=false", source, destination]
        running.append(subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL))  # pylint: disable=consider-using-with
    for process in running:
        if process.wait() != 0:
            raise RuntimeError("a parallel skopeo copy failed")


def skopeo_sync(skopeo, source_registry, refs, destination, env, work):
    repos = {}
    for ref in refs:
        repository, tag = ref.rsplit(":", 1)
        repos.setdefault(repository, []).append(tag)
    config = os.path.join(work, "sync.yaml")
    with open(config, "w", encoding="utf-8") as handle:
        json.dump({source_registry: {"tls-verify": False, "images": repos}}, handle)
    # Without --scoped, sync keeps the last path element: <destination>/bench/imgNN, as the others write.
    subprocess.run([skopeo, "sync", "--all", "--src", "yaml", "--dest", "docker", "--dest-tls-verify=false",
                    config, f"{destination}/bench"], check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def ours(sources, destination, insecure_hosts, concurrency=8, image_concurrency=4):
    """image_copy's engine in-process, exactly as the module drives it; returns the results."""
    clients = transports.Clients({host: transports.RegistrySettings(insecure=True) for host in insecure_hosts})
    copier = engine.Copier(concurrency)
    try:
        jobs = [(s, d, None) for s, d in transports.plan(sources, destination, clients)]
        results, failures = engine.copy_many(copier, jobs, image_concurrency)
    finally:
        copier.close()
    if failures:
        raise RuntimeError(f"image_copy failed: {failures[0][1]}")
    return results, clients.requests_sent


def main():  # pylint: disable=too-many-locals,too-many-statements
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="large", choices=sorted(imageset.PRESETS))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--par", type=int, default=4)
    parser.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "airlock-bench"))
    args = parser.parse_args()
    tools = install.ensure_all(lambda message: print(message, file=sys.stderr))
    skopeo = tools["skopeo"]
    os.makedirs(args.work, exist_ok=True)
    set_dir = os.path.join(args.work, f"set-{args.preset}")
    summary = imageset.generate(set_dir, **imageset.PRESETS[args.preset])
    refs = sorted(imageset.ref_names(set_dir))
    source = Registry(os.path.join(args.work, "reg-src"), tools).reset()
    destination = Registry(os.path.join(args.work, "reg-dst"), tools).start()
    rows = []
    try:
        ours([f"oci:{set_dir}"], f"docker://{source.address}", [source.address])
        src_images = [f"{source.address}/{ref}" for ref in refs]

        def fresh(action):
            return measured(destination.reset, action, args.work)

        full = {
            "skopeo copy, sequential": fresh(lambda env: [skopeo_copy(skopeo, f"docker://{i}", f"docker://{destination.address}/{i.split('/', 1)[1]}", env)
                                                          for i in src_images]),
            f"skopeo copy, {args.par} in parallel": fresh(lambda env: skopeo_parallel(
                skopeo, [(f"docker://{i}", f"docker://{destination.address}/{i.split('/', 1)[1]}") for i in src_images], env, args.par)),
            "skopeo sync": fresh(lambda env: skopeo_sync(skopeo, source.address, refs, destination.address, env, args.work)),
            "image_copy": fresh(lambda env: ours(src_images, f"docker://{destination.address}", [source.address, destination.address])),
        }
        for name, measure in full.items():
            median, samples = median_of(args.runs, measure)
            rows.append(("full registry->registry", name, median, samples))

        layout_dir = os.path.join(args.work, "layout")

        def layout_run(action):
            return measured(lambda: shutil.rmtree(layout_dir, ignore_errors=True), action, args.work)

        layout = {
            "skopeo copy, sequential": layout_run(lambda env: [skopeo_copy(skopeo, f"docker://{i}", f"oci:{layout_dir}:{i}", env)
                                                               for i in src_images]),
            "image_copy": layout_run(lambda env: ours(src_images, f"oci:{layout_dir}", [source.address])),
        }
        for name, measure in layout.items():
            median, samples = median_of(args.runs, measure)
            rows.append(("registry->OCI layout", name, median, samples))
        layout_bytes = sum(os.path.getsize(os.path.join(root, f)) for root, _dirs, files in os.walk(os.path.join(layout_dir, "blobs"))
                           for f in files)

        destination.reset()
        ours(src_images, f"docker://{destination.address}", [source.address, destination.address])
        noop = {
            "skopeo copy, sequential": lambda: timed(lambda: [skopeo_copy(skopeo, f"docker://{i}", f"docker://{destination.address}/{i.split('/', 1)[1]}",
                                                                          skopeo_env(args.work)) for i in src_images]),
            "skopeo sync": lambda: timed(lambda: skopeo_sync(skopeo, source.address, refs, destination.address, skopeo_env(args.work), args.work)),
            "image_copy": lambda: timed(lambda: ours(src_images, f"docker://{destination.address}", [source.address, destination.address])),
        }
        manifest_requests = {}
        for name, measure in noop.items():
            before = destination.manifest_requests()
            median, samples = median_of(args.runs, measure)
            manifest_requests[name] = (destination.manifest_requests() - before) / args.runs
            rows.append(("no-op re-run", name, median, samples))
    finally:
        source.stop()
        destination.stop()
    report(rows, manifest_requests, summary, layout_bytes, len(refs))


def report(rows, manifest_requests, summary, layout_bytes, image_count):
    print(f"\n{'phase':26} {'tool':28} {'median s':>9}  runs")
    for phase, name, median, samples in rows:
        print(f"{phase:26} {name:28} {median:9.2f}  {' '.join(f'{s:.2f}' for s in samples)}")
    by_phase = {}
    for phase, name, median, _samples in rows:
        by_phase.setdefault(phase, {})[name] = median
    print("\nratios (tool time / image_copy time; above 1 means image_copy is faster):")
    for phase, tools in by_phase.items():
        for name, median in tools.items():
            if name != "image_copy":
                print(f"  {phase:26} {name:28} {median / tools['image_copy']:6.2f}x")
    print("\nmanifest requests at the destination per no-op run "
          f"({image_count} images): " + ", ".join(f"{k}: {v:.0f}" for k, v in manifest_requests.items()))
    unique = summary["unique_bytes"]
    archives = summary["sum_amd64_uncompressed_bytes"]
    print(f"sizes: unique blobs {unique / 1e9:.2f} GB; our layout {layout_bytes / 1e9:.2f} GB "
          f"({layout_bytes / unique:.3f}x unique); per-image amd64 docker-archives would hold {archives / 1e9:.2f} GB")


if __name__ == "__main__":
    main()
