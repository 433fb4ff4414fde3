"""Images and the artifacts that sign them, laid out as cosign and the OCI 1.1 referrers spec lay them out."""

import hashlib
import json

import tiny_image
from ansible_collections.airlock.airgap.plugins.module_utils.oci.manifest import Manifest

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
EMPTY = {"mediaType": "application/vnd.oci.empty.v1+json", "digest": tiny_image.sha256(b"{}"), "size": 2}
SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
DSSE = "application/vnd.dsse.envelope.v1+json"
SIGSTORE_BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json"


def add_image(layout, ref_name, message):
    """A tiny one-layer image under ref_name; its manifest digest."""
    image = tiny_image.build(message)
    for blob in (image.layer_gzip, image.config):
        layout.write_blob(tiny_image.sha256(blob), [blob], len(blob))
    manifest = _manifest(image.manifest)
    layout.write_manifest(manifest)
    layout.tag(manifest, ref_name)
    return manifest


def add_cosign_tag(layout, name, digest, suffix, layers):
    """A cosign-style sha256-<hex>.<suffix> manifest; layers: [(media type, blob bytes, annotations)]."""
    descriptors = []
    for media_type, blob, annotations in layers:
        layout.write_blob(tiny_image.sha256(blob), [blob], len(blob))
        descriptors.append({"mediaType": media_type, "digest": tiny_image.sha256(blob), "size": len(blob), "annotations": annotations})
    config = json.dumps({"architecture": "", "os": "", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": [d["digest"] for d in descriptors]}}).encode()
    layout.write_blob(tiny_image.sha256(config), [config], len(config))
    raw = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                      "config": {"mediaType": OCI_CONFIG, "digest": tiny_image.sha256(config), "size": len(config)},
                      "layers": descriptors}).encode()
    manifest = _manifest(raw)
    layout.write_manifest(manifest)
    layout.tag(manifest, f"{name}:sha256-{digest.split(':')[1]}.{suffix}")
    return manifest


def add_referrer(layout, subject, media_type, blob):
    """An OCI 1.1 artifact holding blob, whose subject is the manifest subject."""
    layout.write_blob(EMPTY["digest"], [b"{}"], 2)
    layout.write_blob(tiny_image.sha256(blob), [blob], len(blob))
    raw = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": media_type, "config": EMPTY,
                      "layers": [{"mediaType": media_type, "digest": tiny_image.sha256(blob), "size": len(blob)}],
                      "subject": {"mediaType": subject.media_type, "digest": subject.digest, "size": len(subject.raw)}}).encode()
    manifest = _manifest(raw)
    layout.write_manifest(manifest)
    layout.add_referrer(manifest, subject.digest)
    return manifest


def _manifest(raw):
    return Manifest(raw, OCI_MANIFEST, "sha256:" + hashlib.sha256(raw).hexdigest())


def delete_pushed(result, scheme="http", **request_options):
    """Delete what an image_copy run pushed to a registry: images, their signature tags, referrers and referrers tag indexes."""
    import requests  # pylint: disable=import-outside-toplevel
    for image in result.get("images", []):
        host, _sep, path = image["destination"].partition("/")
        repository = path.rsplit(":", 1)[0] if "@" not in path else path.split("@", 1)[0]
        base = f"{scheme}://{host}/v2/{repository}/manifests"
        digests = [image["digest"]] + [entry.get("digest") or entry.get("referrer") for entry in image.get("signatures", [])]
        index = requests.head(f"{base}/{image['digest'].replace(':', '-')}", headers={"Accept": "application/vnd.oci.image.index.v1+json"},
                              timeout=30, **request_options)
        digests += [index.headers["Docker-Content-Digest"]] if index.status_code == 200 else []
        for digest in filter(None, digests):
            requests.delete(f"{base}/{digest}", timeout=30, **request_options)
