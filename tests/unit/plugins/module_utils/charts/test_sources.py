"""Charts fetched from HTTP repositories and OCI registries are the charts asked for: name, version and tag agree."""

import pytest

from ansible_collections.airlock.airgap.plugins.module_utils.charts import archive, oci_charts, repo_index, sources
from ansible_collections.airlock.airgap.plugins.module_utils.charts.errors import ChartError
from ansible_collections.airlock.airgap.plugins.module_utils.integrity import digest
from ansible_collections.airlock.airgap.plugins.module_utils.oci.errors import NotFound


def packed(name, version):
    chart = archive.from_files({"Chart.yaml": f"apiVersion: v2\nname: {name}\nversion: {version}\n".encode()}, "mem")
    return chart, archive.pack(chart)


class OneArchive:
    """An HTTP repository whose index lists `listed` for whatever archive it serves."""

    def __init__(self, data, listed):
        self.data, self.listed = data, listed

    def fetch(self, repo_url, name, constraint_text):
        return repo_index.Fetched(self.data, f"{repo_url}/{name}-{self.listed}.tgz", digest.of_bytes(self.data), self.listed)


class Registry:
    """An OCI registry holding charts by tag, as helm push stores them; it records the tags asked for."""

    def __init__(self, tagged):
        self.manifests, self.blobs, self.asked = {}, {}, []
        for tag, (chart, data) in tagged.items():
            manifest, blobs = oci_charts.manifest_for(chart, data)
            self.manifests[tag] = manifest
            self.blobs.update(blobs)

    def for_registry(self, registry):
        assert registry == "registry.test"
        return self

    def get_manifest(self, repository, reference):
        self.asked.append(reference)
        if reference not in self.manifests:
            raise NotFound(f"registry.test/{repository}:{reference} not found (MANIFEST_UNKNOWN)")
        return self.manifests[reference]

    def blob_chunks(self, repository, blob_digest, size):
        yield self.blobs[blob_digest]

    def tags(self, repository):
        return list(self.manifests)


def test_an_http_archive_whose_version_differs_from_its_index_entry_is_refused():
    _chart, data = packed("demo", "6.6.6")
    with pytest.raises(ChartError, match="holds demo 6.6.6, but the index of https://charts.test lists it as version 1.0.0"):
        sources.Sources(OneArchive(data, "1.0.0"), None).remote("https://charts.test", "demo", "1.0.0")


def test_an_http_archive_matching_its_index_entry_is_taken():
    _chart, data = packed("demo", "1.0.0")
    obtained = sources.Sources(OneArchive(data, "1.0.0"), None).remote("https://charts.test", "demo", "^1")
    assert (obtained.chart.version, obtained.data) == ("1.0.0", data)


def test_an_http_archive_with_a_path_in_its_version_is_refused():
    data = archive.pack(archive.Chart({"name": "demo", "version": "1.0.0/../../../../tmp/pwned"},
                                      {"Chart.yaml": b"apiVersion: v2\nname: demo\nversion: 1.0.0/../../../../tmp/pwned\n"}, "mem"))
    with pytest.raises(ChartError, match="is not a semantic version"):
        sources.Sources(OneArchive(data, "1.0.0/../../../../tmp/pwned"), None).remote("https://charts.test", "demo", "")


def test_an_oci_chart_under_another_versions_tag_is_refused():
    registry = Registry({"1.0.0": packed("demo", "9.9.9")})
    with pytest.raises(ChartError, match="holds demo 9.9.9, not the version its tag says"):
        sources.Sources(None, registry).remote("oci://registry.test/charts", "demo", "1.0.0")


def test_an_oci_chart_chosen_by_constraint_must_match_its_tag_too():
    registry = Registry({"1.0.0": packed("demo", "1.0.0"), "1.5.0": packed("demo", "2.0.0")})
    with pytest.raises(ChartError, match="holds demo 2.0.0, not the version its tag says"):
        sources.Sources(None, registry).remote("oci://registry.test/charts", "demo", "^1")


def test_an_oci_build_version_is_tagged_with_an_underscore():
    registry = Registry({"1.0.0_build.1": packed("demo", "1.0.0+build.1")})
    obtained = sources.Sources(None, registry).remote("oci://registry.test/charts", "demo", "1.0.0+build.1")
    assert obtained.chart.version == "1.0.0+build.1"


def test_an_exact_version_with_a_v_is_first_pulled_by_the_tag_as_given():
    registry = Registry({"v1.2.3": packed("demo", "v1.2.3")})
    obtained = sources.Sources(None, registry).remote("oci://registry.test/charts", "demo", "v1.2.3")
    assert obtained.chart.version == "v1.2.3"
    assert registry.asked == ["v1.2.3"]
    assert obtained.source == "oci://registry.test/charts/demo:v1.2.3"


@pytest.mark.parametrize("asked, tagged", [("v1.2.3", "1.2.3"), ("1.2.3", "v1.2.3")])
def test_an_exact_version_falls_back_to_the_tag_with_or_without_its_v(asked, tagged):
    registry = Registry({tagged: packed("demo", tagged)})
    obtained = sources.Sources(None, registry).remote("oci://registry.test/charts", "demo", asked)
    assert obtained.chart.version == tagged
    assert registry.asked == [asked, tagged]


def test_an_exact_version_tagged_neither_way_names_the_tag_asked_for():
    registry = Registry({"1.0.0": packed("demo", "1.0.0")})
    with pytest.raises(NotFound, match="demo:v1.2.3 not found"):
        sources.Sources(None, registry).remote("oci://registry.test/charts", "demo", "v1.2.3")
