# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Image locations as users write them, turned into copy jobs.

`docker://REF` or a bare reference is a registry image; `oci:DIR[:NAME]` is an OCI layout
(without NAME: every image in it); `volumes:DIR:BUNDLE[:NAME]` is the OCI layout of the bundle
BUNDLE packed in DIR, read in place from its volumes (a source only); `docker-archive:FILE[:NAME]` is an image of a `docker save`
tar. A destination `docker://HOST[/PREFIX]` keeps each image's path under the prefix; `oci:DIR`
names each image by its full source reference; `docker-archive:FILE` writes one archive of
every image for one platform.

A source (`sources` option) stands for a registry: an image named on that registry is fetched
through the pull-through proxy or connected-side mirror `HOST[/PREFIX]`, yet keeps its canonical
name everywhere it is recorded (layout name, lock, results), so its digest is found later by the
name a chart or Compose file gives it.
"""

from __future__ import annotations

import dataclasses

from ansible_collections.airlock.airgap.plugins.module_utils.errors import InvalidInput
from ansible_collections.airlock.airgap.plugins.module_utils.http import transport as network
from ansible_collections.airlock.airgap.plugins.module_utils.http.transport import RetryPolicy
from ansible_collections.airlock.airgap.plugins.module_utils.oci import auth, reference as references
from ansible_collections.airlock.airgap.plugins.module_utils.oci.endpoints import LayoutEndpoint, LayoutSource, RegistryEndpoint
from ansible_collections.airlock.airgap.plugins.module_utils.oci.layout import Layout, LayoutReader
from ansible_collections.airlock.airgap.plugins.module_utils.oci.registry import UPLOAD_CHUNK, RegistryClient

# The docker-archive and bundle-volume readers are imported by the transports that need them: a module process
# compiles what it imports at every start (Ansible ships module_utils as source), and a registry-to-registry
# copy, its no-op re-run above all, needs neither.

DOCKER = "docker://"
OCI = "oci:"
VOLUMES = "volumes:"
ARCHIVE = "docker-archive:"


@dataclasses.dataclass(frozen=True)
class Location:
    """An image location string split once, the only place that knows the prefixes.

    transport is DOCKER, OCI, ARCHIVE or VOLUMES; for a registry, target is the text after
    `docker://` (a reference, or HOST[/PREFIX]); for a layout or an archive, path is DIR or FILE
    and name the NAME after it ("" when none); for a bundle's volumes (`volumes:DIR:BUNDLE[:NAME]`),
    path is DIR, bundle is BUNDLE and name the image.
    """

    transport: str
    target: str = ""
    path: str = ""
    name: str = ""
    bundle: str = ""  # for VOLUMES: the bundle's name (its volumes are BUNDLE.tar.NNN in path)
    bare: bool = False  # a registry reference written without docker://

    @property
    def is_local(self):
        return self.transport != DOCKER


def location(text):
    """The Location a source or destination string names; a bare reference is a registry image."""
    if text.startswith(VOLUMES):
        path, _sep, rest = text[len(VOLUMES):].partition(":")
        bundle, _sep, name = rest.partition(":")
        return Location(VOLUMES, path=path, bundle=bundle, name=name)
    for transport in (OCI, ARCHIVE):
        if text.startswith(transport):
            path, _sep, name = text[len(transport):].partition(":")
            return Location(transport, path=path, name=name)
    if text.startswith(DOCKER):
        return Location(DOCKER, target=text[len(DOCKER):])
    return Location(DOCKER, target=text, bare=True)


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


# The `sources` option, as image_copy documents it.
SOURCES_ARGUMENT_SPEC = dict(
    sources=dict(type="list", elements="dict", default=[], options=dict(
        registry=dict(type="str", required=True),
        via=dict(type="str", required=True),
    )),
)
# Two path components after a host: a reference whose host was read as a registry keeps them as its repository
# (one component would be put under library/ on docker.io).
_PROBE_PATH = "airlock/probe"


@dataclasses.dataclass(frozen=True)
class Via:
    """The host, and the path prefix on it, that serve a registry's images on its behalf."""

    host: str
    prefix: str | None = None


def registries_problems(entries):
    """Why the `registries` option cannot be used, one problem at a time: what its argument_spec cannot say."""
    for position, entry in enumerate(entries):
        where = f"registries[{position}].host"
        problem = text_problem(where, entry["host"], "a registry host[:port] such as registry.example:5000")
        if problem:
            yield problem
        elif "/" in entry["host"]:
            yield f"{where} is {entry['host']!r}: give the registry as host[:port] (registry.example:5000), without a scheme or path"


