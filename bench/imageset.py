"""Generate a realistic synthetic container image set as an OCI image layout.

Benchmarks of air-gap copies are only meaningful on data shaped like a real registry: images stacked on a few
shared base-OS families and language runtimes, some multi-arch, with incompressible layer content. This script
writes such a set deterministically from a seed, so benchmark runs and the `make demo` playbook see the same bytes.

Layer sharing is planned first (which image uses which layer on which architecture), then the byte budget is split
so that `--shared-fraction` of the layer bytes sit in layers used by at least two images.

Run `imageset.py --help` for the options; import it (after putting this directory on sys.path) for `generate()`.
"""

import argparse
import dataclasses
import hashlib
import io
import json
import math
import multiprocessing
import os
import random
import sys
import tarfile
import tempfile
import time
import zlib
from pathlib import Path

MIB = 1 << 20
FORMAT_VERSION = 1  # bump whenever the same options start producing different bytes
MARKER_NAME = ".imageset-complete.json"
FIXED_MTIME = 1704067200
CREATED = "2024-01-01T00:00:00Z"
REF_NAME = "org.opencontainers.image.ref.name"
INDEX_TYPE = "application/vnd.oci.image.index.v1+json"
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
PLATFORMS = {
    "amd64": {"architecture": "amd64", "os": "linux"},
    "arm64": {"architecture": "arm64", "os": "linux", "variant": "v8"},
}
TRIPLETS = {"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu", None: "noarch"}
# Approximate blob bytes one tar header (plus its padding) adds, so layers land on their size targets: deflate shrinks
# the zeros of headers and padding to almost nothing, level 0 stores them as they are.
ENTRY_OVERHEAD = 100
STORED_ENTRY_OVERHEAD = 512 + 256
SMALLEST_FILE = 512
LARGEST_FILE = 16 * MIB

PRESETS = {
    "tiny": {"images": 4, "total_mb": 3, "shared_fraction": 0.6, "multiarch_fraction": 0.6},
    "small": {"images": 8, "total_mb": 200, "shared_fraction": 0.6, "multiarch_fraction": 0.6},
    "large": {"images": 40, "total_mb": 2100, "shared_fraction": 0.6, "multiarch_fraction": 0.6},
}
DEFAULT_PRESET = "small"


@dataclasses.dataclass(frozen=True)
class Layout:
    """Where one kind of layer puts its files, so that stacked layers look like a real root filesystem.

    Every kind has a small file, so every layer holds a regular file and a symlink.
    Paths may use {owner} (family, runtime or image name) and {triplet} (the architecture's library directory).
    `weight` is the kind's relative size among the layers of the same sharing class.
    """

    weight: float
    fill_dirs: tuple[str, ...]
    small_files: tuple[str, ...] = ()
    symlinks: tuple[tuple[str, str], ...] = ()
    whiteouts: tuple[str, ...] = ()


LAYOUTS = {
    "base": Layout(6, ("usr/lib/{triplet}", "usr/bin", "usr/share/doc"), ("etc/os-release", "etc/motd", "var/cache/pkg/index.bin"),
                   (("bin", "usr/bin"), ("lib", "usr/lib"), ("sbin", "usr/bin"))),
    "update": Layout(0.6, ("usr/lib/{triplet}",), ("etc/os-release",), (("usr/lib/{triplet}/libcore.so", "libcore.so.2"),),
                     ("var/cache/pkg/.wh.index.bin",)),
    "runtime": Layout(3, ("opt/{owner}/lib", "opt/{owner}/bin"), ("opt/{owner}/bin/{owner}",),
                      (("usr/local/bin/{owner}", "../../../opt/{owner}/bin/{owner}"),)),
    "deps": Layout(3, ("srv/{owner}/vendor",), ("srv/{owner}/vendor/modules.lock",), (("srv/{owner}/lib", "vendor"),)),
    "assets": Layout(2, ("srv/{owner}/static",), ("srv/{owner}/static/index.html",), (("srv/{owner}/public", "static"),)),
    "app": Layout(2, ("srv/{owner}/bin",), ("srv/{owner}/bin/{owner}",), (("usr/local/bin/{owner}", "/srv/{owner}/bin/{owner}"),)),
    "config": Layout(0.1, ("etc/{owner}",), ("etc/{owner}/config.yaml",), (("etc/{owner}/active.yaml", "config.yaml"),), ("etc/.wh.motd",)),
}
APP_KINDS = ("deps", "assets", "app", "config")
PLATFORM_INDEPENDENT_KINDS = {"assets", "config"}


