# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Images in Compose projects, read as `docker compose config` reads them: includes, extends, profiles, variables.

Variables come, weakest first, from the project's `.env`, the env files given, the env files
and exports of wrapper scripts, and explicit variables (the shell's role, so every file reads
them too). Wrapper script lines that only running the script could give are skipped with a
warning naming the file and line (ComposeScan.warnings). Files are merged in
order like `docker compose -f a -f b`; each file's `include:` entries (short or long form, with
their own project folder and env files, the including project's variables winning) are merged
under it, and every service's `extends` is resolved, from the same file or another. Profiles are
those `docker compose up` would run: the ones given, else `COMPOSE_PROFILES` as the variables set
it; the services of other profiles are candidates, with the profiles that would run them. Env
values and commands are scanned for images that a service launches later.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Optional

from ansible_collections.airlock.airgap.plugins.module_utils.inventory import findings as found
from ansible_collections.airlock.airgap.plugins.module_utils.inventory import yamlload
from ansible_collections.airlock.airgap.plugins.module_utils.inventory.charts import deep_merge
from ansible_collections.airlock.airgap.plugins.module_utils.inventory.interpolate import Interpolator, read_env_file, read_wrapper_script
from ansible_collections.airlock.airgap.plugins.module_utils.inventory.manifests import scan_arguments
from ansible_collections.airlock.airgap.plugins.module_utils.inventory.options import ALL_PROFILES
from ansible_collections.airlock.airgap.plugins.module_utils.errors import AirlockError


class ComposeError(AirlockError, ValueError):
    """A compose project that cannot be read; the message names the file."""


@dataclasses.dataclass
class ComposeSource:
    """A Compose project as `docker compose` would be run on it; profiles None means as `COMPOSE_PROFILES` says."""

    files: list
    profiles: Optional[list] = None
    env_files: list = dataclasses.field(default_factory=list)
    scripts: list = dataclasses.field(default_factory=list)
    variables: dict = dataclasses.field(default_factory=dict)

    @property
    def project_directory(self):
        return os.path.dirname(os.path.abspath(self.files[0]))


@dataclasses.dataclass
class ComposeScan:
    findings: list
    builds: list
    unset_variables: list
    skipped_services: list
    warnings: list


def variables(source: ComposeSource) -> Interpolator:
    """The variables Compose would see, weakest source first; the explicit ones are seen by every file and win."""
    explicit = {k: str(v) for k, v in source.variables.items()}
    interpolator = Interpolator(explicit)
    dot_env = os.path.join(source.project_directory, ".env")
    for path in ([dot_env] if os.path.isfile(dot_env) else []) + list(source.env_files):
        interpolator.variables.update(_read(read_env_file, path, interpolator))
    for script in source.scripts:
        interpolator.variables.update(_read(read_wrapper_script, script, interpolator))
    interpolator.variables.update(explicit)
    return interpolator


def load_project(source: ComposeSource, interpolator: Interpolator) -> dict:
    """The merged, interpolated project (`docker compose config` without the daemon); env_file paths made absolute."""
    project = {}
    for path in source.files:
        project = deep_merge(project, _model(path, interpolator, source.project_directory, ()))
    return project


def _model(path, interpolator, directory, including) -> dict:
    """One file as Compose models it: interpolated, its includes merged under it, its services' extends resolved."""
    real = os.path.realpath(path)
    if real in including:
        raise ComposeError(f"compose file {path} includes itself (through {' -> '.join(including)})")
    data = _expanded(path, interpolator)
    model = {}
    for entry in _list(data.pop("include", None)):
        model = deep_merge(model, _included(entry, path, interpolator, including + (real,)))
    services = data.get("services") or {}
    data["services"] = {name: _extended(name, services, path, interpolator, directory, ()) for name in services}
    return deep_merge(model, data)


def _expanded(path, interpolator) -> dict:
    try:
        with open(path, encoding="utf-8") as handle:
            data = yamlload.load(handle.read()) or {}
    except (OSError, UnicodeDecodeError) as error:
        raise ComposeError(f"cannot read compose file {path}: {error}") from error
    except yamlload.LOAD_ERRORS as error:
        raise ComposeError(f"compose file {path} is not valid YAML: {error}") from error
    if not isinstance(data, dict) or not isinstance(data.get("services") or {}, dict):
        raise ComposeError(f"compose file {path} has no services mapping")
    try:
        return interpolator.expand_tree(data)
    except ValueError as error:
        raise ComposeError(f"compose file {path}: {error}") from error


def _list(value) -> list:
    return [] if value is None else value if isinstance(value, list) else [value]


def _included(entry, including_file, interpolator, including) -> dict:
    """An `include:` entry's project: its files merged in order, read with its env files under the including project's variables."""
    base = os.path.dirname(os.path.abspath(including_file))
    if isinstance(entry, str):
        entry = {"path": entry}
    if not isinstance(entry, dict) or not entry.get("path"):
        raise ComposeError(f"compose file {including_file}: an include entry must be a path or a mapping with path, not {entry!r}")
    paths = [os.path.join(base, p) for p in _list(entry["path"])]
    directory = os.path.join(base, entry["project_directory"]) if entry.get("project_directory") else os.path.dirname(paths[0])
    env_files = [os.path.join(base, p) for p in _list(entry.get("env_file"))] or [os.path.join(directory, ".env")]
    scoped = Interpolator(interpolator.variables)
    for env_file in env_files:
        if os.path.isfile(env_file) or entry.get("env_file"):
            scoped.variables.update(_read(read_env_file, env_file, scoped))
    scoped.variables.update(interpolator.variables)  # the including project's variables win, as Compose merges them
    model = {}
    for path in paths:
        model = deep_merge(model, _model(path, scoped, directory, including))
    interpolator.unset.update(scoped.unset)
    return model


