"""Which manifests the engine copies, and how a manifest's kind is read."""

import pytest

from ansible_collections.airlock.airgap.plugins.module_utils.oci import mediatypes


@pytest.mark.parametrize("media_type", mediatypes.DOCKER_SCHEMA1)
def test_schema1_is_refused_with_the_fix(media_type):
    with pytest.raises(mediatypes.UnsupportedManifest, match="schema 1.*re-push"):
        mediatypes.check_supported(media_type, "docker.io/library/old:1")


def test_unknown_kinds_are_refused_by_name():
    with pytest.raises(mediatypes.UnsupportedManifest, match="'application/vnd.example'.* not an image index or manifest"):
        mediatypes.check_supported("application/vnd.example", "x")


@pytest.mark.parametrize("media_type", mediatypes.INDEXES + mediatypes.MANIFESTS)
def test_indexes_and_manifests_are_accepted(media_type):
    mediatypes.check_supported(media_type, "x")


@pytest.mark.parametrize("manifest,header,expected", [
    ({"mediaType": mediatypes.DOCKER_LIST, "manifests": []}, None, mediatypes.DOCKER_LIST),
    ({"schemaVersion": 2, "manifests": []}, None, mediatypes.OCI_INDEX),
    ({"schemaVersion": 2, "config": {}, "layers": []}, f"{mediatypes.DOCKER_MANIFEST}; charset=utf-8", mediatypes.DOCKER_MANIFEST),
    ({"schemaVersion": 2, "config": {}, "layers": []}, "application/json", mediatypes.OCI_MANIFEST),
    ({"schemaVersion": 1, "fsLayers": []}, "application/json", mediatypes.DOCKER_SCHEMA1[0]),
])
def test_media_type_prefers_the_manifest_then_the_header(manifest, header, expected):
    assert mediatypes.media_type_of(manifest, header) == expected
