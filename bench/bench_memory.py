"""Peak memory of image_copy with a huge layer, side by side with skopeo, in one run.

The copy engine streams blobs and never holds one whole: its peak RSS must not grow with
layer size. This makes one image with a single layer of each size (default 64 MiB and
5 GiB; content is opaque bytes, stored as an uncompressed tar layer), then copies it
OCI layout -> registry with image_copy's engine and with `skopeo copy`, each in a fresh
process whose peak RSS (ru_maxrss) is reported with the time taken.

Usage: python bench/bench_memory.py [--sizes-mib 64 5120] [--work DIR]
"""

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(REPO, "bench"), os.path.join(REPO, "tests"), os.path.join(REPO, ".cache", "collections")]

from bench_image_copy import Registry  # noqa: E402  pylint: disable=wrong-import-position
from testbed import install  # noqa: E402  pylint: disable=wrong-import-position

BLOCK = 1024 * 1024
OURS = """
import sys
sys.path[:0] = {paths!r}
from bench_image_copy import ours
ours(["oci:{layout}"], "docker://{registry}/{repository}", ["{registry}"])
"""


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


def peak_rss_of(argv, env=None):
    """(seconds, peak RSS in MiB) of a command, measured in a fresh process of its own."""
    started = time.monotonic()
    completed = subprocess.run([sys.executable, "-c", MEASURED, *argv], check=True, capture_output=True, text=True, env=env)
    return time.monotonic() - started, int(completed.stdout.split()[-1]) / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes-mib", type=int, nargs="+", default=[64, 5120])
    parser.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "airlock-bench-memory"))
    args = parser.parse_args()
    tools = install.ensure_all(lambda message: print(message, file=sys.stderr))
    registry = Registry(os.path.join(args.work, "registry"), tools)
    rows = []
    try:
        for size in args.sizes_mib:
            layout = os.path.join(args.work, f"layout-{size}")
            shutil.rmtree(layout, ignore_errors=True)
            make_layout(layout, size)
            registry.reset()
            script = OURS.format(paths=sys.path[:3], layout=layout, registry=registry.address, repository="ours")
            rows.append((size, "image_copy", *peak_rss_of([sys.executable, "-c", script])))
            registry.reset()
            env = dict(os.environ, XDG_DATA_HOME=os.path.join(args.work, "xdg"), _CONTAINERS_ROOTLESS_UID="0")
            skopeo = [tools["skopeo"], "copy", "-q", "--dest-tls-verify=false", f"oci:{layout}:bench/huge{size}:v1",
                      f"docker://{registry.address}/skopeo/huge:v1"]
            rows.append((size, "skopeo copy", *peak_rss_of(skopeo, env)))
            shutil.rmtree(layout, ignore_errors=True)
    finally:
        registry.stop()
        shutil.rmtree(args.work, ignore_errors=True)
    print(f"\n{'layer MiB':>9}  {'tool':12} {'seconds':>8} {'MB/s':>7} {'peak RSS MiB':>13}")
    for size, tool, seconds, rss in rows:
        print(f"{size:9d}  {tool:12} {seconds:8.1f} {size * BLOCK / seconds / 1e6:7.0f} {rss:13.1f}")


if __name__ == "__main__":
    main()
