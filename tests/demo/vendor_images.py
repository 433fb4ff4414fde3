"""Stand-ins for a vendor's public images, as an OCI layout: each a multi-platform index (amd64, arm64).

make demo cannot pull the images a vendor guide names, so it writes small ones under the same
names and publishes them to the testbed's "public" registry, where the manifest's sources reach
them. Deterministic: a second run writes the same bytes, so the demo's second run moves nothing.

    python vendor_images.py --out DIR REF [REF ...]
"""

import argparse
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile

INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
ARCHITECTURES = ("amd64", "arm64")


def _digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _blob(root, data, media_type, **extra):
    path = os.path.join(root, "blobs", "sha256", _digest(data).split(":")[1])
    if not os.path.exists(path):
        with open(path, "wb") as handle:
            handle.write(data)
    return dict({"mediaType": media_type, "digest": _digest(data), "size": len(data)}, **extra)


def _layer(reference, architecture):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        data = f"{reference} for linux/{architecture}: a stand-in written by make demo\n".encode()
        info = tarfile.TarInfo("etc/airlock-demo-image")
        info.size, info.mode, info.mtime = len(data), 0o644, 0
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _platform_manifest(root, reference, architecture):
    layer = _layer(reference, architecture)
    config = json.dumps({"architecture": architecture, "os": "linux", "config": {"Cmd": ["/bin/true"]},
                         "rootfs": {"type": "layers", "diff_ids": [_digest(layer)]}}, sort_keys=True).encode()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": MANIFEST, "config": _blob(root, config, CONFIG),
                           "layers": [_blob(root, gzip.compress(layer, mtime=0), LAYER)]}, sort_keys=True).encode()
    return _blob(root, manifest, MANIFEST, platform={"architecture": architecture, "os": "linux"})


def write_layout(root, references):
    os.makedirs(os.path.join(root, "blobs", "sha256"), exist_ok=True)
    entries = []
    for reference in references:
        index = json.dumps({"schemaVersion": 2, "mediaType": INDEX,
                            "manifests": [_platform_manifest(root, reference, arch) for arch in ARCHITECTURES]}, sort_keys=True).encode()
        entries.append(_blob(root, index, INDEX, annotations={"org.opencontainers.image.ref.name": reference}))
    with open(os.path.join(root, "oci-layout"), "w", encoding="utf-8") as handle:
        json.dump({"imageLayoutVersion": "1.0.0"}, handle)
    with open(os.path.join(root, "index.json"), "w", encoding="utf-8") as handle:
        json.dump({"schemaVersion": 2, "mediaType": INDEX, "manifests": entries}, handle, indent=1, sort_keys=True)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("references", nargs="+")
    arguments = parser.parse_args(argv)
    write_layout(arguments.out, arguments.references)
    print(f"{len(arguments.references)} images in {arguments.out}")


if __name__ == "__main__":
    main(sys.argv[1:])