@dataclasses.dataclass(frozen=True)
class LayerSpec:
    """One layer blob to generate; `key` names it uniquely and seeds its content."""

    key: str
    kind: str
    owner: str
    arch: str | None  # None: platform-independent, the same blob in every architecture's manifest
    size: int = 0  # target compressed bytes


@dataclasses.dataclass(frozen=True)
class ImagePlan:
    """Which layers, bottom first, make up one image on each of its architectures."""

    name: str
    stacks: dict[str, tuple[str, ...]]

    @property
    def ref(self):
        return f"bench/{self.name}:v1"


@dataclasses.dataclass(frozen=True)
class LayerResult:
    """What the configs and manifests need to know about one generated layer blob."""

    key: str
    digest: str
    size: int
    diff_id: str
    tar_size: int


class BlobWriter:
    """Writes one blob under a temporary name and renames it to its digest, so no reader ever sees a partial blob."""

    def __init__(self, blob_dir):
        self.blob_dir = Path(blob_dir)
        self.hash = hashlib.sha256()
        self.size = 0

    def __enter__(self):
        self.file = tempfile.NamedTemporaryFile(dir=self.blob_dir, prefix=".tmp-", delete=False)
        return self

    def write(self, data):
        self.hash.update(data)
        self.size += len(data)
        self.file.write(data)

    def __exit__(self, exc_type, exc, traceback):
        self.file.close()
        if exc_type is not None:
            os.unlink(self.file.name)
            return
        os.chmod(self.file.name, 0o644)
        os.replace(self.file.name, self.blob_dir / self.hash.hexdigest())

    @property
    def digest(self):
        return f"sha256:{self.hash.hexdigest()}"


class GzipSink:
    """Receives the uncompressed tar stream: hashes it for the config's diff_id and gzips it into the blob.

    zlib's own gzip framing has a zero mtime and no file name, so the blob depends on the content only.
    """

    def __init__(self, blob, level):
        self.blob = blob
        self.diff_hash = hashlib.sha256()
        self.length = 0
        self.deflate = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)

    def write(self, data):
        self.diff_hash.update(data)
        self.length += len(data)
        self.blob.write(self.deflate.compress(data))
        return len(data)

    def tell(self):
        return self.length

    def finish(self):
        self.blob.write(self.deflate.flush())


