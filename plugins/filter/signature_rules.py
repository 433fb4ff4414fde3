# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The manifest's image signature rules as image_signatures takes them: key and trusted root paths made absolute.

The manifest names its files relative to its own folder, which prepare and publish both know;
PEM text given inline stays as it is. Documented in signature_rules.yml next to this file.
"""

from __future__ import annotations

import os

PEM_MARK = "-----BEGIN"


def _beside(manifest_dir, path):
    return os.path.join(manifest_dir, os.path.expanduser(path))


def signature_rules(rules, manifest_dir):
    """Each rule with its keys (unless PEM text) and trusted root resolved against manifest_dir."""
    return [dict(rule, keys=[key if PEM_MARK in key else _beside(manifest_dir, key) for key in rule.get("keys") or []],
                 trusted_root=_beside(manifest_dir, rule["trusted_root"]) if rule.get("trusted_root") else None)
            for rule in rules]


class FilterModule:  # pylint: disable=too-few-public-methods
    def filters(self):
        return {"signature_rules": signature_rules}
