"""The baseline image_inventory is measured against: the naive grep, run on the same input.

Vendor guides and most air-gap scripts find images with `grep -rhoE 'image: *[^ ]+'`. score() sets
what it reports beside what the scenario pulls (images, indirect, derived): found, missed, and
invented (reported, yet neither pulled nor a candidate; candidates count neither way).
"""

import os
import subprocess

from ansible_collections.airlock.airgap.plugins.module_utils.oci import reference

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "inventory")
NAIVE_GREP = ["grep", "-rhoE", "image:[[:space:]]*[^[:space:]]+"]


def naive_grep(*paths) -> set:
    """What the grep reports in the files under paths, each read as generously as possible (quotes off, normalised)."""
    completed = subprocess.run(NAIVE_GREP + [os.path.join(FIXTURES, p) for p in paths], capture_output=True, text=True, check=False,
                               timeout=60)
    assert completed.returncode in (0, 1), completed.stderr
    reported = set()
    for line in completed.stdout.splitlines():
        text = line[len("image:"):].strip().strip("'\"")
        try:
            reported.add(str(reference.parse(text)))
        except reference.InvalidReference:
            reported.add(text)
    return reported


def classes(result) -> dict:
    """image_inventory's result as sets of images (invalid ones as written), per class (a failed result carries them too)."""
    sets = {name: {entry["image"] for entry in result[name]} for name in ("images", "indirect", "candidates", "derived")}
    sets["invalid"] = {entry["written"] for entry in result["invalid"]}
    return sets


def score(pulled, candidates, reported) -> dict:
    return {"found": len(reported & pulled), "missed": len(pulled - reported), "invented": len(reported - pulled - candidates)}


def counts(sets) -> dict:
    return {name: len(images) for name, images in sets.items()}
