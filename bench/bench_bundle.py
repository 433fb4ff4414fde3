"""bundle pack/unpack side by side with plain tar on the large image set, in one run.

  pack     bundle state=packed (tar stream cut into hashed volumes)  vs  tar cf
  unpack   bundle state=unpacked (verify volumes, extract in place, verify SHA256SUMS)  vs  tar xf
Warm page cache; medians of --runs.

Usage: python bench/bench_bundle.py [--preset large] [--runs 3] [--volume-mib 1024] [--work DIR]
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(REPO, "bench"), os.path.join(REPO, ".cache", "collections")]

import imageset  # noqa: E402  pylint: disable=wrong-import-position
from measure import median_of, timed  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.airlock.airgap.plugins.module_utils.integrity import bundle, sums  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.airlock.airgap.plugins.module_utils.oci import copy, transports  # noqa: E402  pylint: disable=wrong-import-position


def fresh(*paths):
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)


def our_unpack(volumes, target):
    """What the module does: verified volumes, extraction hashing as it writes, then the sums check."""
    digests = bundle.unpack(volumes, "bench", target)["digests"]
    if not sums.verify(target, known=digests).ok:
        raise RuntimeError("the unpacked bundle does not verify")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="large", choices=sorted(imageset.PRESETS))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--volume-mib", type=int, default=1024)
    parser.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "airlock-bench-bundle"))
    args = parser.parse_args()
    tree = os.path.join(args.work, "bundle")
    imageset.generate(os.path.join(tree, "images"), **imageset.PRESETS[args.preset])
    sums.write(tree)
    size = sum(os.path.getsize(os.path.join(tree, p)) for p in sums.tree_files(tree, exclude=()))
    volumes, tarball, target = (os.path.join(args.work, n) for n in ("volumes", "plain.tar", "target"))
    volume_size = args.volume_mib * 1024 * 1024
    phases = {
        "pack": {
            "tar cf": lambda: subprocess.run(["tar", "cf", tarball, "-C", tree, "."], check=True),
            "bundle packed": lambda: (fresh(volumes), bundle.pack(tree, volumes, "bench", volume_size)),
        },
        "unpack": {
            "tar xf": lambda: (fresh(target), os.makedirs(target), subprocess.run(["tar", "xf", tarball, "-C", target], check=True)),
            "bundle unpacked (+verify)": lambda: (fresh(target), our_unpack(volumes, target)),
        },
    }
    print(f"{args.preset} set: {size / 1e9:.2f} GB, volumes of {args.volume_mib} MiB")
    print(f"{'phase':8} {'tool':28} {'median s':>9} {'MB/s':>7}  runs")
    for phase, tools in phases.items():
        medians = {}
        for name, action in tools.items():
            medians[name], samples = median_of(args.runs, lambda action=action: timed(action))
            print(f"{phase:8} {name:28} {medians[name]:9.2f} {size / medians[name] / 1e6:7.0f}  {' '.join(f'{s:.2f}' for s in samples)}")
        ours_name, tar_name = [n for n in tools if n.startswith("bundle")][0], [n for n in tools if n.startswith("tar")][0]
        print(f"{phase:8} bundle / tar time: {medians[ours_name] / medians[tar_name]:.2f}")
    differential(args.work, tree, volumes, volume_size)
    fresh(args.work)


def differential(work, tree, volumes, volume_size):
    """Add one image (a new app on a new base) to the bundle, then pack only the difference."""
    full_bytes = sum(v["size"] for v in bundle.pack(tree, volumes, "bench", volume_size)[1]["volumes"])
    held = os.path.join(work, "held.SHA256SUMS")
    shutil.copy(os.path.join(tree, sums.SUMS_NAME), held)
    extra = os.path.join(work, "extra-set")
    imageset.generate(extra, images=1, total_mb=60, shared_fraction=0.0, multiarch_fraction=0.0, seed=99)
    copier = copy.Copier()
    try:
        pairs = transports.plan([f"oci:{extra}"], f"oci:{os.path.join(tree, 'images')}", transports.Clients())
        copy.copy_many(copier, [(s, d, None) for s, d in pairs])
    finally:
        copier.close()
    sums.write(tree)
    diff_index = bundle.pack(tree, os.path.join(work, "volumes-diff"), "bench", volume_size, base=held)[1]
    diff_bytes = sum(v["size"] for v in diff_index["volumes"])
    print(f"differential after adding one image: {diff_bytes / 1e6:.1f} MB vs the full bundle's {full_bytes / 1e6:.1f} MB "
          f"({diff_bytes / full_bytes:.3%})")


if __name__ == "__main__":
    main()
