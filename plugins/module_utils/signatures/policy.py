# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The manifest's signature policy: per image pattern, whether a signature is required and by which keys.

Rules are tried in order and the first whose pattern (shell-style, against the image's name
without tag or digest, and against the full reference) matches decides; an image no rule
matches is not checked and is reported as such, never silently passed as signed.
"""

from __future__ import annotations

import dataclasses
import fnmatch

from ansible_collections.airlock.airgap.plugins.module_utils.signatures import keys as key_lib, trusted_root as roots
from ansible_collections.airlock.airgap.plugins.module_utils.signatures.errors import SignatureError

REQUIRE_CHOICES = ("signed", "optional")


@dataclasses.dataclass
class Rule:
    match: str
    require: str
    keys: list
    trusted_root: object = None  # a TrustedRoot, or None: no Rekor entry asked for

    def applies_to(self, name, reference):
        return fnmatch.fnmatchcase(name, self.match) or fnmatch.fnmatchcase(reference, self.match)


def load_rules(entries):
    """The policy option -> [Rule]; SignatureError names the entry that cannot be used."""
    rules = []
    for number, entry in enumerate(entries):
        where = f"policy[{number}]"
        if entry["require"] not in REQUIRE_CHOICES:
            raise SignatureError(f"{where}.require is {entry['require']!r}: give one of {', '.join(REQUIRE_CHOICES)}")
        keys = key_lib.load_public_keys(entry.get("keys") or [], f"{where}.keys")
        if entry["require"] == "signed" and not keys:
            raise SignatureError(f"{where} ({entry['match']}) requires a signature but lists no keys: give the signers' "
                                 "public keys (keyless identities are not verified offline)")
        root = roots.load(entry["trusted_root"]) if entry.get("trusted_root") else None
        rules.append(Rule(entry["match"], entry["require"], keys, root))
    return rules


def rule_for(rules, name, reference):
    return next((rule for rule in rules if rule.applies_to(name, reference)), None)
