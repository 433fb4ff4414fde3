# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filters wrap the engines and turn their errors into Ansible filter errors."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.airlock.airgap.plugins.filter.image_refs import FilterModule, image_mirror, image_normalize


def test_registered():
    assert set(FilterModule().filters()) == {"image_normalize", "image_mirror"}


def test_normalize_and_mirror():
    assert image_normalize(" redis ") == "docker.io/library/redis:latest"
    assert image_mirror("ghcr.io/acme/api:1", "r.lan:5000", prefix="m", path="flatten") == "r.lan:5000/m/api:1"


@pytest.mark.parametrize("call", [lambda: image_normalize("Redis"), lambda: image_mirror("redis", "not a host"),
                                  lambda: image_mirror("redis", "r.lan", pin="digest")])
def test_errors_are_filter_errors(call):
    with pytest.raises(AnsibleFilterError):
        call()
