# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A role's argument spec applied to a value: its defaults filled in, its types converted.

Role argument validation refuses what does not fit, but leaves the variable as it was given,
so every use of an optional key would need its own default. This filter runs Ansible's own
validator over the value with the spec the role already declares (one spec, one place).
Documented in spec_defaults.yml next to this file.
"""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator


def spec_defaults(value, options, name="value"):
    """value validated against options (an argument spec's options), with every default filled in."""
    result = ArgumentSpecValidator(_plain(options)).validate(_plain(value or {}))
    if result.error_messages:
        raise AnsibleFilterError(f"{name}: " + "; ".join(result.error_messages))
    return result.validated_parameters


def _plain(data):
    """data as plain dicts, lists and strings.

    Ansible 2.19 hands a filter lazy containers that template each item whenever it is read, and the validator
    deep-copies the spec and the value: copying the manifest's spec that way took a second or more on every run of the
    manifest role (once a play), copying it plain takes milliseconds. Every item is read, and so templated, once here.
    """
    if isinstance(data, Mapping):
        return {_plain(key): _plain(item) for key, item in data.items()}
    if isinstance(data, (list, tuple)):
        return [_plain(item) for item in data]
    if isinstance(data, str):
        return str(data)
    return data


class FilterModule:  # pylint: disable=too-few-public-methods
    def filters(self):
        return {"spec_defaults": spec_defaults}
