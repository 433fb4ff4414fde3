# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Images named in Helm values files, read without rendering.

Values alone are not the truth of a release (a parent overrides its subcharts, templates
assemble references), so a chart is always rendered; a values file on its own is read for the
images it names: `image: repo:tag` keys, split `{registry, repository, tag, digest}` mappings,
and, as indirect references, any other string that reads as an image.
"""

from __future__ import annotations

from ansible_collections.airlock.airgap.plugins.module_utils.inventory import yamlload
from ansible_collections.airlock.airgap.plugins.module_utils.inventory.manifests import walk_custom


def scan_file(path) -> list:
    results = []
    for document in yamlload.load_file(path):
        results.extend(walk_custom(document.data, "", path, "values", "values"))
    return results
