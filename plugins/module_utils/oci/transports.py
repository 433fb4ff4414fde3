# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Image locations as users write them, turned into copy jobs.

`docker://REF` or a bare reference is a registry image; `oci:DIR[:NAME]` is an OCI layout
(without NAME: every image in it); `docker-archive:FILE[:NAME]` is an image of a `docker save`
tar. A destination `docker://HOST[/PREFIX]` keeps each image's path under the prefix; `oci:DIR`
names each image by its full source reference; `docker-archive:FILE` writes one archive of
every image for one platform.
"""

from __future__ import annotations

import dataclasses

from ansible_collections.airlock.airgap.plugins.module_utils.oci import archive, auth, reference as references
from ansible_collections.airlock.airgap.plugins.module_utils.oci.endpoints import LayoutEndpoint, RegistryEndpoint
from ansible_collections.airlock.airgap.plugins.module_utils.oci.layout import Layout
from ansible_collections.airlock.airgap.plugins.module_utils.oci.registry import UPLOAD_CHUNK, RegistryClient, RetryPolicy

DOCKER = "docker://"
OCI = "oci:"
ARCHIVE = "docker-archive:"


@dataclasses.dataclass(frozen=True)
class RegistrySettings:
    """How to reach one registry host; credentials None means: look in the docker config."""

    credentials: auth.Credentials | None = None
    insecure: bool = False
    ca_file: str | None = None


# The `registries` and `docker_config` options, as the airlock.airgap.registries doc fragment documents them.
REGISTRIES_ARGUMENT_SPEC = dict(
    registries=dict(type="list", elements="dict", default=[], options=dict(
        host=dict(type="str", required=True),
        username=dict(type="str"),
        password=dict(type="str", no_log=True),
        insecure=dict(type="bool", default=False),
        ca_file=dict(type="path"),
    )),
    docker_config=dict(type="path"),
)


def registries_problems(entries):
    """Why the `registries` option cannot be used, one problem at a time: what its argument_spec cannot say."""
    for position, entry in enumerate(entries):
        where = f"registries[{position}].host"
        problem = text_problem(where, entry["host"], "a registry host[:port] such as registry.example:5000")
        if problem:
            yield problem
        elif "/" in entry["host"]:
            yield f"{where} is {entry['host']!r}: give the registry as host[:port] (registry.example:5000), without a scheme or path"


def text_problem(name, value, expected):
    """Why value cannot be the option called name, or None: it must be a string with something in it."""
    if not isinstance(value, str):
        shown = repr(value) if len(repr(value)) <= 80 else f"{repr(value)[:80]}..."
        return f"{name} must be {expected}, not {_kind(value)} ({shown})"
    if not value.strip():
        return f"{name} must be {expected}, not an empty string"
    return None


def _kind(value):
    kinds = {type(None): "null", bool: "a boolean", int: "a number", float: "a number", list: "a list", dict: "a dictionary"}
    return kinds.get(type(value), type(value).__name__)


def registry_settings(entries):
    """The modules' `registries` option -> {host: RegistrySettings}."""
    settings = {}
    for entry in entries:
        credentials = auth.Credentials(entry["username"], entry["password"] or "") if entry.get("username") else None
        settings[entry["host"]] = RegistrySettings(credentials, bool(entry.get("insecure")), entry.get("ca_file"))
    return settings


class Clients:
    """One RegistryClient per registry host, configured from per-host settings."""

    def __init__(self, settings=None, docker_config=None, retry=RetryPolicy(), timeout=300, upload_chunk=UPLOAD_CHUNK):
        self.settings = settings or {}
        self.docker_config = docker_config
        self.retry = retry
        self.timeout = timeout
        self.upload_chunk = upload_chunk
        self._clients = {}

    def for_registry(self, registry):
        if registry not in self._clients:
            settings = self.settings.get(registry, RegistrySettings())
            credentials = settings.credentials or auth.from_docker_config(registry, self.docker_config)
            self._clients[registry] = RegistryClient(registry, credentials, settings.insecure, settings.ca_file,
                                                     timeout=(10, self.timeout), retry=self.retry, upload_chunk=self.upload_chunk)
        return self._clients[registry]

    @property
    def requests_sent(self):
        return sum(client.requests_sent for client in self._clients.values())


