"""bundle pack/unpack beside tar and the manual pipeline on the large image set, in one run.

  pack     bundle state=packed (module process, at its defaults)  vs  `tar cf`, and the manual way:
           `tar c | split -b` into volumes of the same size, then `sha256sum` of the volumes
  unpack   bundle state=unpacked (module process: volumes verified, extracted, SHA256SUMS verified)  vs
           `tar xf`, and the manual way: `sha256sum -c` of the volumes, `cat | tar x`, `sha256sum -c SHA256SUMS`
Warm page cache; each run starts from no output; the tools' order alternates between runs;
an `ansible-playbook` figure sits beside each module process. See measure.py.
Then the differential pack after adding one image (bytes only).

Usage: python bench/bench_bundle.py [--preset large] [--runs 3] [--work DIR] [--json FILE]
"""

import argparse
import glob
import os
import shutil
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(REPO, "bench"), os.path.join(REPO, ".cache", "collections")]

import imageset  # noqa: E402  pylint: disable=wrong-import-position
import measure  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.airlock.airgap.plugins.module_utils.integrity import bundle, sums  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.airlock.airgap.plugins.module_utils.oci import copy, transports  # noqa: E402  pylint: disable=wrong-import-position

VOLUME_SIZE = 4 * 1024 ** 3 - 1  # the bundle module's default


def fresh(*paths):
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)
        os.makedirs(path)


def shell(script, cwd):
    measure.run_quietly(["bash", "-euo", "pipefail", "-c", script], cwd=cwd)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="large", choices=sorted(imageset.PRESETS))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "airlock-bench-bundle"))
    parser.add_argument("--json", help="write every sample here")
    args = parser.parse_args()
    tree = os.path.join(args.work, "bundle")
    imageset.generate(os.path.join(tree, "images"), **imageset.PRESETS[args.preset])
    sums.write(tree)
    size = sum(os.path.getsize(os.path.join(tree, p)) for p in sums.tree_files(tree, exclude=()))
    volumes, manual, target = (os.path.join(args.work, n) for n in ("volumes", "manual", "target"))
    tarball = os.path.join(manual, "plain.tar")
    pack_args = {"state": "packed", "path": tree, "volumes_dir": volumes, "name": "bench"}
    unpack_args = {"state": "unpacked", "path": target, "volumes_dir": volumes, "name": "bench"}
    print(f"{args.preset} set: {size / 1e9:.2f} GB, volumes of {VOLUME_SIZE} bytes; load {measure.load_average():.2f}")
    report = {"bytes": size}
    report["pack"] = measure.compare([
        measure.Tool("tar cf", lambda: measure.run_quietly(["tar", "cf", tarball, "-C", tree, "."]), lambda: fresh(manual)),
        measure.Tool("manual: tar c | split, sha256sum", lambda: shell(
            f"tar c -C {tree} . | split -b {VOLUME_SIZE} -d -a 3 - bench.tar. && sha256sum bench.tar.* > volumes.sha256", manual),
            lambda: fresh(manual)),
        measure.Tool("bundle packed (module process)", lambda: measure.module("bundle", pack_args, args.work), lambda: fresh(volumes)),
        measure.Tool("bundle packed (ansible-playbook)", lambda: measure.playbook("bundle", pack_args, args.work), lambda: fresh(volumes)),
    ], args.runs)
    measure.run_quietly(["tar", "cf", tarball, "-C", tree, "."])
    shell(f"tar c -C {tree} . | split -b {VOLUME_SIZE} -d -a 3 - bench.tar. && sha256sum bench.tar.* > volumes.sha256", manual)
    manual_volumes = " ".join(sorted(os.path.basename(p) for p in glob.glob(os.path.join(manual, "bench.tar.[0-9]*"))))
    report["unpack"] = measure.compare([
        measure.Tool("tar xf", lambda: measure.run_quietly(["tar", "xf", tarball, "-C", target]), lambda: fresh(target)),
        measure.Tool("manual: sha256sum -c, cat | tar x, sha256sum -c", lambda: shell(
            f"sha256sum --quiet -c volumes.sha256 && cat {manual_volumes} | tar x -C {target} && "
            f"cd {target} && sha256sum --quiet -c {sums.SUMS_NAME}", manual), lambda: fresh(target)),
        measure.Tool("bundle unpacked (module process)", lambda: measure.module("bundle", unpack_args, args.work), lambda: fresh(target)),
        measure.Tool("bundle unpacked (ansible-playbook)", lambda: measure.playbook("bundle", unpack_args, args.work), lambda: fresh(target)),
    ], args.runs)
    measure.table("pack (warm cache)", report["pack"], size, "bundle packed (module process)")
    measure.table("unpack (warm cache)", report["unpack"], size, "bundle unpacked (module process)")
    report["differential"] = differential(args.work, tree, volumes)
    measure.write_report(args.json, report)
    shutil.rmtree(args.work, ignore_errors=True)


def differential(work, tree, volumes):
    """Add one image (a new app on a new base) to the bundle, then pack only the difference (bytes, not time)."""
    full_bytes = sum(v["size"] for v in bundle.pack(tree, volumes, "bench", VOLUME_SIZE)[1]["volumes"])
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
    diff_index = bundle.pack(tree, os.path.join(work, "volumes-diff"), "bench", VOLUME_SIZE, base=held)[1]
    diff_bytes = sum(v["size"] for v in diff_index["volumes"])
    print(f"\ndifferential after adding one image: {diff_bytes / 1e6:.1f} MB vs the full bundle's {full_bytes / 1e6:.1f} MB "
          f"({diff_bytes / full_bytes:.3%})")
    return {"full_bytes": full_bytes, "differential_bytes": diff_bytes}


if __name__ == "__main__":
    main()
