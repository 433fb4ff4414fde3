"""Peak memory of image_copy with a huge layer, beside skopeo, in one run.

The copy engine streams blobs and never holds one whole: its peak RSS must not grow with
layer size. This makes one image with a single layer of each size (default 64 MiB and
5 GiB; content is opaque bytes, stored as an uncompressed tar layer), then copies it
OCI layout -> registry with image_copy run as Ansible runs it (a module process at its
defaults) and with `skopeo copy --preserve-digests`, each in a fresh process whose peak RSS
(ru_maxrss) is reported with wall and CPU seconds; the tools' order alternates between runs
and the registry is emptied before each (see measure.py).

Usage: python bench/bench_memory.py [--sizes-mib 64 5120] [--runs 3] [--work DIR] [--json FILE]
"""

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(REPO, "bench"), os.path.join(REPO, "tests"), os.path.join(REPO, ".cache", "collections")]

from bench_image_copy import Registry  # noqa: E402  pylint: disable=wrong-import-position
import measure  # noqa: E402  pylint: disable=wrong-import-position
from testbed import install  # noqa: E402  pylint: disable=wrong-import-position

BLOCK = 1024 * 1024


def make_layout(directory, size_mib):
    """One linux/amd64 image whose only layer is size_mib MiB, written and hashed as it streams."""
    blobs = os.path.join(directory, "blobs", "sha256")
    os.makedirs(blobs, exist_ok=True)
    hasher, temporary = hashlib.sha256(), os.path.join(blobs, ".layer")
    pattern = os.urandom(BLOCK)
    with open(temporary, "wb") as handle:
        for number in range(size_mib):
            block = number.to_bytes(8, "big") + pattern[8:]
            hasher.update(block)
            handle.write(block)
    layer = {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": f"sha256:{hasher.hexdigest()}", "size": size_mib * BLOCK}
    os.replace(temporary, os.path.join(blobs, hasher.hexdigest()))
    config = {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]}}
    config_descriptor = write_json_blob(blobs, config, "application/vnd.oci.image.config.v1+json")
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": config_descriptor, "layers": [layer]}
    manifest_descriptor = write_json_blob(blobs, manifest, manifest["mediaType"])
    manifest_descriptor["annotations"] = {"org.opencontainers.image.ref.name": f"bench/huge{size_mib}:v1"}
    with open(os.path.join(directory, "index.json"), "w", encoding="utf-8") as handle:
        json.dump({"schemaVersion": 2, "manifests": [manifest_descriptor]}, handle)
    with open(os.path.join(directory, "oci-layout"), "w", encoding="utf-8") as handle:
        json.dump({"imageLayoutVersion": "1.0.0"}, handle)


def write_json_blob(blobs, document, media_type):
    raw = json.dumps(document).encode()
    digest = hashlib.sha256(raw).hexdigest()
    with open(os.path.join(blobs, digest), "wb") as handle:
        handle.write(raw)
    return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(raw)}


MEASURED = """
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def peak_rss_of(argv, rss, env=None):
    """Run a command in a fresh process of its own; append its peak RSS in MiB to rss."""
    completed = subprocess.run([sys.executable, "-c", MEASURED, *argv], check=True, capture_output=True, text=True, env=env)
    rss.append(int(completed.stdout.split()[-1]) / 1024)


def module_argv(work, arguments):
    """image_copy as a module process: `python -m MODULE ARGS.json`, the file written once (never timed)."""
    path = os.path.join(work, "image_copy-args.json")
    with open(path, "w", encoding="utf-8") as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": arguments}, handle)
    return [sys.executable, "-m", f"{measure.MODULES}.image_copy", path]


def measure_size(size, registry, tools, args):
    """Both tools on one image whose only layer is size MiB: samples and peak RSS of every run."""
    layout = os.path.join(args.work, f"layout-{size}")
    shutil.rmtree(layout, ignore_errors=True)
    make_layout(layout, size)
    rss = {"image_copy (module process)": [], "skopeo copy --preserve-digests": []}
    skopeo_env = dict(os.environ, XDG_DATA_HOME=os.path.join(args.work, "xdg"), _CONTAINERS_ROOTLESS_UID="0")

    def ours():
        arguments = {"images": [f"oci:{layout}"], "destination": f"docker://{registry.address}/ours",
                     "registries": [{"host": registry.address, "insecure": True}]}
        peak_rss_of(module_argv(args.work, arguments), rss["image_copy (module process)"], measure.module_env())

    def skopeo():
        argv = [tools["skopeo"], "copy", "-q", "--preserve-digests", "--dest-tls-verify=false", f"oci:{layout}:bench/huge{size}:v1",
                f"docker://{registry.address}/skopeo/huge:v1"]
        peak_rss_of(argv, rss["skopeo copy --preserve-digests"], skopeo_env)
    samples = measure.compare([measure.Tool("image_copy (module process)", ours, registry.reset),
                               measure.Tool("skopeo copy --preserve-digests", skopeo, registry.reset)], args.runs)
    measure.table(f"one {size} MiB layer, OCI layout -> registry", samples, size * BLOCK, "image_copy (module process)")
    for name, peaks in rss.items():
        print(f"  peak RSS {name}: median {statistics.median(peaks):.1f} MiB [{min(peaks):.1f}-{max(peaks):.1f}]")
    shutil.rmtree(layout, ignore_errors=True)
    return {"samples": samples, "peak_rss_mib": rss}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes-mib", type=int, nargs="+", default=[64, 5120])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "airlock-bench-memory"))
    parser.add_argument("--json", help="write every sample here")
    args = parser.parse_args()
    tools = install.ensure_all(lambda message: print(message, file=sys.stderr))
    registry = Registry(os.path.join(args.work, "registry"), tools)
    report = {}
    print(f"load {measure.load_average():.2f}")
    try:
        for size in args.sizes_mib:
            report[size] = measure_size(size, registry, tools, args)
    finally:
        registry.stop()
        shutil.rmtree(args.work, ignore_errors=True)
    measure.write_report(args.json, report)


if __name__ == "__main__":
    main()
