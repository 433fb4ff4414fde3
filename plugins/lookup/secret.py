# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
DOCUMENTATION = r"""
---
name: secret
short_description: The value of a credential the manifest names by variable name
version_added: 0.1.0
description:
  - The manifest (C(airlock.yml)) never holds a secret; it names the variable that does (C(password_var), C(secret_key_var)).
  - Returns the value of that Ansible variable, or, when no such variable is set, of the environment variable of the same
    name on the controller (where AWX credential types inject them).
  - When the manifest names no variable, or names one that is set nowhere, the environment variable O(fallback) is read,
    the name the collection's AWX credential types inject (C(AIRLOCK_REGISTRY_PASSWORD), C(AIRLOCK_S3_SECRET_KEY), ...).
    So a job template with such a credential needs no extra vars for secrets. Without either, the value is empty.
author:
  - airlock.airgap maintainers (@airlock)
options:
  _terms:
    description: Variable names.
    required: true
    type: list
    elements: str
  required:
    description: Fail, naming the variable, when a name is given and neither it nor O(fallback) is set.
    type: bool
    default: true
  fallback:
    description: The environment variable read when the name is empty or set nowhere.
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Log in with the password the manifest names
  airlock.airgap.image_copy:
    images: [oci:/srv/bundle/images]
    destination: docker://registry.enclave:5000/mirror
    registries:
      - host: registry.enclave:5000
        username: "{{ lookup('airlock.airgap.secret', airlock.enclave.registry.username_var) }}"
        password: "{{ lookup('airlock.airgap.secret', airlock.enclave.registry.password_var) }}"

- name: The enclave registry's password from the manifest's variable, or from the AWX credential's injection
  ansible.builtin.debug:
    msg: "{{ lookup('airlock.airgap.secret', airlock.enclave.registry.password_var, fallback='AIRLOCK_REGISTRY_PASSWORD') | length }}"
"""

RETURN = r"""
_raw:
  description: The values, in the order of the names.
  type: list
  elements: str
"""

import os

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        return [self._value_of(name, variables or {}) for name in terms]

    def _value_of(self, name, variables):
        if name and name in variables:
            return self._templar.template(variables[name])
        if name and name in os.environ:
            return os.environ[name]
        fallback = self.get_option("fallback")
        if fallback and fallback in os.environ:
            return os.environ[fallback]
        if name and self.get_option("required"):
            also = f" (nor the fallback {fallback!r})" if fallback else ""
            raise AnsibleLookupError(f"the manifest names the credential variable {name!r}, but neither an Ansible variable nor an "
                                     f"environment variable of that name is set{also}: set it (extra vars, vault, or an AWX credential)")
        return ""
