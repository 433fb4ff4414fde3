# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where images are copied from and to: a registry repository or a name in an OCI layout.

Each implements the members of oci.image it can (a registry repository is a MountingSink and a
SignedSource, a writable layout an ImageSink and a SignedSource, a layout read in place a
SignedSource only), so the copy engine never needs to know which it has.
"""

from __future__ import annotations

from ansible_collections.airlock.airgap.plugins.module_utils.integrity import digest as digests
from ansible_collections.airlock.airgap.plugins.module_utils.oci import layout as layouts, mediatypes, platforms, reference as references
from ansible_collections.airlock.airgap.plugins.module_utils.oci.errors import OciError


def verified_blob(endpoint, descriptor, what=None):
    """A blob's bytes from any endpoint as they stream, raising DigestMismatch at the end unless digest and size match.

    The error names what (by default the endpoint and the blob).
    """
    digest, size = descriptor["digest"], descriptor.get("size")
    return digests.Verifier(digest, size, what=what or f"{endpoint}: blob {digest}").through(endpoint.blob_chunks(digest, size))


def platform_manifest(endpoint, root, platform):
    """The image manifest for platform under root: the index's entry for it, or root itself when it is a lone
    manifest (whose platform only its config tells, so the caller checks that)."""
    manifest = root
    if mediatypes.is_index(root.media_type):
        chosen = platforms.select(root.parsed().get("manifests", []), [platform], str(endpoint))[0]
        manifest = endpoint.manifest(chosen["digest"])
    mediatypes.check_supported(manifest.media_type, f"{endpoint}@{manifest.digest}")
    if mediatypes.is_index(manifest.media_type):
        raise OciError(f"{endpoint}@{manifest.digest} is an index inside an index; an image manifest per platform is needed")
    return manifest


class RegistryEndpoint:
    """One image name in one registry repository, reached through a RegistryClient.

    An endpoint fetched through a proxy or mirror (reference) stands for the image's canonical name (stands_for),
    which is what it is called wherever it is recorded.
    """

    def __init__(self, client, reference, stands_for=None):
        self.client = client
        self.reference = reference
        self.repository = reference.repository
        self.stands_for = stands_for or reference

    is_local = False

    def __str__(self):
        return str(self.stands_for)

    @property
    def via(self):
        """The reference fetched in place of the canonical one, or "" when the image comes from its own registry."""
        return "" if self.stands_for == self.reference else str(self.reference)

    @property
    def identity(self):
        return f"{self.client.registry}/{self.repository}"

    @property
    def store(self):
        """Where blobs live: one registry holds them for all its repositories (mountable)."""
        return self.client.registry

    @property
    def pinned_digest(self):
        return self.reference.digest

    def current_digest(self):
        return self.client.manifest_digest(self.repository, self.reference.pin)

    def root_manifest(self):
        return self.client.get_manifest(self.repository, self.reference.pin)

    def manifest(self, digest):
        return self.client.get_manifest(self.repository, digest)

    def blob_size(self, digest):
        return self.client.blob_size(self.repository, digest)

    def blob_chunks(self, digest, size=None):
        return self.client.blob_chunks(self.repository, digest, size)

    def write_blob(self, digest, chunks, size):
        return self.client.upload_blob(self.repository, digest, chunks, size)

    def referrers(self, digest):
        return self.client.referrers(self.repository, digest)

    def put_referrer(self, manifest, subject):
        """A registry links a manifest to its subject by the manifest's own subject field; one without the referrers API
        gets it listed under the sha256-<hex> tag too. True when new."""
        added = self.client.manifest_digest(self.repository, manifest.digest) != manifest.digest
        if added:
            self.client.put_manifest(self.repository, manifest.digest, manifest)
        descriptor = manifest.descriptor
        parsed = manifest.parsed()
        if parsed.get("artifactType") or parsed.get("config", {}).get("mediaType"):
            descriptor["artifactType"] = parsed.get("artifactType") or parsed["config"]["mediaType"]
        return self.client.add_referrer_to_tag_schema(self.repository, subject, descriptor) or added

    def sibling(self, tag):
        """The same repository under another tag (cosign keeps signatures as sha256-<hex>.sig tags)."""
        canonical = references.Reference(self.stands_for.registry, self.stands_for.repository, tag)
        return RegistryEndpoint(self.client, references.Reference(self.reference.registry, self.repository, tag), canonical)

    def mount_from(self, source, digest):
        """Ask the registry to link a blob from another repository of the same registry
        (source is any endpoint: the copy's source, or another destination of this run)."""
        same_registry = isinstance(source, RegistryEndpoint) and source.client.registry == self.client.registry
        if not same_registry or source.repository == self.repository:
            return False
        return self.client.mount_blob(self.repository, digest, source.repository)

    def put_manifest(self, manifest, by_name=False):
        reference = self.reference.tag if by_name and self.reference.tag else manifest.digest
        return self.client.put_manifest(self.repository, reference, manifest)


class LayoutSource:
    """One named image in an OCI image layout, read in place (a layout on disk, or a bundle's in its volumes)."""

    def __init__(self, layout, ref_name, source_reference=None):
        self.layout = layout
        self.ref_name = ref_name
        self.source_reference = source_reference

    def __str__(self):
        return f"{self.layout.location}:{self.ref_name}"

    @property
    def pinned_digest(self):
        return None

    def current_digest(self):
        descriptor = self.layout.find(self.ref_name)
        return descriptor["digest"] if descriptor else None

    def root_manifest(self):
        descriptor = self.layout.find(self.ref_name)
        if descriptor is None:
            known = ", ".join(self.layout.ref_names()) or "none"
            raise layouts.NotFound(f"{self.ref_name} is not in the layout {self.layout.root} (it has: {known})")
        return self.layout.read_manifest(descriptor["digest"])

    def manifest(self, digest):
        return self.layout.read_manifest(digest)

    def blob_chunks(self, digest, size=None):
        return self.layout.blob_chunks(digest, size)

    def referrers(self, digest):
        return self.layout.referrers(digest)

    def sibling(self, tag):
        """The same name under another tag, of the same kind (a writable layout's sibling is writable)."""
        name = references.parse(self.ref_name, default_tag=None)
        sibling_reference = references.Reference(name.registry, name.repository, tag)
        source = self.source_reference and references.Reference(self.source_reference.registry, self.source_reference.repository, tag)
        return type(self)(self.layout, f"{sibling_reference.name}:{tag}", source)


class LayoutEndpoint(LayoutSource):
    """One named image in a writable OCI image layout (layout.Layout: the bundle's shared blob store)."""

    is_local = True

    @property
    def identity(self):
        return self.layout.root

    @property
    def store(self):
        return self.layout.root

    def blob_size(self, digest):
        return self.layout.blob_size(digest)

    def write_blob(self, digest, chunks, size):
        return self.layout.write_blob(digest, chunks, size)

    def put_referrer(self, manifest, subject):
        self.layout.write_manifest(manifest)
        return self.layout.add_referrer(manifest, subject)

    def put_manifest(self, manifest, by_name=False):
        self.layout.write_manifest(manifest)
        if by_name:
            annotations = {layouts.SOURCE_ANNOTATION: str(self.source_reference)} if self.source_reference else {}
            self.layout.tag(manifest, self.ref_name, annotations)
        return manifest.digest