def sources_problems(entries):
    """Why the `sources` option cannot be used: each registry once, as a registry host, each via as HOST[/PREFIX]."""
    seen = set()
    for position, entry in enumerate(entries):
        where = f"sources[{position}]"
        problem = text_problem(f"{where}.registry", entry["registry"], "a registry host such as docker.io or ghcr.io")
        registry = None if problem else registry_named(entry["registry"])
        if problem or registry is None:
            yield problem or (f"{where}.registry is {_shown(entry['registry'])}: give the registry as image references name it "
                              "(docker.io, ghcr.io, registry.example:5000), without a scheme or path")
        elif registry in seen:
            yield f"{where}.registry {registry} is named twice: give each registry one via"
        seen.add(registry)
        problem = text_problem(f"{where}.via", entry["via"], "HOST[:PORT][/PREFIX] of a pull-through proxy or mirror")
        if problem or via_of(entry["via"]) is None:
            yield problem or (f"{where}.via is {_shown(entry['via'])}: give HOST[:PORT][/PREFIX] (proxy.example:5000/dockerhub), "
                              "without a scheme; the host needs a '.' or a ':port', or is localhost")


def registry_named(text):
    """The registry a host names, as image references write it (index.docker.io is docker.io), or None when it names none."""
    if "/" in text:
        return None
    try:
        probe = references.parse(f"{text}/{_PROBE_PATH}", default_tag=None)
    except references.InvalidReference:
        return None
    return probe.registry if probe.repository == _PROBE_PATH else None


def via_of(text):
    """`HOST[/PREFIX]` -> Via, or None when it is not a registry host with an optional valid path."""
    host, _sep, prefix = text.strip("/").partition("/")
    if registry_named(host) != host:
        return None
    try:
        references.parse(f"{host}/{prefix}/{_PROBE_PATH}" if prefix else f"{host}/{_PROBE_PATH}", default_tag=None)
    except references.InvalidReference:
        return None
    return Via(host, prefix or None)


def source_routes(entries):
    """The `sources` option -> {registry: Via}."""
    return {registry_named(entry["registry"]): via_of(entry["via"]) for entry in entries}


def text_problem(name, value, expected):
    """Why value cannot be the option called name, or None: it must be a string with something in it."""
    if not isinstance(value, str):
        return f"{name} must be {expected}, not {_kind(value)} ({_shown(value)})"
    if not value.strip():
        return f"{name} must be {expected}, not an empty string"
    return None


def _shown(value):
    """value as a message may quote it: its repr, cut short."""
    return repr(value) if len(repr(value)) <= 80 else f"{repr(value)[:80]}..."


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
    """One RegistryClient per registry host, configured from per-host settings; images of a registry that a source
    stands for are fetched through it (routes: {registry: Via})."""

    def __init__(self, settings=None, docker_config=None, retry=RetryPolicy(), timeout=300, upload_chunk=UPLOAD_CHUNK,
                 routes=None):
        self.settings = settings or {}
        self.routes = routes or {}
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
                                                     timeout=self.timeout, retry=self.retry, upload_chunk=self.upload_chunk)
        return self._clients[registry]

    def image_endpoint(self, image_reference):
        """Where to fetch an image: its own registry, or the via that stands for it, the canonical name kept."""
        via = self.routes.get(image_reference.registry)
        if via is None:
            return RegistryEndpoint(self.for_registry(image_reference.registry), image_reference)
        fetched = image_reference.with_registry(via.host, via.prefix)
        return RegistryEndpoint(self.for_registry(fetched.registry), fetched, stands_for=image_reference)

    @property
    def requests_sent(self):
        return sum(client.requests_sent for client in self._clients.values())


def clients_for(params, **options):
    """The Clients a module's `registries`, `docker_config`, `retries` and `timeout` options describe."""
    return Clients(registry_settings(params["registries"]), params["docker_config"], network.policy_from(params), params["timeout"], **options)