def expand_source(text, clients):
    """A source string -> [(endpoint, Reference naming the image)]; oci:DIR expands to all its images."""
    if text.startswith(OCI):
        directory, name = _layout_location(text)
        layout = Layout(directory)
        names = [name] if name else layout.ref_names()
        return [(LayoutEndpoint(layout, n), _name_as_reference(n, text)) for n in names]
    if text.startswith(ARCHIVE):
        path, _sep, name = text[len(ARCHIVE):].partition(":")
        endpoint = archive.ArchiveEndpoint(path, name or None)
        if not (name or endpoint.repo_tags):
            raise references.InvalidReference(f"{text}: the image has no name in the archive; give the destination explicitly")
        return [(endpoint, _name_as_reference(name or endpoint.repo_tags[0], text))]
    ref = references.parse(text[len(DOCKER):] if text.startswith(DOCKER) else text)
    return [(RegistryEndpoint(clients.for_registry(ref.registry), ref), ref)]


def destination_for(text, image_reference, clients, per_image=False, check_mode=False):
    """The endpoint an image goes to under a destination string (prefix form unless per_image); check_mode writes nothing."""
    if text.startswith(OCI):
        directory, name = _layout_location(text)
        layout = Layout(directory, create=True, check_mode=check_mode)
        return LayoutEndpoint(layout, name or layout_name(image_reference), image_reference)
    target = text[len(DOCKER):] if text.startswith(DOCKER) else text
    if per_image:
        ref = references.parse(target)
    else:
        host, _sep, prefix = target.strip("/").partition("/")
        ref = image_reference.with_registry(host, prefix or None)
        if ref.tag is None and ref.digest is None:
            ref = ref.with_tag(references.DEFAULT_TAG)
    return RegistryEndpoint(clients.for_registry(ref.registry), ref)


def layout_name(image_reference):
    """The name an image gets in a bundle layout: its full reference, tag preferred over digest."""
    if image_reference.tag:
        return f"{image_reference.name}:{image_reference.tag}"
    return f"{image_reference.name}@{image_reference.digest}"


def _layout_location(text):
    """`oci:DIR[:NAME]` -> (DIR, NAME or ""); without DIR the layout would silently be the working directory."""
    directory, _sep, name = text[len(OCI):].partition(":")
    if not directory:
        raise ValueError(f"{text!r} names no directory: the oci transport needs one, oci:/path/layout[:NAME]")
    return directory, name


def _name_as_reference(name, source_text):
    try:
        return references.parse(name)
    except references.InvalidReference as error:
        raise references.InvalidReference(
            f"{source_text}: the layout name {name!r} is not an image reference, so it cannot be given a "
            f"registry path; copy it with an explicit destination ({error})") from None


def archive_path(destination):
    """The file a `docker-archive:FILE` destination names, checked to be one before anything is read."""
    return archive.file_path(destination[len(ARCHIVE):])


def write_archive(entries, destination, clients, platform):
    """Every source image, for one platform, into the docker-archive the destination names."""
    path = archive_path(destination)
    images = []
    for entry in entries:
        source_text = entry["source"] if isinstance(entry, dict) else entry
        images.extend((endpoint, [layout_name(image_reference)]) for endpoint, image_reference in expand_source(source_text, clients))
    return archive.write_archive(path, images, ", ".join(str(e) for e in entries), platform)


def plan(entries, destination, clients, check_mode=False):
    """Module input -> [(source endpoint, destination endpoint)]; in check_mode no destination is created.

    An entry is a source string (copied under `destination`) or a dict with its own
    `source` and `destination`.
    """
    pairs = []
    for entry in entries:
        if isinstance(entry, dict):
            source_text, target, per_image = entry["source"], entry.get("destination") or destination, bool(entry.get("destination"))
        else:
            source_text, target, per_image = entry, destination, False
        if not target:
            raise ValueError(f"{source_text}: no destination; set the module's destination or the entry's own")
        for source, image_reference in expand_source(source_text, clients):
            pairs.append((source, destination_for(target, image_reference, clients, per_image, check_mode)))
    _refuse_collisions(pairs)
    return pairs


def _refuse_collisions(pairs):
    """Two different images must not land on one name (docker.io/x/y and quay.io/x/y under one prefix)."""
    claimed = {}
    for source, destination in pairs:
        earlier = claimed.setdefault(str(destination), str(source))
        if earlier != str(source):
            raise ValueError(f"{earlier} and {source} would both be copied to {destination}; "
                             "give one of them its own destination")
