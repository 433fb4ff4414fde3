# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Registry credentials, found where Docker and Podman users already keep them.

Order: explicit options, then the Docker config.json (credHelpers, credsStore, auths).
Bearer-token and Basic challenges are parsed here; the HTTP exchange is in registry.py.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import re
import subprocess

from ansible_collections.airlock.airgap.plugins.module_utils import jsontext
from ansible_collections.airlock.airgap.plugins.module_utils.errors import AirlockError

DOCKER_HUB_KEYS = ("docker.io", "index.docker.io", "registry-1.docker.io", "https://index.docker.io/v1/")
_CHALLENGE_PARAM = re.compile(r'(\w+)\s*=\s*"([^"]*)"|(\w+)\s*=\s*([^\s,]+)')


@dataclasses.dataclass(frozen=True)
class Credentials:
    """A username and secret; an identity token travels as the secret with username '<token>'."""

    username: str
    secret: str = dataclasses.field(repr=False)

    @property
    def is_identity_token(self):
        return self.username == "<token>"


class CredentialError(AirlockError):
    """Credentials were configured but could not be read."""


def docker_config_path(explicit=None):
    if explicit:
        return explicit
    directory = os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    return os.path.join(directory, "config.json")


def from_docker_config(registry, path=None, run=subprocess.run):
    """Credentials for registry from a Docker config.json, or None when it holds none."""
    config_path = docker_config_path(path)
    try:
        with open(config_path, encoding="utf-8") as handle:
            config = json.load(handle)
    except FileNotFoundError as error:
        if path:
            raise CredentialError(f"docker config {config_path} does not exist") from error
        return None
    except (OSError, ValueError) as error:
        raise CredentialError(f"cannot read docker config {config_path}: {error}") from error
    keys = _lookup_keys(registry)
    helper = next((config.get("credHelpers", {})[k] for k in keys if k in config.get("credHelpers", {})), None)
    if helper:
        return from_helper(helper, registry, run)
    entry = next((config.get("auths", {})[k] for k in keys if k in config.get("auths", {})), None)
    if entry and (entry.get("auth") or entry.get("identitytoken")):
        return _from_auths_entry(entry, registry, config_path)
    if config.get("credsStore"):
        return from_helper(config["credsStore"], registry, run)
    return None


def from_helper(helper, registry, run=subprocess.run):
    """Ask docker-credential-<helper>; 'not found' means no credentials, anything else fails."""
    program = f"docker-credential-{helper}"
    try:
        result = run([program, "get"], input=registry, capture_output=True, text=True, timeout=30, check=False)
    except FileNotFoundError as error:
        raise CredentialError(f"credential helper {program} named in the docker config is not installed") from error
    if result.returncode != 0:
        if "credentials not found" in (result.stdout + result.stderr).lower():
            return None
        raise CredentialError(f"{program} failed for {registry}: {result.stderr.strip() or result.stdout.strip()}")
    answer = jsontext.parse(result.stdout, f"the answer of {program} for {registry}")
    return Credentials(answer["Username"], answer["Secret"])


def _lookup_keys(registry):
    if registry in DOCKER_HUB_KEYS:
        return DOCKER_HUB_KEYS
    return (registry, f"https://{registry}", f"http://{registry}", f"https://{registry}/v1/", f"https://{registry}/v2/")


def _from_auths_entry(entry, registry, config_path):
    if entry.get("identitytoken"):
        return Credentials("<token>", entry["identitytoken"])
    try:
        username, separator, secret = base64.b64decode(entry["auth"], validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        separator = ""
    if not separator:
        raise CredentialError(f"the auth entry for {registry} in {config_path} is not base64 of user:password")
    return Credentials(username, secret)


def parse_challenge(header):
    """'Bearer realm="...",service="...",scope="..."' -> ('bearer', {'realm': ..., ...})."""
    scheme, _sep, rest = (header or "").strip().partition(" ")
    params = {}
    for match in _CHALLENGE_PARAM.finditer(rest):
        key = match.group(1) or match.group(3)
        params[key.lower()] = match.group(2) if match.group(1) else match.group(4)
    return scheme.lower(), params
