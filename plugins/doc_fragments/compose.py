# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How modules that read Compose projects are told which (inventory/options.py COMPOSE_OPTIONS is the spec).

Ansible merges a fragment into a module's options one level deep only (see charts.py, also for why the variants are annotated), so the
suboptions every reader shares are written once here and each variant is assembled from them:
``DOCUMENTATION`` for egress_audit (every profile, always), ``INVENTORY`` for image_inventory
(the profiles C(docker compose up) would run), ``OVERRIDES`` for mirror_overrides (the file to
write). A module documents ``compose``'s description itself, to say what it does with them.
"""

_PROJECT_SUBOPTIONS = r"""
      files:
        description:
          - Compose files, merged in order as C(docker compose -f A -f B) (a mirror override last). The first one's folder is
            the project folder.
        type: list
        elements: path
        required: true
      env_files:
        description: Env files read after the project's C(.env), as C(docker compose --env-file).
        type: list
        elements: path
        default: []
      scripts:
        description:
          - Wrapper scripts whose C(source FILE) or C(. FILE) lines and static C(VAR=value) and C(export VAR=value) lines set
            variables; the files they source are read the same way.
          - They are read, never run. A line whose value only running the script gives (a command substitution, arithmetic,
            a positional parameter such as C($1), a shell-only expansion such as C(${1#*=}) or C(${VAR%%-*}), a path built
            from such a value) is skipped with a warning naming the file and line; give what an image depends on in
            O(compose[].variables).
        type: list
        elements: path
        default: []
      variables:
        description: Variables as the shell would set them; every file and script reads them, and they win over every file.
        type: dict
        default: {}
"""

_RUN_PROFILES = r"""
      profiles:
        description:
          - Profiles to run; V(*) runs every service.
          - By default, the profiles that C(docker compose up) would run - those C(COMPOSE_PROFILES) names in O(compose[].variables),
            the env files or the project's C(.env) - so services of other profiles are RV(candidates), not images.
        type: list
        elements: str
"""

_OVERRIDE_SUBOPTIONS = r"""
      override:
        description: The override file to write.
        type: path
        required: true
      profiles:
        description: Profiles (the override covers every service regardless, so any profile can be started later).
        type: list
        elements: str
        default: ['*']
"""

_COMPOSE_OPTION = r"""
options:
  compose:
    description: Compose projects.
    type: list
    elements: dict
    default: []
    suboptions:"""


class ModuleDocFragment:  # pylint: disable=too-few-public-methods
    DOCUMENTATION: str = _COMPOSE_OPTION + _PROJECT_SUBOPTIONS

    INVENTORY: str = _COMPOSE_OPTION + _RUN_PROFILES + _PROJECT_SUBOPTIONS

    OVERRIDES: str = _COMPOSE_OPTION + _OVERRIDE_SUBOPTIONS + _PROJECT_SUBOPTIONS