def expand_source(text, clients):
    """A source string -> [(endpoint, Reference naming the image)]; oci:DIR and volumes:DIR:BUNDLE expand to all their images."""
    where = location(text)
    if where.transport in (OCI, VOLUMES):
        layout = _source_layout(where, text)
        names = [where.name] if where.name else layout.ref_names()
        return [(LayoutSource(layout, n), _name_as_reference(n, text)) for n in names]
    if where.transport == ARCHIVE:
        # pylint: disable=import-outside-toplevel
        from ansible_collections.airlock.airgap.plugins.module_utils.oci import archive
        endpoint = archive.ArchiveEndpoint(where.path, where.name or None)
        if not (where.name or endpoint.repo_tags):
            raise references.InvalidReference(f"{text}: the image has no name in the archive; give the destination explicitly")
        return [(endpoint, _name_as_reference(where.name or endpoint.repo_tags[0], text))]
    ref = references.parse(where.target)
    return [(clients.image_endpoint(ref), ref)]


def destination_for(text, image_reference, clients, per_image=False, check_mode=False):
    """The endpoint an image goes to under a destination string (prefix form unless per_image); check_mode writes nothing."""
    where = location(text)
    if where.transport == VOLUMES:
        raise InvalidInput(f"{text}: a bundle's volumes are a source only; copy into a registry (docker://HOST) or a layout (oci:DIR), "
                           "and pack that with the bundle module")
    if where.transport == OCI:
        layout = Layout(_layout_directory(where, text), create=True, check_mode=check_mode)
        return LayoutEndpoint(layout, where.name or layout_name(image_reference), image_reference)
    if per_image:
        ref = references.parse(where.target)
    else:
        host, _sep, prefix = where.target.strip("/").partition("/")
        ref = image_reference.with_registry(host, prefix or None)
        if ref.tag is None and ref.digest is None:
            ref = ref.with_tag(references.DEFAULT_TAG)
    return RegistryEndpoint(clients.for_registry(ref.registry), ref)


def layout_name(image_reference):
    """The name an image gets in a bundle layout: its full reference, tag preferred over digest."""
    if image_reference.tag:
        return f"{image_reference.name}:{image_reference.tag}"
    return f"{image_reference.name}@{image_reference.digest}"


def _source_layout(where, text):
    """The Layout of an `oci:DIR[:NAME]` source, or the read-only one over a `volumes:DIR:BUNDLE[:NAME]` source."""
    if where.transport == OCI:
        return LayoutReader(_layout_directory(where, text))
    if not (where.path and where.bundle):
        raise InvalidInput(f"{text!r}: a volumes source names the volumes' directory and the bundle, volumes:/media/disk:NAME[:IMAGE]")
    # pylint: disable=import-outside-toplevel
    from ansible_collections.airlock.airgap.plugins.module_utils.integrity.bundle_files import BundleFiles
    from ansible_collections.airlock.airgap.plugins.module_utils.oci.volume_layout import VolumeLayout
    return VolumeLayout(BundleFiles(where.path, where.bundle))


def _layout_directory(where, text):
    """The DIR of `oci:DIR[:NAME]`; without DIR the layout would silently be the working directory."""
    if not where.path:
        raise InvalidInput(f"{text!r} names no directory: the oci transport needs one, oci:/path/layout[:NAME]")
    return where.path


def _name_as_reference(name, source_text):
    try:
        return references.parse(name)
    except references.InvalidReference as error:
        raise references.InvalidReference(
            f"{source_text}: the layout name {name!r} is not an image reference, so it cannot be given a "
            f"registry path; copy it with an explicit destination ({error})") from error


def archive_path(destination):
    """The file a `docker-archive:FILE` destination names, checked to be one before anything is read."""
    # pylint: disable=import-outside-toplevel
    from ansible_collections.airlock.airgap.plugins.module_utils.oci import archive
    return archive.file_path(destination[len(ARCHIVE):])  # FILE only: a destination archive has no :NAME


def write_archive(entries, destination, clients, platform):
    """Every source image, for one platform, into the docker-archive the destination names."""
    path = archive_path(destination)
    images = []
    for entry in entries:
        source_text = entry["source"] if isinstance(entry, dict) else entry
        images.extend((endpoint, [layout_name(image_reference)]) for endpoint, image_reference in expand_source(source_text, clients))
    # pylint: disable=import-outside-toplevel
    from ansible_collections.airlock.airgap.plugins.module_utils.oci import archive
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
            raise InvalidInput(f"{source_text}: no destination; set the module's destination or the entry's own")
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
            raise InvalidInput(f"{earlier} and {source} would both be copied to {destination}; "
                               "give one of them its own destination")
