# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The image seam: what the copy engine asks of where an image comes from and where it goes.

As go-containerregistry puts one Image interface in front of remote, layout and tarball, each
store here implements what it is and nothing more: a registry repository (endpoints.RegistryEndpoint)
is a source and a sink that can mount; a writable OCI layout (endpoints.LayoutEndpoint) a source
and a sink; a layout read in place (endpoints.LayoutSource, over a layout or a bundle's volumes)
and a docker-archive (archive.ArchiveEndpoint) are sources only. A docker-archive is written by
archive.write_archive, which reads ImageSources: a tar of inflated layers is made whole, not fed
blob by blob. The copy engine asks the optional members (signatures, mounts) with isinstance.
"""

from __future__ import annotations

from typing import Iterator, Protocol, runtime_checkable

from ansible_collections.airlock.airgap.plugins.module_utils.oci.manifest import Manifest


@runtime_checkable
class ImageSource(Protocol):
    """One image to read: what its name points at, its manifests, and its blobs' bytes."""

    @property
    def pinned_digest(self) -> str | None:
        """The digest the name itself pins (name@sha256:...), known without a request; else None."""

    def current_digest(self) -> str | None:
        """The digest the name points at now, or None when the name is not there."""

    def root_manifest(self) -> Manifest:
        """What the name points at: an index or an image manifest."""

    def manifest(self, digest: str) -> Manifest:
        """A manifest of this image by its digest."""

    def blob_chunks(self, digest: str, size: int | None = None) -> Iterator[bytes]:
        """A blob's bytes as they stream; endpoints.verified_blob checks them against the digest."""


@runtime_checkable
class SignedSource(ImageSource, Protocol):
    """A source that can hold an image's signatures too: cosign's sha256-<hex>.sig tags and OCI 1.1 referrers."""

    def sibling(self, tag: str) -> SignedSource:
        """The same repository under another tag."""

    def referrers(self, digest: str) -> list:
        """Descriptors of the artifacts whose subject is digest."""


@runtime_checkable
class ImageSink(Protocol):
    """Where a copy writes one image. A local sink is an ImageSource as well: the copy reads it to see that an
    image is whole there (a stat per blob, no request)."""

    is_local: bool

    @property
    def identity(self) -> str:
        """The one destination a blob transfer is shared for, however many images share the blob."""

    @property
    def store(self) -> str:
        """Where its blobs live, shared by the names of one registry or one layout."""

    def current_digest(self) -> str | None:
        """The digest the name points at now, or None."""

    def blob_size(self, digest: str) -> int | None:
        """The size of a blob the sink holds, or None when it does not."""

    def write_blob(self, digest: str, chunks: Iterator[bytes], size: int | None) -> int:
        """Store the chunks as the blob named digest (they verify themselves as they stream)."""

    def put_manifest(self, manifest: Manifest, by_name: bool = False) -> str:
        """Store a manifest by its digest; by_name points the sink's name at it too."""

    def put_referrer(self, manifest: Manifest, subject: str) -> bool:
        """Store an artifact manifest and list it as a referrer of subject; True when it is new."""

    def sibling(self, tag: str) -> ImageSink:
        """The same repository under another tag (where a signature tag goes)."""


@runtime_checkable
class MountingSink(ImageSink, Protocol):
    """A sink that can link a blob it holds under another name, so no byte moves (a registry's cross-repository mount)."""

    def mount_from(self, source: object, digest: str) -> bool:
        """Link the blob from source when it is in the same store; False when it cannot."""
