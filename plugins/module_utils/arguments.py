# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module arguments that Ansible's own validation turns into a traceback instead of a message.

ansible-core (2.19 at least) walks the suboptions of a ``type: dict`` option before it checks
that the value is a dict: ``s3: 42`` raises TypeError inside AnsibleModule and the user reads
"MODULE FAILURE" (and ``s3: [42]`` the same, element by element). Such values are refused here first,
with the option named; a dict, a ``key=value`` string and null are left to Ansible.
"""

from __future__ import annotations

from ansible.module_utils import basic


def refuse_scalars_for_dict_options(argument_spec):
    """Fail the module, naming the option, when a dict option with suboptions was given a number, a boolean or a list."""
    # ansible-core documents _load_params for modules that must read their arguments before AnsibleModule does.
    raw = basic._load_params()  # pylint: disable=protected-access
    if not isinstance(raw, dict):  # no arguments to read (ansible-test's argument spec introspection): AnsibleModule decides
        return
    wrong = sorted(name for name, spec in argument_spec.items()
                   if spec.get("type") == "dict" and spec.get("options") and not isinstance(raw.get(name), (dict, str, type(None))))
    if wrong:
        module = basic.AnsibleModule(argument_spec={}, bypass_checks=True)
        module.fail_json(msg="; ".join(f"{name} must be a dictionary of its suboptions, not {raw[name]!r}" for name in wrong))


def refuse_nul_bytes(module):
    """Fail the module, naming the option, when a string in its arguments holds a NUL byte: no path or name can,
    and the standard library would answer with a bare ValueError from wherever the value is first used."""
    for name, value in _strings(module.params):
        if "\0" in value:
            module.fail_json(msg=f"{name} holds a NUL byte, which no path, name or reference can contain: {value!r}")


def _strings(value, name=""):
    """(option path, string) for every string in value, however deeply nested."""
    if isinstance(value, str):
        yield name, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{name}.{key}" if name else str(key))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _strings(item, f"{name}[{index}]")