def plan_images(images, multiarch_fraction):
    """Decide which layers each image uses: a base-OS family, a runtime on that family, then its own app layers.

    The first images are the multi-arch ones. Consecutive images share a runtime, so a runtime's arm64 layers are
    shared by several multi-arch images as well.
    """
    multiarch = round(images * multiarch_fraction)
    families = max(1, round(images / 8))
    runtimes = max(1, images // 3)
    layers, plans = {}, []
    for number in range(images):
        runtime = number * runtimes // images
        name = f"img{number:02d}"
        owners = {"base": f"family{runtime % families}", "update": f"family{runtime % families}", "runtime": f"runtime{runtime}"}
        app_kinds = APP_KINDS if number % 2 == 0 else APP_KINDS[:-1]  # every other image has a small config layer
        kinds = ("base", "update", "runtime", *app_kinds)
        arches = ("amd64", "arm64") if number < multiarch else ("amd64",)
        stacks = {arch: tuple(plan_layer(layers, kind, owners.get(kind, name), arch) for kind in kinds) for arch in arches}
        plans.append(ImagePlan(name, stacks))
    return plans, layers


def plan_layer(layers, kind, owner, arch):
    """Register a layer (once, whoever uses it first) and return its key."""
    layer_arch = None if kind in PLATFORM_INDEPENDENT_KINDS else arch
    key = f"{owner}/{kind}/{layer_arch or 'any'}"
    layers.setdefault(key, LayerSpec(key, kind, owner, layer_arch))
    return key


def layer_users(plans):
    """Map every layer key to the set of images that use it on any architecture."""
    users = {}
    for plan in plans:
        for stack in plan.stacks.values():
            for key in stack:
                users.setdefault(key, set()).add(plan.name)
    return users


def size_layers(layers, users, layer_bytes, shared_fraction, seed):
    """Split the byte budget: `shared_fraction` over layers used by 2+ images, the rest over the others.

    Within each class a layer gets bytes in proportion to its kind's weight, jittered so sizes are not uniform.
    """
    rng = random.Random(f"{seed}/sizes")
    weights = {key: LAYOUTS[spec.kind].weight * rng.uniform(0.6, 1.4) for key, spec in layers.items()}
    shared = {key for key in layers if len(users[key]) >= 2}
    shared_budget = layer_bytes * shared_fraction if shared else 0
    budgets = {True: shared_budget, False: layer_bytes - shared_budget}
    class_weight = {is_shared: sum(w for key, w in weights.items() if (key in shared) == is_shared) for is_shared in budgets}
    return {key: dataclasses.replace(spec, size=int(budgets[key in shared] * weights[key] / class_weight[key in shared]))
            for key, spec in layers.items()}


def tar_entry(path, entry_type, size=0, target=""):
    """A tar header with fixed owner and mtime, so the archive depends on the seed only."""
    info = tarfile.TarInfo(path)
    info.type, info.size, info.linkname, info.mtime = entry_type, size, target, FIXED_MTIME
    info.uname = info.gname = "root"
    if entry_type == tarfile.SYMTYPE:
        info.mode = 0o777
    elif entry_type == tarfile.DIRTYPE or "/bin/" in f"/{path}":
        info.mode = 0o755
    return info


def fill_files(spec, rng, fill_dirs, budget, entry_overhead):
    """Spread `budget` bytes over files of log-uniform sizes, like a real tree of many small and a few big files."""
    largest = max(4 * 1024, min(LARGEST_FILE, spec.size // 4))
    files = []
    while budget > 0:
        size = min(int(math.exp(rng.uniform(math.log(SMALLEST_FILE), math.log(largest)))), budget)
        files.append((f"{rng.choice(fill_dirs)}/data-{len(files):04d}", size))
        budget -= size + entry_overhead
    return files


def parent_dirs(paths):
    """Every directory above the given paths, parents first, so extraction never has to invent one."""
    dirs = set()
    for path in paths:
        parts = path.split("/")[:-1]
        dirs.update("/".join(parts[: depth + 1]) for depth in range(len(parts)))
    return sorted(dirs)


def layer_members(spec, rng, entry_overhead):
    """Yield (header, content) for every member of the layer: directories, files, symlinks, then whiteouts."""
    layout = LAYOUTS[spec.kind]

    def place(path):
        return path.format(owner=spec.owner, triplet=TRIPLETS[spec.arch])

    fill_dirs = [place(path) for path in layout.fill_dirs]
    symlinks = [(place(path), place(target)) for path, target in layout.symlinks]
    whiteouts = [place(path) for path in layout.whiteouts]
    small_files = [(place(path), rng.randint(64, 4096)) for path in layout.small_files]
    fixed_paths = [path for path, size in small_files] + [path for path, target in symlinks] + whiteouts + [f"{path}/" for path in fill_dirs]
    dirs = parent_dirs(fixed_paths)
    spent = sum(size for path, size in small_files) + entry_overhead * (len(dirs) + len(fixed_paths) - len(fill_dirs))
    files = small_files + fill_files(spec, rng, fill_dirs, spec.size - spent, entry_overhead)
    yield from ((tar_entry(path, tarfile.DIRTYPE), None) for path in dirs)
    yield from ((tar_entry(path, tarfile.REGTYPE, size), rng.randbytes(size)) for path, size in files)
    yield from ((tar_entry(path, tarfile.SYMTYPE, target=target), None) for path, target in symlinks)
    yield from ((tar_entry(path, tarfile.REGTYPE), None) for path in whiteouts)


def build_layer(job):
    """Generate one layer blob; runs in a worker process, its content depends only on the seed and the spec."""
    spec, seed, gzip_level, blob_dir = job
    rng = random.Random(f"{seed}/{spec.key}")
    entry_overhead = STORED_ENTRY_OVERHEAD if gzip_level == 0 else ENTRY_OVERHEAD
    with BlobWriter(blob_dir) as blob:
        sink = GzipSink(blob, gzip_level)
        with tarfile.open(fileobj=sink, mode="w", format=tarfile.USTAR_FORMAT, copybufsize=MIB) as tar:
            for info, content in layer_members(spec, rng, entry_overhead):
                tar.addfile(info, io.BytesIO(content) if content else None)
        sink.finish()
    return LayerResult(spec.key, blob.digest, blob.size, f"sha256:{sink.diff_hash.hexdigest()}", sink.length)


def build_layers(specs, seed, gzip_level, blob_dir, jobs):
    """Generate all layers, biggest first so the worker processes finish together."""
    work = [(spec, seed, gzip_level, blob_dir) for spec in sorted(specs, key=lambda spec: (-spec.size, spec.key))]
    if jobs == 1:
        return {result.key: result for result in map(build_layer, work)}
    with multiprocessing.Pool(jobs) as pool:
        return {result.key: result for result in pool.imap_unordered(build_layer, work)}


def descriptor(media_type, digest, size, **extra):
    return {"mediaType": media_type, "digest": digest, "size": size, **extra}


def write_json_blob(blob_dir, media_type, document, **extra):
    """Store a JSON document as a blob and return its descriptor."""
    with BlobWriter(blob_dir) as blob:
        blob.write(json.dumps(document, separators=(",", ":")).encode())
    return descriptor(media_type, blob.digest, blob.size, **extra)


def image_config(plan, arch, layers):
    """A config that `docker load`, `ctr import` and skopeo accept, with one history entry per layer."""
    stack = plan.stacks[arch]
    return {
        "created": CREATED,
        **PLATFORMS[arch],
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", f"APP={plan.name}"],
            "Cmd": [f"/usr/local/bin/{plan.name}"],
            "WorkingDir": f"/srv/{plan.name}",
            "Labels": {"org.opencontainers.image.title": plan.name},
        },
        "rootfs": {"type": "layers", "diff_ids": [layers[key].diff_id for key in stack]},
        "history": [{"created": CREATED, "created_by": f"bench layer {key}"} for key in stack],
    }


def write_platform_manifest(blob_dir, plan, arch, layers):
    """Write one architecture's config and manifest; return the manifest descriptor and its config descriptor."""
    config = write_json_blob(blob_dir, CONFIG_TYPE, image_config(plan, arch, layers))
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": config,
        "layers": [descriptor(LAYER_TYPE, layers[key].digest, layers[key].size) for key in plan.stacks[arch]],
    }
    return write_json_blob(blob_dir, MANIFEST_TYPE, manifest, platform=PLATFORMS[arch]), config


def write_image(blob_dir, plan, layers):
    """Write an image's manifests (behind an image index when multi-arch); return its index.json entry and stats."""
    written = {arch: write_platform_manifest(blob_dir, plan, arch, layers) for arch in plan.stacks}
    manifests = [manifest for manifest, config in written.values()]
    if len(manifests) == 1:
        top = manifests[0]
    else:
        top = write_json_blob(blob_dir, INDEX_TYPE, {"schemaVersion": 2, "mediaType": INDEX_TYPE, "manifests": manifests})
    entry = {**top, "annotations": {REF_NAME: plan.ref}}
    return entry, image_stats(plan, layers, top, written)


def image_stats(plan, layers, top, written):
    """Bytes one image occupies on its own: over all platforms, and amd64 only (what `docker save` would keep)."""
    amd64_manifest, amd64_config = written["amd64"]
    amd64_layers = [layers[key] for key in plan.stacks["amd64"]]
    all_layers = {key for stack in plan.stacks.values() for key in stack}
    index_bytes = top["size"] if top["mediaType"] == INDEX_TYPE else 0
    manifests_and_configs = sum(manifest["size"] + config["size"] for manifest, config in written.values())
    return {
        "platforms": [platform_name(arch) for arch in plan.stacks],
        "all_platforms_bytes": index_bytes + manifests_and_configs + sum(layers[key].size for key in all_layers),
        "amd64_bytes": amd64_manifest["size"] + amd64_config["size"] + sum(layer.size for layer in amd64_layers),
        "amd64_uncompressed_bytes": amd64_config["size"] + sum(layer.tar_size for layer in amd64_layers),
    }


def platform_name(arch):
    platform = PLATFORMS[arch]
    return "/".join(filter(None, (platform["os"], platform["architecture"], platform.get("variant"))))


def write_file_atomically(path, data):
    """Replace a layout file in one step, so a concurrent reader sees the old or the new version, never half of one."""
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".tmp-", delete=False) as temporary:
        temporary.write(data)
    os.chmod(temporary.name, 0o644)
    os.replace(temporary.name, path)