def _extended(name, services, path, interpolator, directory, chain) -> dict:
    """A service with its `extends` resolved (from this file or another, recursively), its env files made absolute."""
    service = dict(services.get(name) or {})
    _absolute_env_files(service, directory)
    extends = service.pop("extends", None)
    if extends is None:
        return service
    if (path, name) in chain:
        raise ComposeError(f"compose file {path}: service {name} extends itself")
    reference = {"service": extends} if isinstance(extends, str) else extends
    if not isinstance(reference, dict) or not reference.get("service"):
        raise ComposeError(f"compose file {path}: services.{name}.extends must name a service")
    base_file = os.path.join(os.path.dirname(os.path.abspath(path)), reference["file"]) if reference.get("file") else path
    base_services = (_expanded(base_file, interpolator).get("services") or {}) if base_file != path else services
    if reference["service"] not in base_services:
        raise ComposeError(f"compose file {path}: services.{name} extends {reference['service']}, which {base_file} does not define")
    base_directory = os.path.dirname(os.path.abspath(base_file)) if base_file != path else directory
    base = _extended(reference["service"], base_services, base_file, interpolator, base_directory, chain + ((path, name),))
    return deep_merge(base, service)


def _absolute_env_files(service, directory):
    """env_file entries made absolute, as Compose resolves them against the folder of the file that names them."""
    entries = service.get("env_file")
    if entries is None:
        return
    absolute = []
    for entry in [entries] if isinstance(entries, (str, dict)) else entries:
        if isinstance(entry, dict) and entry.get("path"):
            absolute.append(dict(entry, path=os.path.join(directory, entry["path"])))
        elif isinstance(entry, str):
            absolute.append(os.path.join(directory, entry))
    service["env_file"] = absolute


def active_profiles(source: ComposeSource, interpolator: Interpolator) -> set:
    """The profiles `docker compose up` runs: those given, else those COMPOSE_PROFILES names (the shell's, or a .env's)."""
    if source.profiles is not None:
        return set(source.profiles)
    return {profile.strip() for profile in interpolator.variables.get("COMPOSE_PROFILES", "").split(",") if profile.strip()}


def scan(source: ComposeSource) -> ComposeScan:
    interpolator = variables(source)
    project = load_project(source, interpolator)
    chosen = active_profiles(source, interpolator)
    result = ComposeScan([], [], [], [], interpolator.warnings)
    for name, service in sorted((project.get("services") or {}).items()):
        service = service or {}
        profiles = [str(p) for p in _list(service.get("profiles"))]
        condition = None
        if profiles and ALL_PROFILES not in chosen and not chosen & set(profiles):
            result.skipped_services.append({"service": name, "profiles": profiles})
            condition = f"profile {' or '.join(profiles)} is active"
        result.findings.extend(finding.when(condition) for finding in scan_service(name, service, source, interpolator))
        if "build" in service and not service.get("image"):
            result.builds.append({"service": name, "file": source.files[0]})
    result.unset_variables = sorted(interpolator.unset)
    return result


def scan_service(name, service, source, interpolator) -> list:
    file = source.files[-1] if len(source.files) == 1 else ",".join(source.files)
    label = f"service/{name}"
    results = []
    if service.get("image"):
        results.append(found.direct(service["image"], file, label, f"services.{name}.image", "compose"))
    environment = service_environment(service, source, interpolator)
    for key, value in sorted(environment.items()):
        condition = found.feature_off(key, environment) if found.is_hint(key) else None
        results.extend(finding.when(condition) for finding in
                       found.indirect(value, file, label, f"services.{name}.environment.{key}", "env", found.is_hint(key), setting=key))
    for field in ("command", "entrypoint"):
        argv = service.get(field)
        argv = argv.split() if isinstance(argv, str) else argv or []
        results.extend(scan_arguments(argv, f"services.{name}.{field}", file, label))
    return results


def service_environment(service, source, interpolator) -> dict:
    """The service's env_file entries, then its environment (which wins), as strings."""
    environment = {}
    env_files = service.get("env_file") or []
    for entry in [env_files] if isinstance(env_files, (str, dict)) else env_files:
        path = entry.get("path") if isinstance(entry, dict) else entry
        full = os.path.join(source.project_directory, path)
        if isinstance(entry, dict) and entry.get("required") is False and not os.path.exists(full):
            continue
        environment.update(_read(read_env_file, full, interpolator))
    declared = service.get("environment") or {}
    if isinstance(declared, list):
        declared = dict(item.partition("=")[::2] for item in declared if isinstance(item, str))
    environment.update({k: "" if v is None else str(v) for k, v in declared.items()})
    return environment


def _read(reader, path, interpolator):
    try:
        return reader(path, interpolator)
    except OSError as error:
        raise ComposeError(f"cannot read {path}: {error}") from error
    except ValueError as error:
        raise ComposeError(f"{path}: {error}") from error
