"""Runnable stand-ins for a vendor's images, from Debian's busybox-static, as an OCI layout.

Each image holds the static busybox with its applets and /bin/standin, which is the whole
workload: with MODEL_DIR set it reads every file of that folder (sha256sum, listed at
/v1/models.sha256) and refuses to start on an empty or missing one; with UPSTREAM_URL set it
fetches that URL once (what a service configured with a hosted endpoint does, for the
egress witness to catch); then `busybox httpd` serves /v1/health/ready on $PORT (8000, or the
port the vendor's image listens on: REF=PORT sets PORT in that image's config, as its probes expect).

Deterministic: one layer shared by every image (pushed and stored once), each image's
config labelled with its own name so that each has its own digest, and a second run writes
the same bytes. Platforms other than this machine's get a placeholder layer: there is no
busybox of theirs here, and they are only carried, never run.

    python -m standins.images --out DIR [--architectures amd64,arm64] REF[=PORT] [REF[=PORT] ...]
"""

import argparse
import gzip
import hashlib
import io
import json
import os
import platform
import subprocess
import sys
import tarfile

INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
BUSYBOX = "/bin/busybox"
HEALTH_PATH = "/v1/health/ready"
PORT = 8000
STANDIN_SCRIPT = f"""#!/bin/sh
# A vendor stand-in: read the model folder, try the upstream (when configured), serve {HEALTH_PATH}.
mkdir -p /www/v1/health
if [ -n "$MODEL_DIR" ]; then
  find "$MODEL_DIR" -type f -exec sha256sum {{}} + > /www/v1/models.sha256 || exit 1
  [ -s /www/v1/models.sha256 ] || {{ echo "standin: no model files in $MODEL_DIR" >&2; exit 1; }}
  echo "standin: read $(wc -l < /www/v1/models.sha256) model files from $MODEL_DIR"
fi
if [ -n "$UPSTREAM_URL" ]; then
  # busybox's own resolver (a static glibc cannot load NSS), then a connection to the upstream's port.
  host=${{UPSTREAM_URL#*://}}; host=${{host%%/*}}; port=443; case "$UPSTREAM_URL" in http:*) port=80;; esac
  address=$(nslookup "$host" 2>/dev/null | awk '/^Address/ {{a=$NF}} END {{print a}}')
  [ -n "$address" ] && nc -w 3 "$address" "$port" </dev/null || echo "standin: upstream $UPSTREAM_URL unreachable" >&2
fi
echo ready > /www{HEALTH_PATH}
exec httpd -f -p "${{PORT:-{PORT}}}" -h /www
"""


def machine_architecture():
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())


def _digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _blob(root, data, media_type, **extra):
    path = os.path.join(root, "blobs", "sha256", _digest(data).split(":")[1])
    if not os.path.exists(path):
        with open(f"{path}.tmp", "wb") as handle:
            handle.write(data)
        os.replace(f"{path}.tmp", path)
    return dict({"mediaType": media_type, "digest": _digest(data), "size": len(data)}, **extra)


def _entry(archive, name, data=None, mode=0o755, link=None):
    info = tarfile.TarInfo(name)
    info.mtime, info.mode, info.uid, info.gid = 0, mode, 0, 0
    if link:
        info.type, info.linkname = tarfile.SYMTYPE, link
    elif data is None:
        info.type = tarfile.DIRTYPE
    else:
        info.size = len(data)
    archive.addfile(info, io.BytesIO(data) if data is not None else None)


def busybox_applets():
    listed = subprocess.run([BUSYBOX, "--list"], check=True, capture_output=True, text=True).stdout.split()
    return sorted(name for name in listed if name not in ("busybox",))


def runnable_layer():
    """busybox, a link per applet in /bin, /bin/standin, /www and /tmp: the same bytes every time."""
    with open(BUSYBOX, "rb") as handle:
        busybox = handle.read()
    if b"/lib64/ld-linux" in busybox[:4096] or b"/lib/ld-linux" in busybox[:4096]:
        raise RuntimeError(f"{BUSYBOX} is dynamically linked; install Debian's busybox-static")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for folder in ("bin", "tmp", "www", "www/v1"):
            _entry(archive, folder, mode=0o1777 if folder == "tmp" else 0o755)
        _entry(archive, "bin/busybox", busybox)
        for applet in busybox_applets():
            _entry(archive, f"bin/{applet}", link="busybox")
        _entry(archive, "bin/standin", STANDIN_SCRIPT.encode())
    return buffer.getvalue()


def placeholder_layer(architecture):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        _entry(archive, "etc/airlock-standin", f"a carried-only stand-in for linux/{architecture}\n".encode(), 0o644)
    return buffer.getvalue()


def _platform_manifest(root, reference, architecture, layers, port):
    layer = layers[architecture]
    config = json.dumps({
        "architecture": architecture, "os": "linux",
        "config": {"Entrypoint": ["/bin/standin"], "ExposedPorts": {f"{port}/tcp": {}},
                   "Env": ["PATH=/bin", f"PORT={port}"], "Labels": {"org.opencontainers.image.ref.name": reference}},
        "rootfs": {"type": "layers", "diff_ids": [_digest(layer)]},
    }, sort_keys=True).encode()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": MANIFEST, "config": _blob(root, config, CONFIG),
                           "layers": [_blob(root, gzip.compress(layer, mtime=0), LAYER)]}, sort_keys=True).encode()
    return _blob(root, manifest, MANIFEST, platform={"architecture": architecture, "os": "linux"})


def write_layout(root, references, architectures=None, ports=None):
    """Write each reference as an image index over `architectures` (default: this machine's only), each
    serving on its port of `ports` (default PORT)."""
    architectures = tuple(architectures or (machine_architecture(),))
    os.makedirs(os.path.join(root, "blobs", "sha256"), exist_ok=True)
    native = machine_architecture()
    layers = {arch: runnable_layer() if arch == native else placeholder_layer(arch) for arch in architectures}
    entries = []
    for reference in references:
        index = json.dumps({"schemaVersion": 2, "mediaType": INDEX, "manifests": [
            _platform_manifest(root, reference, arch, layers, (ports or {}).get(reference, PORT))
            for arch in architectures]}, sort_keys=True).encode()
        entries.append(_blob(root, index, INDEX, annotations={"org.opencontainers.image.ref.name": reference}))
    with open(os.path.join(root, "oci-layout"), "w", encoding="utf-8") as handle:
        json.dump({"imageLayoutVersion": "1.0.0"}, handle)
    with open(os.path.join(root, "index.json.tmp"), "w", encoding="utf-8") as handle:
        json.dump({"schemaVersion": 2, "mediaType": INDEX, "manifests": entries}, handle, indent=1, sort_keys=True)
    os.replace(os.path.join(root, "index.json.tmp"), os.path.join(root, "index.json"))


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--architectures", default=None, help="comma-separated, e.g. amd64,arm64 (default: this machine's)")
    parser.add_argument("references", nargs="+", help="REF or REF=PORT (the port the vendor's image listens on)")
    arguments = parser.parse_args(argv)
    references = [entry.split("=", 1)[0] for entry in arguments.references]
    ports = {entry.split("=", 1)[0]: int(entry.split("=", 1)[1]) for entry in arguments.references if "=" in entry}
    write_layout(arguments.out, references, arguments.architectures.split(",") if arguments.architectures else None, ports)
    print(f"{len(references)} runnable stand-in images in {arguments.out}")


if __name__ == "__main__":
    main(sys.argv[1:])
