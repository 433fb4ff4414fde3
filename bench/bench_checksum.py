"""checksum's verify beside coreutils and OpenSSL on the large image set, in one run.

Warm page cache (a first read is discarded), so the hashing itself is compared:
  sha256sum -c SHA256SUMS                one process, coreutils (no SHA extensions used)
  xargs -P2 sha256sum                    two coreutils processes in parallel
  xargs -P2 openssl dgst -sha256         two OpenSSL processes (hardware SHA when the CPU has it)
  checksum module process                as Ansible runs it, at its defaults (state: verified)
  checksum via ansible-playbook          one task on localhost, start-up included
Tools alternate their order between runs; see measure.py for how each figure is taken.

Usage: python bench/bench_checksum.py [--preset large] [--runs 3] [--work DIR] [--json FILE]
"""

import argparse
import os
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(REPO, "bench"), os.path.join(REPO, ".cache", "collections")]

import imageset  # noqa: E402  pylint: disable=wrong-import-position
import measure  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.airlock.airgap.plugins.module_utils.integrity import sums  # noqa: E402  pylint: disable=wrong-import-position


def parallel(argv, tree, listed, processes=2):
    """argv over every listed file, `processes` at a time, in even batches (as xargs -P does)."""
    measure.run_quietly(["xargs", "-0", f"-P{processes}", "-n", str(max(1, len(listed) // (4 * processes))), *argv], cwd=tree,
                        input="\0".join(listed).encode())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="large", choices=sorted(imageset.PRESETS))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "airlock-bench"))
    parser.add_argument("--json", help="write every sample here")
    args = parser.parse_args()
    tree = os.path.join(args.work, f"set-{args.preset}")
    imageset.generate(tree, **imageset.PRESETS[args.preset])
    sums.write(tree)
    listed = sums.tree_files(tree)
    total = sum(os.path.getsize(os.path.join(tree, p)) for p in listed)
    module_args = {"path": tree}
    measure.module("checksum", module_args, args.work)  # warm the page cache
    tools = [
        measure.Tool("sha256sum -c", lambda: measure.run_quietly(["sha256sum", "--quiet", "-c", sums.SUMS_NAME], cwd=tree)),
        measure.Tool("xargs -P2 sha256sum", lambda: parallel(["sha256sum"], tree, listed)),
        measure.Tool("xargs -P2 openssl dgst -sha256", lambda: parallel(["openssl", "dgst", "-sha256"], tree, listed)),
        measure.Tool("checksum (module process)", lambda: measure.module("checksum", module_args, args.work)),
        measure.Tool("checksum (ansible-playbook)", lambda: measure.playbook("checksum", module_args, args.work)),
    ]
    print(f"{len(listed)} files, {total / 1e9:.2f} GB, {os.cpu_count()} cores, load {measure.load_average():.2f}")
    samples = measure.compare(tools, args.runs)
    found = measure.table("checksum verify, warm cache", samples, total, reference="checksum (module process)")
    ours, openssl = found["checksum (module process)"], found["xargs -P2 openssl dgst -sha256"]
    rate = total / ours["wall"] / 1e9
    print(f"target checksum module >= 1.6 GB/s: {rate:.2f} GB/s -> {'met' if rate >= 1.6 else 'MISSED'}")
    print(f"target no slower than openssl two at a time: {openssl['wall'] / ours['wall']:.2f}x -> "
          f"{'met' if ours['wall'] <= openssl['wall'] else 'MISSED'}")
    measure.write_report(args.json, {"bytes": total, "files": len(listed), "samples": samples})


if __name__ == "__main__":
    main()
