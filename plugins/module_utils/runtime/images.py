# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which images a node should hold, resolved for the node's platform, and every name each one gets.

A pod may name an image by its original reference (`redis:7`, which the runtime expands to
`docker.io/library/redis:7`), by the mirror's reference, or by either pinned to a digest.
Each image is given all of these names, so `imagePullPolicy: IfNotPresent` finds it under
whichever one a manifest uses and never pulls.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib

from ansible_collections.airlock.airgap.plugins.module_utils import jsontext
from ansible_collections.airlock.airgap.plugins.module_utils.errors import InvalidInput
from ansible_collections.airlock.airgap.plugins.module_utils.integrity import digest as digests
from ansible_collections.airlock.airgap.plugins.module_utils.oci import endpoints, platforms as platform_lib, reference as references
from ansible_collections.airlock.airgap.plugins.module_utils.oci import transports
from ansible_collections.airlock.airgap.plugins.module_utils.oci.errors import OciError, PlatformMissing
from ansible_collections.airlock.airgap.plugins.module_utils.oci.manifest import Manifest


@dataclasses.dataclass
class NodeImage:  # pylint: disable=too-many-instance-attributes
    """One image for one platform: where its bytes come from and what the node will call it."""

    endpoint: object
    reference: references.Reference  # the original reference pods use
    root: Manifest  # what the name points at: an index, or a single manifest
    manifest: Manifest  # the node platform's image manifest
    config: dict  # descriptors, as the manifest lists them
    layers: list
    names: list

    @property
    def digest(self):
        return self.root.digest

    @property
    def config_digest(self):
        return self.config["digest"]

    @property
    def content(self):
        """Config and layer descriptors: the blobs an import may leave out when the node has them."""
        return [self.config, *self.layers]

    @functools.cached_property
    def config_bytes(self):
        return b"".join(endpoints.verified_blob(self.endpoint, self.config))

    @property
    def diff_ids(self):
        return jsontext.parse(self.config_bytes, f"the config of {self.endpoint}").get("rootfs", {}).get("diff_ids", [])

    def whole_in(self, blobs, snapshots):
        """Every blob of this platform in blobs, and the whole layer stack unpacked (its top chain ID in snapshots)."""
        needed = {self.root.digest, self.manifest.digest, *(d["digest"] for d in self.content)}
        return needed <= blobs and (not self.diff_ids or chain_ids(self.diff_ids)[-1] in snapshots)


def node_names(reference, digest, mirror=None):
    """The original reference and the mirror's, each by tag (when it has one) and by digest."""
    bases = [reference]
    if mirror:
        host, _sep, prefix = mirror.strip("/").partition("/")
        bases.append(reference.with_registry(host, prefix or None))
    names = []
    for base in bases:
        if base.tag:
            names.append(f"{base.name}:{base.tag}")
        names.append(f"{base.name}@{digest}")
    return names


def resolve(source, images, platform, mirror=None, clients=None):
    """Module input -> [NodeImage] for platform, every image checked before any byte moves.

    source: `oci:DIR`, `docker-archive:FILE` or `docker://HOST[/PREFIX]`. images: references
    (with an optional digest pin); empty means every image a layout or archive holds.
    """
    clients = clients or transports.Clients()
    located = list(_locate(source, images, clients))
    where = transports.location(source)
    if not (where.is_local or where.bare) and mirror is None:
        mirror = where.target
    return [_resolve_one(endpoint, reference, pin, platform, mirror) for endpoint, reference, pin in located]


def _locate(source, images, clients):
    """(endpoint, original reference, digest pin or None) for each wanted image."""
    wanted = [_wanted(entry) for entry in images or []]
    where = transports.location(source)
    if where.bare:
        raise InvalidInput(f"source {source!r} is not oci:DIR, docker-archive:FILE or docker://HOST[/PREFIX]")
    if not where.is_local:
        if not wanted:
            raise InvalidInput(f"{source} is a registry: list the images to preload from it")
        for reference, pin in wanted:
            yield transports.destination_for(source, _pinned(reference, pin), clients), reference, pin
        return
    available = {str(reference): (endpoint, reference) for endpoint, reference in transports.expand_source(source, clients)}
    if not wanted:
        for endpoint, reference in available.values():
            yield endpoint, reference, None
        return
    for reference, pin in wanted:
        found = available.get(transports.layout_name(reference)) or available.get(str(reference))
        if found is None:
            raise OciError(f"{reference} is not in {source}; it has: {', '.join(sorted(available)) or 'nothing'}")
        yield found[0], reference, pin


def _wanted(entry):
    """'ref' or {'name': ref, 'digest': pin} -> (Reference with a tag or digest, pin or None)."""
    name, pin = (entry.get("name"), entry.get("digest")) if isinstance(entry, dict) else (entry, None)
    reference = references.parse(name)
    pin = pin or reference.digest
    if pin:
        digests.parse(pin)
    return reference, pin


def _pinned(reference, pin):
    return reference.with_digest(pin) if pin else reference


def _resolve_one(endpoint, reference, pin, platform, mirror):
    root = endpoint.root_manifest()
    if pin and root.digest != pin:
        raise OciError(f"{endpoint} is {root.digest}, not the {pin} asked for: the source holds another image under this name")
    try:
        manifest = endpoints.platform_manifest(endpoint, root, platform)
    except PlatformMissing as error:
        raise PlatformMissing(_lacks_platform(endpoint, root, platform)) from error
    parsed = manifest.parsed()
    image = NodeImage(endpoint, reference, root, manifest, parsed["config"], parsed.get("layers", []),
                      node_names(reference, root.digest, mirror))
    if manifest is root:  # a lone manifest: only its config (read once, kept by the image) names its platform
        held = platform_lib.of_config(jsontext.parse(image.config_bytes, f"the config of {endpoint}"))
        if not platform.matches(held):
            raise PlatformMissing(f"{endpoint} is a single-platform image for {held}; this node is {platform}")
    return image


def _lacks_platform(endpoint, root, platform):
    """A node imports its own platform only, so 'all' is no way out here: say which platforms the image has and what to do."""
    held = sorted({str(platform_lib.of_descriptor(d)) for d in root.parsed().get("manifests", [])}) or ["none"]
    return (f"{endpoint} has no {platform} image (it has: {', '.join(held)}), and this node runs {platform}: copy that platform "
            f"into the bundle (image_copy platforms: [{platform}] or [all]), set platform if the node's was detected wrongly, "
            "or leave this image out for this node")


def chain_ids(diff_ids):
    """Layer chain IDs, as containerd keys unpacked snapshots and Docker its layer store: each names a layer and all below it."""
    chains, previous = [], None
    for diff_id in diff_ids:
        previous = diff_id if previous is None else "sha256:" + hashlib.sha256(f"{previous} {diff_id}".encode()).hexdigest()
        chains.append(previous)
    return chains
