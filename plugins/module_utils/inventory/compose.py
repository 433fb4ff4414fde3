# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Images in Compose projects: every service, every profile, variables resolved as Compose resolves them.

Variables come, weakest first, from the project's `.env`, the env files given, the env files
and exports of wrapper scripts, and explicit variables (the shell's role, so every file reads
them too). Wrapper script lines that only running the script could give are skipped with a
warning naming the file and line (ComposeScan.warnings). Files are merged in
order like `docker compose -f a -f b`. Services behind profiles count unless profiles are
chosen. Env values and commands are scanned for images that a service launches later.
"""

from __future__ import annotations

import dataclasses
import os

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
    """A Compose project as `docker compose` would be run on it."""

    files: list
    profiles: list = dataclasses.field(default_factory=lambda: [ALL_PROFILES])
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
    """The merged, interpolated project (`docker compose config` without the daemon)."""
    project = {}
    for path in source.files:
        try:
            with open(path, encoding="utf-8") as handle:
                data = yamlload.load(handle.read()) or {}
        except OSError as error:
            raise ComposeError(f"cannot read compose file {path}: {error}") from error
        except Exception as error:  # pylint: disable=broad-except  # YAML errors, reported with the file
            raise ComposeError(f"compose file {path} is not valid YAML: {error}") from error
        if not isinstance(data, dict) or not isinstance(data.get("services", {}), dict):
            raise ComposeError(f"compose file {path} has no services mapping")
        try:
            project = deep_merge(project, interpolator.expand_tree(data))
        except ValueError as error:
            raise ComposeError(f"compose file {path}: {error}") from error
    return project


def scan(source: ComposeSource) -> ComposeScan:
    interpolator = variables(source)
    project = load_project(source, interpolator)
    chosen = set(source.profiles or [])
    result = ComposeScan([], [], [], [], interpolator.warnings)
    for name, service in sorted((project.get("services") or {}).items()):
        service = service or {}
        profiles = service.get("profiles") or []
        if profiles and ALL_PROFILES not in chosen and not chosen & set(profiles):
            result.skipped_services.append({"service": name, "profiles": profiles})
            continue
        result.findings.extend(scan_service(name, service, source, interpolator))
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
    for key, value in sorted(service_environment(service, source, interpolator).items()):
        results.extend(found.indirect(value, file, label, f"services.{name}.environment.{key}", "env", found.is_hint(key)))
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
