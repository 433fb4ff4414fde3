"""The whole flow, connected side to a preloaded node, beside the manual pipeline of the vendor guides, on the same data.

Data: an image set (--preset, default large) in a registry of the bench's own (the connected side's
upstream), and a synthetic model (--model-mb, default 2048, in 512 MB shards) as a plain folder
(--model-mb 0: images only, no model and no S3 step in either pipeline).
Both pipelines go through the same phases; every run starts both sides empty, with a fresh enclave
registry, an empty S3 prefix and a fresh containerd (the node), and the two pipelines alternate
which goes first. Each phase is timed as measure.py times (wall, CPU of the clients, load before).

  phase    ours (modules as Ansible runs them: module processes   manual (the vendor guides)
           at their defaults)
  prepare  image_copy registry -> oci: layout; model_cache       skopeo copy --all --preserve-digests per image into
           staged from the folder; checksum state=present       dir: folders (the model: a Hugging Face cache folder,
                                                                  made beforehand and not timed)
  pack     bundle state=packed (4 GiB volumes), remove_packed:    tar cf of the dir folders and the cache; sha256sum
           each file leaves the tree once it is in a volume
  carry    cp of the volumes to the enclave disk                  cp of the tar and its .sha256
  verify   bundle state=verified                                  sha256sum -c
  unpack   bundle state=unpacked keep_in_volumes=[images, models]  tar xf of everything
           (the rest: the lock, SHA256SUMS)
  publish  image_copy volumes:DIR:NAME -> enclave registry;       skopeo copy --all --preserve-digests per image from the
           model_cache pushed volumes=DIR:NAME to S3 (both read    dir: folders; aws s3 sync of the model cache
           in place from the volumes)
  preload  image_preload from the enclave registry into the       per image: skopeo copy to a docker-archive (docker pull +
           node's containerd                                      docker save, without the shared dockerd) and ctr import

Peak disk is sampled every second over each side's own folders (connected: what the pipeline
writes there; enclave: the carried data and what is unpacked or saved). The registries, the S3 store
and containerd's content store are destinations both pipelines fill alike and are not counted.
Bytes moved: what crosses the gap (volumes, or the tar and its .sha256).

Usage: python bench/bench_flow.py [--preset large] [--model-mb 2048] [--runs 3] [--work DIR] [--json FILE]
Needs what `tests/testbed/testbed install` installs (docker-registry, skopeo, containerd, weed) and awscli
(installed into its own venv under --work on first use).
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(REPO, "bench"), os.path.join(REPO, "tests"), os.path.join(REPO, ".cache", "collections")]

import boto3  # noqa: E402  pylint: disable=wrong-import-position
import imageset  # noqa: E402  pylint: disable=wrong-import-position
import measure  # noqa: E402  pylint: disable=wrong-import-position
from bench_image_copy import Registry, ours_in_process, skopeo_env  # noqa: E402  pylint: disable=wrong-import-position
from bench_image_preload import Containerd  # noqa: E402  pylint: disable=wrong-import-position
from bench_model_cache import BUCKET, awscli, clear, seaweedfs, synthetic_model, warm_up  # noqa: E402  pylint: disable=wrong-import-position
from testbed import install, processes  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.airlock.airgap.plugins.module_utils.models import hf_cache, sources  # noqa: E402  pylint: disable=wrong-import-position

PHASES = ("prepare", "pack", "carry", "verify", "unpack", "publish", "preload")
MODEL_ID = "bench/synthetic-flow"
SHARD_MB = 512


class DiskWatch:
    """The peak of the bytes allocated under some folders, sampled every second in a thread of its own."""

    def __init__(self, *roots):
        self.roots, self.peak = roots, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *_exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.used())

    def used(self):
        total = 0
        for root in self.roots:
            for folder, _dirs, files in os.walk(root):
                for name in files:
                    try:
                        total += os.lstat(os.path.join(folder, name)).st_blocks * 512
                    except FileNotFoundError:
                        pass
        return total

    def _run(self):
        while not self._stop.wait(1.0):
            self.peak = max(self.peak, self.used())


class Flow:  # pylint: disable=too-many-instance-attributes
    """What both pipelines share: the upstream registry, the model, the enclave's registry, S3 and node."""

    def __init__(self, args, tools):
        self.args, self.tools = args, tools
        self.work = args.work
        self.upstream = Registry(os.path.join(self.work, "upstream"), tools)
        self.enclave = Registry(os.path.join(self.work, "enclave-registry"), tools)
        self.node = Containerd(os.path.join(self.work, "node"), tools)
        self.refs, self.model_folder, self.model_cache = [], None, None
        self.s3_record, self.store, self.s3_client, self.aws = None, None, None, None

    def set_up(self):
        set_dir = os.path.join(self.work, f"set-{self.args.preset}")
        summary = imageset.generate(set_dir, **imageset.PRESETS[self.args.preset])
        self.refs = sorted(imageset.ref_names(set_dir))
        self.upstream.reset()
        ours_in_process([f"oci:{set_dir}"], f"docker://{self.upstream.address}", [self.upstream.address])
        if self.args.model_mb:
            self._set_up_model()
        return {"images": len(self.refs), "image_bytes": summary["unique_bytes"], "model_bytes": self.model_bytes()}

    def _set_up_model(self):
        shards = max(1, self.args.model_mb // SHARD_MB)
        self.model_folder = synthetic_model(os.path.join(self.work, "model"), shards, min(self.args.model_mb, SHARD_MB))
        self.model_cache = os.path.join(self.work, "connected-hf-cache")
        hf_cache.import_folder(self.model_folder, self.model_cache, sources.LocalSource(self.model_folder, MODEL_ID))
        home = os.path.join(self.work, "seaweedfs")
        shutil.rmtree(home, ignore_errors=True)
        self.s3_record, self.store = seaweedfs(home)
        self.s3_client = boto3.client("s3", endpoint_url=self.store["endpoint_url"], aws_access_key_id=self.store["access_key"],
                                      aws_secret_access_key=self.store["secret_key"], region_name=self.store["region"])
        self.s3_client.create_bucket(Bucket=BUCKET)
        warm_up(self.s3_client)

    def model_bytes(self):
        if not self.model_folder:
            return 0
        return sum(os.path.getsize(os.path.join(self.model_folder, n)) for n in os.listdir(self.model_folder))

    def fresh_enclave(self, prefix):
        self.enclave.reset()
        self.node.reset()
        if self.s3_client:
            clear(self.s3_client, prefix + "/")

    def registries(self, *registries):
        return [{"host": r.address, "insecure": True} for r in registries]

    def tear_down(self):
        for service in (self.upstream, self.enclave, self.node):
            service.stop()
        if self.s3_record:
            processes.stop(self.s3_record["pids"], os.path.join(self.work, "seaweedfs"), grace_seconds=0)


def ours(flow, connected, enclave):
    """The collection's flow, phase by phase: [(phase, action)]."""
    bundle, volumes, carried = (os.path.join(connected, "bundle"), os.path.join(connected, "volumes"), os.path.join(enclave, "volumes"))
    unpacked, work = os.path.join(enclave, "bundle"), flow.work

    def prepare():
        measure.module("image_copy", {"images": [f"{flow.upstream.address}/{ref}" for ref in flow.refs], "destination": f"oci:{bundle}/images",
                                      "registries": flow.registries(flow.upstream)}, work)
        if flow.model_folder:
            measure.module("model_cache", {"state": "staged", "path": f"{bundle}/models", "models": [{"path": flow.model_folder, "repo_id": MODEL_ID}]},
                           work)
        measure.module("checksum", {"path": bundle, "state": "present"}, work)

    def publish():
        measure.module("image_copy", {"images": [f"volumes:{carried}:flow"], "destination": f"docker://{flow.enclave.address}/mirror",
                                      "registries": flow.registries(flow.enclave)}, work)
        if flow.model_folder:
            measure.module("model_cache", {"state": "pushed", "volumes": f"{carried}:flow", "models": [f"hf://{MODEL_ID}"],
                                           "s3": dict(flow.store, bucket=BUCKET, prefix="ours")}, work)

    return [
        ("prepare", prepare),
        ("pack", lambda: measure.module("bundle", {"state": "packed", "path": bundle, "volumes_dir": volumes, "name": "flow",
                                                   "remove_packed": True}, work)),
        ("carry", lambda: measure.run_quietly(["cp", "-r", volumes, carried])),
        ("verify", lambda: measure.module("bundle", {"state": "verified", "path": unpacked, "volumes_dir": carried, "name": "flow"}, work)),
        ("unpack", lambda: measure.module("bundle", {"state": "unpacked", "path": unpacked, "volumes_dir": carried, "name": "flow",
                                                     "keep_in_volumes": ["images", "models"]}, work)),
        ("publish", publish),
        ("preload", lambda: measure.module("image_preload", {"source": f"docker://{flow.enclave.address}/mirror", "images": flow.refs,
                                                             "socket": flow.node.socket, "registries": flow.registries(flow.enclave)}, work)),
    ]


def manual(flow, connected, enclave):
    """The vendor guides' pipeline on the same data: [(phase, action)]."""
    skopeo, work = flow.tools["skopeo"], flow.work
    images, carried, tree, saved = (os.path.join(connected, "images"), os.path.join(enclave, "carried"), os.path.join(enclave, "tree"),
                                    os.path.join(enclave, "saved"))
    folders = {ref: f"img-{number:03d}" for number, ref in enumerate(flow.refs)}

    def skopeo_copy(source, destination, *extra):
        measure.run_quietly([skopeo, "copy", "-q", *extra, "--src-tls-verify=false", "--dest-tls-verify=false", source, destination],
                            env=skopeo_env(work))

    def prepare():
        os.makedirs(images)
        for ref, folder in folders.items():
            skopeo_copy(f"docker://{flow.upstream.address}/{ref}", f"dir:{images}/{folder}", "--all", "--preserve-digests")

    def pack():
        model = ["-C", flow.work, os.path.basename(flow.model_cache)] if flow.model_folder else []
        measure.run_quietly(["tar", "cf", os.path.join(connected, "transfer.tar"), "-C", connected, "images", *model])
        measure.run_quietly(["bash", "-c", "sha256sum transfer.tar > transfer.tar.sha256"], cwd=connected)

    def carry():
        os.makedirs(carried)
        measure.run_quietly(["cp", os.path.join(connected, "transfer.tar"), os.path.join(connected, "transfer.tar.sha256"), carried])

    def unpack():
        os.makedirs(tree)
        measure.run_quietly(["tar", "xf", os.path.join(carried, "transfer.tar"), "-C", tree])

    def publish():
        for ref, folder in folders.items():
            skopeo_copy(f"dir:{tree}/images/{folder}", f"docker://{flow.enclave.address}/manual/{ref}", "--all", "--preserve-digests")
        if flow.model_folder:
            aws_env = dict(os.environ, AWS_ACCESS_KEY_ID=flow.store["access_key"], AWS_SECRET_ACCESS_KEY=flow.store["secret_key"],
                           AWS_DEFAULT_REGION=flow.store["region"])
            measure.run_quietly([flow.aws, "s3", "sync", "--only-show-errors", "--endpoint-url", flow.store["endpoint_url"],
                                 os.path.join(tree, os.path.basename(flow.model_cache)), f"s3://{BUCKET}/manual/"], env=aws_env)

    def preload():
        os.makedirs(saved)
        for ref, folder in folders.items():
            archive = os.path.join(saved, f"{folder}.tar")
            skopeo_copy(f"docker://{flow.enclave.address}/manual/{ref}", f"docker-archive:{archive}:{ref}")
            measure.run_quietly([flow.tools["ctr"], "--address", flow.node.socket, "--namespace", "k8s.io", "images", "import", archive])

    return [
        ("prepare", prepare), ("pack", pack), ("carry", carry),
        ("verify", lambda: measure.run_quietly(["sha256sum", "--quiet", "-c", "transfer.tar.sha256"], cwd=carried)),
        ("unpack", unpack), ("publish", publish), ("preload", preload),
    ]


def carried_bytes(enclave):
    total = 0
    for folder, _dirs, files in os.walk(enclave):
        if os.path.basename(folder) in ("volumes", "carried"):
            total += sum(os.path.getsize(os.path.join(folder, n)) for n in files)
    return total


def run_pipeline(flow, name, build):
    """One pass of one pipeline from empty sides: {phase: sample}, peaks and bytes carried."""
    connected, enclave = (os.path.join(flow.work, name, side) for side in ("connected", "enclave"))
    for side in (connected, enclave):
        shutil.rmtree(side, ignore_errors=True)
        os.makedirs(side)
    flow.fresh_enclave(name)
    phases = {}
    with DiskWatch(connected) as connected_disk, DiskWatch(enclave) as enclave_disk:
        for phase, action in build(flow, connected, enclave):
            phases[phase] = measure.sample(action)
            print(f"{name} {phase}: {phases[phase]['wall']:.1f} s wall, {phases[phase]['cpu']:.1f} s CPU, load {phases[phase]['load']:.2f}",
                  file=sys.stderr)
    result = {"phases": phases, "total": sum(p["wall"] for p in phases.values()), "cpu": sum(p["cpu"] for p in phases.values()),
              "peak_connected": connected_disk.peak, "peak_enclave": enclave_disk.peak, "carried": carried_bytes(enclave)}
    shutil.rmtree(os.path.join(flow.work, name), ignore_errors=True)
    return result


def report(runs, data):
    print(f"\n{data['images']} images ({data['image_bytes'] / 1e9:.2f} GB unique) + a {data['model_bytes'] / 1e9:.2f} GB model; "
          f"{len(runs['ours'])} runs, pipelines alternated")
    print(f"{'phase':10} {'ours s':>7} {'[min-max]':>15} {'manual s':>9} {'[min-max]':>15}")

    def cell(values):
        return f"{statistics.median(values):7.2f} [{min(values):6.2f}-{max(values):6.2f}]"
    for phase in PHASES:
        print(f"{phase:10} {cell([r['phases'][phase]['wall'] for r in runs['ours']])}  "
              f"{cell([r['phases'][phase]['wall'] for r in runs['manual']])}")
    for key, label, scale, unit in (("total", "total wall", 1, "s"), ("cpu", "total CPU", 1, "s"), ("peak_connected", "peak disk, connected", 1e9, "GB"),
                                    ("peak_enclave", "peak disk, enclave", 1e9, "GB"), ("carried", "bytes carried", 1e9, "GB")):
        ours_values = [r[key] / scale for r in runs["ours"]]
        manual_values = [r[key] / scale for r in runs["manual"]]
        print(f"{label + ' ' + unit:22} ours {cell(ours_values)}  manual {cell(manual_values)}")
    print("loads before each phase, ours: " + " ".join(f"{s['load']:.1f}" for r in runs["ours"] for s in r["phases"].values()))
    print("loads before each phase, manual: " + " ".join(f"{s['load']:.1f}" for r in runs["manual"] for s in r["phases"].values()))

    def median(pipeline, key):
        return statistics.median(r[key] for r in runs[pipeline])
    speed = median("manual", "total") / median("ours", "total")
    print(f"target >= 2x faster end to end: {speed:.2f}x -> {'met' if speed >= 2 else 'MISSED'}")
    for side in ("connected", "enclave"):
        share = median("ours", f"peak_{side}") / median("manual", f"peak_{side}")
        print(f"target peak disk <= 1/3 of the manual pipeline's, {side} side: {share:.2f}x -> {'met' if share <= 1 / 3 else 'MISSED'}")
    publish_extra = median("ours", "peak_enclave") - median("ours", "carried")
    bundle_bytes = median("ours", "carried")
    print(f"enclave disk beyond the carried volumes (all but images/ and models/ unpacked): {publish_extra / 1e9:.2f} GB = "
          f"{publish_extra / bundle_bytes:.3f}x the bundle (target <= 0.05x: {'met' if publish_extra <= 0.05 * bundle_bytes else 'MISSED'})")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="large", choices=sorted(imageset.PRESETS))
    parser.add_argument("--model-mb", type=int, default=2048)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "airlock-bench-flow"))
    parser.add_argument("--json", help="write every sample here")
    args = parser.parse_args()
    tools = install.ensure_all(lambda message: print(message, file=sys.stderr))
    os.makedirs(args.work, exist_ok=True)
    flow = Flow(args, tools)
    flow.aws = awscli(args.work)
    runs = {"ours": [], "manual": []}
    pipelines = [("ours", ours), ("manual", manual)]
    try:
        data = flow.set_up()
        print(f"load {measure.load_average():.2f}", file=sys.stderr)
        for number in range(args.runs):
            for name, build in (pipelines if number % 2 == 0 else list(reversed(pipelines))):
                runs[name].append(run_pipeline(flow, name, build))
    finally:
        flow.tear_down()
    report(runs, data)
    measure.write_report(args.json, {"data": data, "runs": runs})


if __name__ == "__main__":
    main()
