# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Image references, parsed and normalised exactly as Docker and containerd do.

Users write `redis`, `nats:2.12.6-alpine` or `ghcr.io/org/app:v1@sha256:...` and expect the
image `docker pull` would fetch. Any drift from Docker's rules (which registry a name is on,
when `library/` is added, where a tag ends and a port begins) would copy a different image, or
the same image under a different name, across the air gap. So this module follows the grammar
and normalisation of the Go package `github.com/distribution/reference` (regexp.go,
normalize.go, reference.go) and the digest checks of `github.com/opencontainers/go-digest`,
and words every refusal so the user sees which part of the reference is wrong.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Optional

from ansible_collections.airlock.airgap.plugins.module_utils.errors import AirlockError

DEFAULT_REGISTRY = "docker.io"
DEFAULT_TAG = "latest"

_LEGACY_REGISTRY = "index.docker.io"
_OFFICIAL_PREFIX = "library/"
_LOCALHOST = "localhost"
_MAX_PATH_LENGTH = 255
_MAX_TAG_LENGTH = 128
_DIGEST_HEX_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}
_PATH_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-")

# The grammar of distribution/reference regexp.go, piece for piece. re.ASCII keeps \w to
# [A-Za-z0-9_] as in Go; every pattern is used with fullmatch, as Go's are anchored.
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*"
_REMOTE_NAME = rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[(?:[a-fA-F0-9:]+)\])"
_DOMAIN_AND_PORT = rf"{_HOST}(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}"

_REFERENCE_RE = re.compile(rf"((?:{_DOMAIN_AND_PORT}/)?{_REMOTE_NAME})(?::({_TAG}))?(?:@({_DIGEST}))?", re.ASCII)
_DOMAIN_RE = re.compile(_DOMAIN_AND_PORT, re.ASCII)
_PATH_COMPONENT_RE = re.compile(_PATH_COMPONENT, re.ASCII)
_TAG_RE = re.compile(_TAG, re.ASCII)
_DIGEST_RE = re.compile(_DIGEST, re.ASCII)
_IDENTIFIER_RE = re.compile(r"[a-f0-9]{64}")


class InvalidReference(AirlockError, ValueError):
    """A string that Docker would refuse as an image reference; the message says which part and why."""


