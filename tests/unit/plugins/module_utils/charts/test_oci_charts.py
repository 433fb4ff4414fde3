"""Chart manifests built as helm push builds them, the same bytes every time."""

import json

import pytest

from ansible_collections.airlock.airgap.plugins.module_utils.charts import archive, mediatypes, oci_charts
from ansible_collections.airlock.airgap.plugins.module_utils.charts.errors import ChartError
from ansible_collections.airlock.airgap.plugins.module_utils.integrity import digest

CHART = archive.from_files({"Chart.yaml": b"apiVersion: v2\nname: demo\nversion: 1.2.3+build.4\ndescription: A demo\n"}, "mem")
DATA = archive.pack(CHART)


def test_the_manifest_carries_helm_media_types_and_the_archive_unchanged():
    manifest, blobs = oci_charts.manifest_for(CHART, DATA)
    body = manifest.parsed()
    assert body["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert body["config"]["mediaType"] == mediatypes.CONFIG == "application/vnd.cncf.helm.config.v1+json"
    assert [layer["mediaType"] for layer in body["layers"]] == ["application/vnd.cncf.helm.chart.content.v1.tar+gzip"]
    assert blobs[body["layers"][0]["digest"]] == DATA
    assert json.loads(blobs[body["config"]["digest"]])["version"] == "1.2.3+build.4"
    assert body["annotations"]["org.opencontainers.image.version"] == "1.2.3+build.4"
    assert manifest.digest == digest.of_bytes(manifest.raw)


def test_the_same_archive_gives_the_same_manifest():
    assert oci_charts.manifest_for(CHART, DATA)[0].raw == oci_charts.manifest_for(CHART, DATA)[0].raw


def test_provenance_travels_as_its_own_layer():
    manifest, blobs = oci_charts.manifest_for(CHART, DATA, b"-----BEGIN PGP SIGNED MESSAGE-----\n")
    layers = manifest.parsed()["layers"]
    assert layers[1]["mediaType"] == "application/vnd.cncf.helm.chart.provenance.v1.prov"
    assert len(blobs) == 3


def test_tags_write_plus_as_underscore_and_locations_parse():
    location = oci_charts.Location.parse("oci://registry.enclave:5000/team/charts/")
    assert (location.registry, location.path) == ("registry.enclave:5000", "team/charts")
    assert location.reference("demo", "1.2.3+build.4") == "oci://registry.enclave:5000/team/charts/demo:1.2.3_build.4"


@pytest.mark.parametrize("text", ["oci://", "oci://host/charts/demo:1.0.0", "oci://host/charts@sha256:abc"])
def test_locations_with_tags_or_no_host_are_refused(text):
    with pytest.raises(ChartError, match="not an OCI chart location"):
        oci_charts.Location.parse(text)


class OneManifest:
    def __init__(self, layer_size):
        config = {"mediaType": mediatypes.CONFIG, "digest": digest.of_bytes(b"{}"), "size": 2}
        layer = {"mediaType": mediatypes.CHART, "digest": digest.of_bytes(DATA), "size": layer_size}
        self.body = {"schemaVersion": 2, "config": config, "layers": [layer]}

    def get_manifest(self, repository, reference):
        return self

    def parsed(self):
        return self.body

    def blob_chunks(self, repository, blob_digest, size):
        raise AssertionError("a layer with a bad size must not be downloaded")


@pytest.mark.parametrize("size", ["12", 1.5, None, True, -1, [], archive.MAX_CHART_BYTES + 1])
def test_a_layer_size_that_is_not_a_sane_integer_is_a_chart_error(size):
    with pytest.raises(ChartError, match="declares size"):
        oci_charts.pull(OneManifest(size), oci_charts.Location.parse("oci://registry.test/charts"), "demo", "1.2.3")
