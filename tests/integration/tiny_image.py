"""A tiny, real, runnable-format image built in memory for smoke tests.

Just enough of the OCI image spec to exercise the services: one gzip layer, a config,
a manifest, and the same image as a docker-archive (`docker save` format).
"""

import dataclasses
import gzip
import hashlib
import io
import json
import tarfile

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclasses.dataclass
class TinyImage:
    layer_tar: bytes
    layer_gzip: bytes
    config: bytes
    manifest: bytes

    @property
    def manifest_digest(self):
        return sha256(self.manifest)

    @property
    def config_digest(self):
        return sha256(self.config)


def build(message="hello from airlock\n"):
    layer_tar = _tar({"hello.txt": message.encode()})
    layer_gzip = gzip.compress(layer_tar, mtime=0)
    config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {"Cmd": ["/hello.txt"]},
        "rootfs": {"type": "layers", "diff_ids": [sha256(layer_tar)]},
    }, sort_keys=True).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": sha256(config), "size": len(config)},
        "layers": [{"mediaType": OCI_LAYER_GZIP, "digest": sha256(layer_gzip), "size": len(layer_gzip)}],
    }, sort_keys=True).encode()
    return TinyImage(layer_tar, layer_gzip, config, manifest)


def docker_archive(image, repo_tag):
    """`docker save` layout: manifest.json, the config, one uncompressed layer.tar."""
    config_name = image.config_digest.split(":")[1] + ".json"
    layer_name = sha256(image.layer_tar).split(":")[1] + "/layer.tar"
    repository, tag = repo_tag.rsplit(":", 1)
    manifest = [{"Config": config_name, "RepoTags": [repo_tag], "Layers": [layer_name]}]
    return _tar({
        config_name: image.config,
        layer_name: image.layer_tar,
        "manifest.json": json.dumps(manifest).encode(),
        "repositories": json.dumps({repository: {tag: layer_name.split("/")[0]}}).encode(),
    })


def _tar(files):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
