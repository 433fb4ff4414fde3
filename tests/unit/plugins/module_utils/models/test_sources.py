"""Model sources: strict parsing of hf://, ngc://, s3://, local folders and model-list CSVs."""

import pytest

from ansible_collections.airlock.airgap.plugins.module_utils.models import sources
from ansible_collections.airlock.airgap.plugins.module_utils.models.errors import ModelError


def test_hub_sources_default_to_main_and_keep_a_revision():
    assert sources.parse("hf://BAAI/bge-m3") == sources.HubSource("BAAI/bge-m3", "main")
    assert sources.parse("hf://BAAI/bge-m3@" + "a" * 40).revision == "a" * 40


@pytest.mark.parametrize("text", ["hf://bad repo/x", "hf://org/../x", "hf://org/name@", "hf://a/b/c", "hf://org--x/name"])
def test_bad_hub_sources_are_refused(text):
    with pytest.raises(ModelError):
        sources.parse(text)


def test_ngc_targets_with_and_without_team():
    assert sources.parse("ngc://nvidia/tao/pretrained_dino:trainable_v1.0") == sources.NgcSource("nvidia", "tao", "pretrained_dino", "trainable_v1.0")
    plain = sources.parse("ngc://nvidia/segformer:1.0")
    assert plain.team == "" and plain.tree_name == "nvidia/no-team/segformer/1.0"


def test_ngc_without_version_is_refused_with_the_form():
    with pytest.raises(ModelError, match=r"ngc://org\[/team\]/model:version"):
        sources.parse("ngc://nvidia/tao/model")


def test_s3_and_folders():
    assert sources.parse("s3://bucket/some/prefix/") == sources.S3Source("bucket", "some/prefix")
    assert sources.parse({"path": "/m", "repo_id": "acme/m"}) == sources.LocalSource("/m", "acme/m", "main", "")
    assert sources.parse({"path": "/ptm", "tree": "/"}) == sources.TreeSource("/ptm", ".")
    with pytest.raises(ModelError, match="give repo_id"):
        sources.parse({"path": "/m"})
    with pytest.raises(ModelError, match="is not a model source"):
        sources.parse("https://huggingface.co/x/y")


def test_model_list_rows_become_hub_and_ngc_sources(tmp_path):
    listing = tmp_path / "models.csv"
    listing.write_text("displayName,ngc_path,network_arch,is_backbone\n"
                       "MiniLM,hf_model://sentence-transformers/all-MiniLM-L6-v2,embedding,False\n"
                       "DINO,nvidia/tao/pretrained_dino:trainable_v1.0,dino,True\n"
                       "DINO again,nvidia/tao/pretrained_dino:trainable_v1.0,dino,True\n"
                       "No path,,x,False\n")
    assert sources.read_model_list(str(listing)) == [sources.HubSource("sentence-transformers/all-MiniLM-L6-v2"),
                                                     sources.NgcSource("nvidia", "tao", "pretrained_dino", "trainable_v1.0")]


def test_a_bad_row_names_its_line(tmp_path):
    listing = tmp_path / "models.csv"
    listing.write_text("displayName,ngc_path,network_arch,is_backbone\nX,not-an-ngc-path,y,False\n")
    with pytest.raises(ModelError, match="line 2"):
        sources.read_model_list(str(listing))
