# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The enclave's Python target and the resolution cache, for the modules that download distributions for it
(wheels/target.py ARGUMENT_SPEC is the spec). A module may restate an option's description for its own case."""


class ModuleDocFragment:  # pylint: disable=too-few-public-methods
    DOCUMENTATION = r"""
options:
  platform:
    description:
      - The enclave's wheel platform tags (V(manylinux2014_x86_64), V(manylinux_2_28_aarch64), V(musllinux_1_2_x86_64), V(win_amd64)).
        Several tags are alternatives for the same machine. Required, so the platform is never the downloading host's by accident.
    type: list
    elements: str
    required: true
  python_version:
    description: The enclave's Python, MAJOR.MINOR.
    type: str
    default: "3.11"
  implementation:
    description: The enclave's Python implementation.
    type: str
    choices: [cp, pp, py]
    default: cp
  abi:
    description: ABI tags; by default the implementation's for O(python_version) (V(cp311)), plus V(abi3) and V(none).
    type: list
    elements: str
    default: []
  cache_dir:
    description:
      - Where resolutions are kept on the connected side. A second run with the same requirements and target reuses the files
        downloaded before (each verified again) without asking the index, so what is carried stays the same until O(refresh).
      - Empty turns the cache off.
    type: path
    default: ~/.cache/airlock/wheels
  refresh:
    description: Ask the index again (newer releases satisfying the requirements are then taken) rather than reuse the cached resolution.
    type: bool
    default: false
"""