@dataclasses.dataclass(frozen=True)
class Reference:
    """A normalised image reference; build one with parse() so that every field is valid."""

    registry: str
    repository: str
    tag: Optional[str] = None
    digest: Optional[str] = None

    @property
    def name(self) -> str:
        """Registry and repository: what identifies the repository, without tag or digest."""
        return f"{self.registry}/{self.repository}"

    def __str__(self) -> str:
        return self.name + self._suffix()

    @property
    def familiar(self) -> str:
        """The short form Docker prints (`redis:latest`, `org/app:v1`), for messages users recognise."""
        return _familiar_name(self.registry, self.repository) + self._suffix()

    @property
    def pin(self) -> str:
        """What to ask the registry for: the digest when there is one, as it cannot move; else the tag."""
        pinned = self.digest or self.tag
        if pinned is None:
            raise _invalid(str(self), "names neither a tag nor a digest, so there is no image to fetch")
        return pinned

    def with_digest(self, digest: str) -> Reference:
        """The same image pinned to a digest (the tag, if any, stays), e.g. after resolving the tag."""
        reason = _digest_error(digest)
        if reason:
            raise _invalid(f"{self.name}@{digest}", reason)
        return dataclasses.replace(self, digest=digest)

    def with_tag(self, tag: str) -> Reference:
        """The same repository under another tag (the digest, if any, stays)."""
        reason = _tag_error(tag)
        if reason:
            raise _invalid(f"{self.name}:{tag}", reason)
        return dataclasses.replace(self, tag=tag)

    def with_registry(self, registry: str, prefix: Optional[str] = None) -> Reference:
        """The same image moved to a mirror registry, its path kept under an optional prefix.

        The result is re-parsed, so it is exactly what Docker would read back from its string.
        """
        reason = _registry_error(registry)
        if reason:
            raise _invalid(registry, reason)
        path = f"{prefix}/{self.repository}" if prefix else self.repository
        return parse(f"{registry}/{path}{self._suffix()}", default_tag=None)

    def _suffix(self) -> str:
        return (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")


def parse(text: str, default_tag: Optional[str] = DEFAULT_TAG) -> Reference:
    """Read an image reference as `docker pull` would, into its fully normalised form.

    Like Docker, a reference with neither tag nor digest gets `default_tag` (pass None to keep
    it bare); a reference with a digest gets no tag it did not have.
    """
    if not text:
        raise _invalid(text, "repository name must have at least one component")
    if _IDENTIFIER_RE.fullmatch(text):
        raise _invalid(text, "cannot specify 64-byte hexadecimal strings: that is an image ID, not a repository name")
    registry, remainder = _split_registry(text)
    if _has_uppercase(remainder.partition("@")[0].partition(":")[0]):  # the name ends at the tag or digest
        raise _invalid(text, "repository name must be lowercase")
    reason = _registry_error(registry)
    if reason:
        raise _invalid(text, reason)
    match = _REFERENCE_RE.fullmatch(f"{registry}/{remainder}")
    if not match:
        raise _invalid(text, _grammar_error(remainder))
    name, tag, digest = match.groups()
    repository = name[len(registry) + 1:]
    if len(repository) > _MAX_PATH_LENGTH:
        raise _invalid(text, f"repository name must not be more than {_MAX_PATH_LENGTH} characters")
    reason = digest and _digest_error(digest)
    if reason:
        raise _invalid(text, reason)
    reference = Reference(registry, repository, tag, digest)
    if tag is None and digest is None and default_tag is not None:
        return reference.with_tag(default_tag)
    return reference


def _invalid(text, reason: str) -> InvalidReference:
    return InvalidReference(f"invalid image reference {text!r}: {reason}")


def _split_registry(text: str):
    """Docker's splitDockerDomain: which registry a reference names, and the rest of it.

    The first path component is a registry only if Docker would read it as one; otherwise the
    image is on Docker Hub, where a one-component name is an official image under `library/`.
    """
    first, slash, rest = text.partition("/")
    if not slash:
        return DEFAULT_REGISTRY, _OFFICIAL_PREFIX + text
    if first == _LEGACY_REGISTRY:
        registry, remainder = DEFAULT_REGISTRY, rest
    elif _reads_as_registry(first):
        registry, remainder = first, rest
    else:
        registry, remainder = DEFAULT_REGISTRY, text
    if registry == DEFAULT_REGISTRY and "/" not in remainder:
        remainder = _OFFICIAL_PREFIX + remainder
    return registry, remainder


def _reads_as_registry(component: str) -> bool:
    """Docker's test: a host has a '.' or a ':port', is `localhost`, or has uppercase (which a path may not)."""
    return component == _LOCALHOST or "." in component or ":" in component or _has_uppercase(component)


def _has_uppercase(text: str) -> bool:
    return text.lower() != text


def _familiar_name(registry: str, repository: str) -> str:
    """Docker's familiarizeName: drop `docker.io/`, and `library/` of a one-component official image."""
    if registry != DEFAULT_REGISTRY:
        return f"{registry}/{repository}"
    official = repository[len(_OFFICIAL_PREFIX):]
    if repository.startswith(_OFFICIAL_PREFIX) and "/" not in official:
        return official
    return repository


def _registry_error(registry: str) -> Optional[str]:
    """Why a registry cannot be written as the first component of a reference, or None."""
    if not _DOMAIN_RE.fullmatch(registry):
        return f"registry {registry!r} is not a valid host[:port]"
    if not _reads_as_registry(registry):
        return f"registry {registry!r} would be read as a Docker Hub namespace: use a host with a '.' or a ':port', or 'localhost'"
    return None


def _tag_error(tag: str) -> Optional[str]:
    """Why a tag breaks the grammar, or None."""
    if _TAG_RE.fullmatch(tag):
        return None
    if not tag:
        return "the tag is missing after ':' (an empty tag is not 'latest'): name the tag, e.g. redis:7.2, or pin a digest"
    if len(tag) > _MAX_TAG_LENGTH:
        return f"tag must not be more than {_MAX_TAG_LENGTH} characters (it has {len(tag)})"
    return f"tag {tag!r} must start with a letter, digit or '_' and hold only letters, digits, '_', '.' and '-'"


def _digest_error(digest: str) -> Optional[str]:
    """Why go-digest would refuse a digest (grammar, unsupported algorithm, wrong encoding), or None."""
    if not _DIGEST_RE.fullmatch(digest):
        return f"digest {digest!r} must be <algorithm>:<hex>, e.g. sha256:<64 hex digits>"
    algorithm, _colon, encoded = digest.partition(":")
    length = _DIGEST_HEX_LENGTHS.get(algorithm)
    if length is None:
        return f"unsupported digest algorithm {algorithm!r} (supported: {', '.join(_DIGEST_HEX_LENGTHS)})"
    if len(encoded) != length or _has_uppercase(encoded):
        return f"digest {digest!r} must have exactly {length} lowercase hex digits after '{algorithm}:'"
    return None


def _grammar_error(remainder: str) -> str:
    """Which part of a reference (after its registry) breaks the grammar.

    Docker says only "invalid reference format"; naming the part saves the user the guessing.
    """
    rest, at, digest = remainder.partition("@")
    path, colon, tag = rest.rpartition(":")
    if not colon or "/" in tag:
        path, tag = rest, None
    return (at and _digest_error(digest)) or (tag is not None and _tag_error(tag)) or _path_error(path)


def _path_error(path: str) -> str:
    if path in ("", _OFFICIAL_PREFIX):  # an empty name, as written or once put under library/
        return "repository name must have at least one component"
    components = path.split("/")
    if "" in components:
        return "repository path must not have empty components (a leading, trailing or doubled '/')"
    for component in components:
        if not _PATH_COMPONENT_RE.fullmatch(component):
            return _component_error(component)
    return "invalid reference format"


def _component_error(component: str) -> str:
    invalid = "".join(sorted(set(component) - _PATH_CHARACTERS))
    if invalid:
        return f"path component {component!r} has invalid characters {invalid!r}: only a-z, 0-9, '.', '_' and '-' are allowed"
    return (f"path component {component!r} must start and end with a letter or digit, and join them only "
            "with one '.', one or two '_', or any number of '-'")