def remove_stale_blobs(blob_dir, keep):
    """Drop blobs (and leftover temporary files) from an earlier run with other options, so the layout is exact."""
    for path in blob_dir.iterdir():
        if path.name not in keep:
            path.unlink()


def blob_bytes_on_disk(blob_dir):
    return sum(path.stat().st_size for path in blob_dir.iterdir())


def summarize(options, plans, layers, users, entries, stats, blob_dir):
    """The numbers benchmarks compare against: sizes on disk, sharing achieved, and per-image bytes without dedup."""
    shared_bytes = sum(layer.size for key, layer in layers.items() if len(users[key]) >= 2)
    layer_bytes = sum(layer.size for layer in layers.values())
    unique_bytes = blob_bytes_on_disk(blob_dir)
    return {
        "options": options,
        "images": len(plans),
        "multiarch_images": sum(len(plan.stacks) > 1 for plan in plans),
        "manifests": sum(len(plan.stacks) for plan in plans),
        "image_indexes": sum(entry["mediaType"] == INDEX_TYPE for entry in entries),
        "layer_blobs": len(layers),
        "unique_bytes": unique_bytes,
        "unique_mib": round(unique_bytes / MIB, 2),
        "layer_bytes": layer_bytes,
        "shared_layer_bytes": shared_bytes,
        "shared_fraction": round(shared_bytes / layer_bytes, 4),
        "sum_all_platforms_bytes": sum(stat["all_platforms_bytes"] for stat in stats.values()),
        "sum_amd64_bytes": sum(stat["amd64_bytes"] for stat in stats.values()),
        "sum_amd64_uncompressed_bytes": sum(stat["amd64_uncompressed_bytes"] for stat in stats.values()),
        "per_image": stats,
    }


