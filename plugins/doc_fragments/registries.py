# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How modules that talk to registries are told to reach them: per-host settings and a docker config."""


class ModuleDocFragment:  # pylint: disable=too-few-public-methods
    DOCUMENTATION = r"""
options:
  registries:
    description:
      - Per-registry settings. Registries not listed use HTTPS with the system CAs and the credentials of O(docker_config).
    type: list
    elements: dict
    default: []
    suboptions:
      host:
        description: Registry host as in image references, with the port if any (C(registry.enclave:5000)).
        type: str
        required: true
      username:
        description: User name for Basic auth or the token service.
        type: str
      password:
        description: Password or token for O(registries[].username).
        type: str
      insecure:
        description: The registry serves plain HTTP. Never set for a registry that has TLS.
        type: bool
        default: false
      ca_file:
        description: CA certificate (PEM) to verify the registry's TLS certificate.
        type: path
  docker_config:
    description:
      - Docker C(config.json) to take credentials from (C(auths), C(credHelpers), C(credsStore)).
      - Defaults to C($DOCKER_CONFIG/config.json) or C(~/.docker/config.json) when it exists.
    type: path
"""
