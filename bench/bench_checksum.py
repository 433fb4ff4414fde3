"""checksum's verify side by side with coreutils sha256sum on the large image set, in one run.

Warm page cache (a first read is discarded), so the hashing itself is compared:
  sha256sum -c SHA256SUMS            one process, coreutils
  xargs -P2 sha256sum                two processes in parallel
  checksum verify (our engine)       every core, hashlib

Usage: python bench/bench_checksum.py [--preset large] [--runs 3] [--work DIR]
"""

import argparse
import os
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(REPO, "bench"), os.path.join(REPO, ".cache", "collections")]

import imageset  # noqa: E402  pylint: disable=wrong-import-position
from measure import median_of, timed  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.airlock.airgap.plugins.module_utils.integrity import sums  # noqa: E402  pylint: disable=wrong-import-position


def coreutils_check(tree):
    subprocess.run(["sha256sum", "--quiet", "-c", sums.SUMS_NAME], cwd=tree, check=True)


def coreutils_parallel(tree, listed):
    subprocess.run(["xargs", "-0", "-P2", "-n", str(max(1, len(listed) // 8)), "sha256sum"], cwd=tree, check=True,
                   input="\0".join(listed).encode(), stdout=subprocess.DEVNULL)


def ours(tree):
    found = sums.verify(tree)
    if not found.ok:
        raise RuntimeError(f"verification failed: {found.summary()}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="large", choices=sorted(imageset.PRESETS))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "airlock-bench"))
    args = parser.parse_args()
    tree = os.path.join(args.work, f"set-{args.preset}")
    imageset.generate(tree, **imageset.PRESETS[args.preset])
    sums.write(tree)
    listed = sums.tree_files(tree)
    total = sum(os.path.getsize(os.path.join(tree, p)) for p in listed)
    ours(tree)  # warm the page cache
    tools = {"sha256sum -c": lambda: coreutils_check(tree), "xargs -P2 sha256sum": lambda: coreutils_parallel(tree, listed),
             "checksum verify": lambda: ours(tree)}
    medians = {}
    print(f"{len(listed)} files, {total / 1e9:.2f} GB, {os.cpu_count()} cores")
    print(f"{'tool':22} {'median s':>9} {'MB/s':>7}  runs")
    for name, action in tools.items():
        medians[name], samples = median_of(args.runs, lambda action=action: timed(action))
        print(f"{name:22} {medians[name]:9.2f} {total / medians[name] / 1e6:7.0f}  {' '.join(f'{s:.2f}' for s in samples)}")
    for name, median in medians.items():
        if name != "checksum verify":
            print(f"checksum verify is {median / medians['checksum verify']:.2f}x the speed of {name}")


if __name__ == "__main__":
    main()