def all_descriptors(blob_dir, entries):
    """Every descriptor reachable from the given index entries, by reading the manifests back from disk."""
    found, pending = [], list(entries)
    while pending:
        entry = pending.pop()
        found.append(entry)
        if entry["mediaType"] in (INDEX_TYPE, MANIFEST_TYPE):
            document = json.loads((blob_dir / entry["digest"].split(":")[1]).read_bytes())
            pending += document.get("manifests", []) + document.get("layers", []) + ([document["config"]] if "config" in document else [])
    return found


def completed_summary(out_dir, options):
    """The summary of an intact earlier run with the same options, or None if the set must be (re)generated."""
    try:
        marker = json.loads((out_dir / MARKER_NAME).read_text())
        intact = marker["summary"]["unique_bytes"] == blob_bytes_on_disk(out_dir / "blobs" / "sha256")
    except (OSError, ValueError, KeyError):
        return None
    return marker["summary"] if marker["options"] == options and intact and (out_dir / "index.json").is_file() else None


def generate(out_dir, *, images, total_mb, shared_fraction=0.6, multiarch_fraction=0.6, seed=1, jobs=None, gzip_level=1):
    """Write the image set to `out_dir` as an OCI layout and return its summary.

    Reuses `out_dir` untouched if it already holds a complete set made with the same options (`jobs` aside, since it
    only changes speed); the summary's "reused" then says so, for callers that report whether anything changed.
    """
    out_dir = Path(out_dir)
    options = {"format": FORMAT_VERSION, "images": images, "total_mb": total_mb, "shared_fraction": shared_fraction,
               "multiarch_fraction": multiarch_fraction, "seed": seed, "gzip_level": gzip_level}
    previous = completed_summary(out_dir, options)
    if previous is not None:
        return {**previous, "reused": True}
    blob_dir = out_dir / "blobs" / "sha256"
    blob_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MARKER_NAME).unlink(missing_ok=True)
    plans, unsized = plan_images(images, multiarch_fraction)
    users = layer_users(plans)
    specs = size_layers(unsized, users, total_mb * MIB, shared_fraction, seed)
    layers = build_layers(specs.values(), seed, gzip_level, blob_dir, jobs or os.cpu_count())
    written = {plan.ref: write_image(blob_dir, plan, layers) for plan in plans}
    entries = [entry for entry, stats in written.values()]
    remove_stale_blobs(blob_dir, {entry["digest"].split(":")[1] for entry in all_descriptors(blob_dir, entries)})
    write_file_atomically(out_dir / "oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}).encode())
    write_file_atomically(out_dir / "index.json", json.dumps({"schemaVersion": 2, "mediaType": INDEX_TYPE, "manifests": entries}, indent=1).encode())
    summary = summarize(options, plans, layers, users, entries, {ref: stats for ref, (entry, stats) in written.items()}, blob_dir)
    write_file_atomically(out_dir / MARKER_NAME, json.dumps({"options": options, "summary": summary}, indent=1).encode())
    return {**summary, "reused": False}


def ref_names(layout_dir):
    index = json.loads((Path(layout_dir) / "index.json").read_text())
    return [entry.get("annotations", {}).get(REF_NAME, "") for entry in index["manifests"]]


def within(kind, low, high):
    """An argparse type: kind(text), refused outside low..high."""
    def parse(text):
        value = kind(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}")
        return value
    return parse


def positive(kind):
    def parse(text):
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError("must be positive")
        return value
    return parse


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--out", type=Path, help="OCI layout directory to write (reused as is if already complete for the same options)")
    parser.add_argument("--preset", choices=PRESETS, default=DEFAULT_PRESET,
                        help="tiny: 4 images ~3 MiB; small: 8 images ~200 MiB; large: 40 images ~2100 MiB (default: %(default)s)")
    parser.add_argument("--images", type=positive(int), help="number of images (overrides the preset)")
    parser.add_argument("--total-mb", type=positive(float), help="deduplicated unique bytes in MiB (overrides the preset)")
    parser.add_argument("--shared-fraction", type=within(float, 0, 1), help="fraction of layer bytes in layers used by 2+ images (preset: 0.6)")
    parser.add_argument("--multiarch-fraction", type=within(float, 0, 1), help="fraction of images that are linux/amd64 + linux/arm64/v8 (preset: 0.6)")
    parser.add_argument("--seed", type=int, default=1, help="changes every blob (default: %(default)s)")
    parser.add_argument("--jobs", type=positive(int), default=os.cpu_count(), help="worker processes; changes speed only (default: %(default)s)")
    parser.add_argument("--gzip-level", type=within(int, 0, 9), default=1, help="layer compression level 0-9 (default: %(default)s)")
    parser.add_argument("--summary-json", type=Path, help="also write the summary to this file")
    parser.add_argument("--print-refs", type=Path, metavar="DIR", help="print the ref names of an existing layout and exit")
    args = parser.parse_args(argv)
    if args.print_refs is None and args.out is None:
        parser.error("--out is required unless --print-refs is given")
    return args


def preset_options(args):
    """The preset's values, overridden by whichever options were given explicitly."""
    explicit = {name: getattr(args, name) for name in PRESETS[args.preset] if getattr(args, name) is not None}
    return {**PRESETS[args.preset], **explicit, "seed": args.seed, "jobs": args.jobs, "gzip_level": args.gzip_level}


def main(argv=None):
    args = parse_args(argv)
    if args.print_refs is not None:
        print("\n".join(ref_names(args.print_refs)))
        return
    started = time.monotonic()
    summary = generate(args.out, **preset_options(args))
    if args.summary_json is not None:
        args.summary_json.write_text(json.dumps(summary, indent=1) + "\n")
    outcome = "already complete for these options, kept" if summary["reused"] else f"generated in {time.monotonic() - started:.1f}s"
    print(f"{args.out}: {summary['images']} images ({summary['multiarch_images']} multi-arch), {summary['layer_blobs']} layers, "
          f"{summary['unique_mib']} MiB unique, shared fraction {summary['shared_fraction']}: {outcome}", file=sys.stderr)


if __name__ == "__main__":
    main()
