"""model_cache with NGC models, model-list CSVs and generic trees, against loopback NGC and Hub
servers and the testbed's SeaweedFS."""

import hashlib
import os

import pytest

import s3_bucket
from hub_server import HubServer, Repo
from module_runner import run_module
from ngc_server import API_KEY, NgcServer

pytestmark = pytest.mark.testbed

DINO = ("nvidia", "tao", "pretrained_dino", "trainable_v1.0")
DINO_FILES = {"dino.pth": os.urandom(300_000), "experiment.yaml": b"model: dino\n", "nested/labels.txt": b"cat\ndog\n"}
PLAIN = ("nvidia", "", "segformer", "1.0")
TREE = "nvidia/tao/pretrained_dino/trainable_v1.0"


@pytest.fixture
def ngc():
    with NgcServer({DINO: dict(DINO_FILES), PLAIN: {"model.onnx": b"onnx" * 1000}}) as server:
        yield server


@pytest.fixture(scope="module")
def s3_client(testbed):
    return s3_bucket.client_for(testbed)


@pytest.fixture(scope="module")
def bucket(s3_client):
    with s3_bucket.temporary_bucket(s3_client, "trees") as name:
        yield name


def stage_ngc(ngc, tmp_path, models):
    return run_module("model_cache", {"state": "staged", "path": str(tmp_path / "hub"), "tree_path": str(tmp_path / "trees"), "models": models,
                                      "ngc_endpoint": ngc.endpoint, "ngc_api_key": API_KEY})


def test_an_ngc_model_lands_where_the_fine_tuning_service_looks_verified_and_idempotent(ngc, tmp_path):
    first = stage_ngc(ngc, tmp_path, ["ngc://nvidia/tao/pretrained_dino:trainable_v1.0", "ngc://nvidia/segformer:1.0"])
    assert not first.get("failed"), first.get("msg")
    folder = tmp_path / "trees" / TREE / "pretrained_dino_vtrainable_v1.0"
    assert (folder / "dino.pth").read_bytes() == DINO_FILES["dino.pth"] and (folder / "nested" / "labels.txt").exists()
    assert (tmp_path / "trees" / "nvidia" / "no-team" / "segformer" / "1.0" / "segformer_v1.0" / "model.onnx").exists()
    dino = first["models"][0]
    assert dino["kind"] == "tree" and dino["name"] == TREE and len(dino["files"]) == 3
    assert dino["files"][0]["sha256"] == hashlib.sha256(DINO_FILES["dino.pth"]).hexdigest()
    assert not [auth for path, auth in ngc.requests if path.startswith("/presigned/") and auth], "presigned URLs get no API key"
    again = stage_ngc(ngc, tmp_path, ["ngc://nvidia/tao/pretrained_dino:trainable_v1.0"])
    assert again["changed"] is False and again["bytes_moved"] == 0
    verified = run_module("model_cache", {"state": "verified", "path": str(tmp_path / "hub"), "tree_path": str(tmp_path / "trees")})
    assert not verified.get("failed") and len(verified["models"]) == 2
    (folder / "experiment.yaml").write_bytes(b"model: tampered\n")
    tampered = run_module("model_cache", {"state": "verified", "path": str(tmp_path / "hub"), "tree_path": str(tmp_path / "trees")})
    assert tampered["failed"] and "experiment.yaml is corrupted" in tampered["msg"]


def test_an_ngc_file_whose_checksum_does_not_match_is_refused(ngc, tmp_path):
    ngc.corrupt["experiment.yaml"] = b"model: evil!\n"
    result = stage_ngc(ngc, tmp_path, ["ngc://nvidia/tao/pretrained_dino:trainable_v1.0"])
    assert result["failed"] and "experiment.yaml is corrupted" in result["msg"]
    folder = tmp_path / "trees" / TREE / "pretrained_dino_vtrainable_v1.0"
    assert not (folder / "experiment.yaml").exists() and not list(folder.glob(".*partial*"))
    assert not (tmp_path / "trees" / ".airlock-trees").exists(), "no record: the tree is not trusted"


def test_ngc_errors_name_the_model_and_the_fix(ngc, tmp_path):
    unknown = stage_ngc(ngc, tmp_path, ["ngc://nvidia/tao/pretrained_dino:v9"])
    assert unknown["failed"] and "NGC has no ngc://nvidia/tao/pretrained_dino:v9" in unknown["msg"]
    refused = run_module("model_cache", {"state": "staged", "path": str(tmp_path / "hub"), "tree_path": str(tmp_path / "trees"),
                                         "models": ["ngc://nvidia/tao/pretrained_dino:trainable_v1.0"], "ngc_endpoint": ngc.endpoint,
                                         "ngc_api_key": "nvapi-wrong"})
    assert refused["failed"] and "refused access" in refused["msg"] and "nvapi-wrong" not in refused["msg"]
    ngc.status = "UPLOAD_PENDING"
    pending = stage_ngc(ngc, tmp_path, ["ngc://nvidia/tao/pretrained_dino:trainable_v1.0"])
    assert pending["failed"] and "not UPLOAD_COMPLETE" in pending["msg"]


def test_a_model_list_csv_stages_hub_and_ngc_rows(ngc, tmp_path):
    model = tmp_path / "tiny-model"
    model.mkdir()
    (model / "config.json").write_text('{"hidden_size": 8}')
    (model / "weights.bin").write_bytes(os.urandom(50_000))
    listing = tmp_path / "models.csv"
    listing.write_text("displayName,ngc_path,network_arch,is_backbone\n"
                       "Tiny,hf_model://acme/tiny,classification_pyt,True\n"
                       "DINO,nvidia/tao/pretrained_dino:trainable_v1.0,dino,True\n"
                       "Empty,,none,False\n")
    os.environ["HF_HUB_DISABLE_XET"] = "1"
    try:
        with HubServer({"acme/tiny": Repo(str(model))}) as hub:
            result = run_module("model_cache", {"state": "staged", "path": str(tmp_path / "hub"), "tree_path": str(tmp_path / "trees"),
                                                "model_list": str(listing), "hf_endpoint": hub.endpoint, "ngc_endpoint": ngc.endpoint,
                                                "ngc_api_key": API_KEY, "lock_file": str(tmp_path / "airlock.lock.json")})
    finally:
        del os.environ["HF_HUB_DISABLE_XET"]
    assert not result.get("failed"), result.get("msg")
    assert [(m["kind"], m["name"]) for m in result["models"]] == [("hf", "acme/tiny"), ("tree", TREE)]
    lock = (tmp_path / "airlock.lock.json").read_text()
    assert '"acme/tiny"' in lock and hashlib.sha256(DINO_FILES["dino.pth"]).hexdigest() in lock
    bad = tmp_path / "bad.csv"
    bad.write_text("name,path\nx,y\n")
    refused = run_module("model_cache", {"state": "staged", "path": str(tmp_path / "hub"), "model_list": str(bad)})
    assert refused["failed"] and "lacks the column(s) displayName, ngc_path, network_arch, is_backbone" in refused["msg"]


def test_a_model_folder_travels_as_a_tree_to_the_consumers_prefix_and_back(testbed, s3_client, bucket, tmp_path):
    client, settings = s3_client, s3_bucket.settings_for(testbed, bucket)
    ptm = tmp_path / "ptm"
    (ptm / "nvidia" / "tao" / "m" / "1" / "m_v1").mkdir(parents=True)
    (ptm / "ptm_metadatas.json").write_text('{"00000000-0000-5000-8000-000000000000": {"ngc_path": "nvidia/tao/m:1"}}')
    weights = ptm / "nvidia" / "tao" / "m" / "1" / "m_v1" / "model.pth"
    weights.write_bytes(os.urandom(200_000))
    (ptm / "latest.pth").symlink_to("nvidia/tao/m/1/m_v1/model.pth")
    trees = tmp_path / "trees"
    staged = run_module("model_cache", {"state": "staged", "path": str(tmp_path / "hub"), "tree_path": str(trees),
                                        "models": [{"path": str(ptm), "tree": "."}]})
    assert not staged.get("failed"), staged.get("msg")
    assert staged["models"][0]["links"] == {"latest.pth": "nvidia/tao/m/1/m_v1/model.pth"}
    objects = dict(settings, layout="hf-cache-objects", consumer_prefix=f"s3://{bucket}/{settings['prefix']}")
    pushed = run_module("model_cache", {"state": "pushed", "path": str(tmp_path / "hub"), "tree_path": str(trees), "s3": objects})
    assert not pushed.get("failed"), pushed.get("msg")
    keys = {item["Key"] for item in client.list_objects_v2(Bucket=bucket, Prefix=settings["prefix"] + "/")["Contents"]}
    weights_key = f"{settings['prefix']}/nvidia/tao/m/1/m_v1/model.pth"  # exactly where LOCAL_MODEL_REGISTRY=<prefix> reads
    assert f"{settings['prefix']}/ptm_metadatas.json" in keys and weights_key in keys
    head = client.head_object(Bucket=bucket, Key=weights_key)
    assert head["Metadata"]["sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    node = tmp_path / "node-trees"
    pulled = run_module("model_cache", {"state": "pulled", "path": str(tmp_path / "node-hub"), "tree_path": str(node),
                                        "models": [{"path": "unused", "tree": "."}], "s3": objects})
    assert not pulled.get("failed"), pulled.get("msg")
    assert (node / "latest.pth").read_bytes() == weights.read_bytes() and os.path.islink(node / "latest.pth")
    assert (node / "ptm_metadatas.json").read_bytes() == (ptm / "ptm_metadatas.json").read_bytes()


def test_a_local_folder_becomes_a_proper_cache_entry(tmp_path):
    folder = tmp_path / "model"
    (folder / "sub").mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    (folder / "sub" / "vocab.txt").write_text("a\nb\n")
    cache = tmp_path / "hub"
    args = {"state": "staged", "path": str(cache), "models": [{"path": str(folder), "repo_id": "acme/local", "revision": "v1"}]}
    first = run_module("model_cache", args)
    assert not first.get("failed"), first.get("msg")
    repo = cache / "models--acme--local"
    commit = (repo / "refs" / "v1").read_text()
    assert os.readlink(repo / "snapshots" / commit / "sub" / "vocab.txt").startswith("../../../blobs/")
    again = run_module("model_cache", args)
    assert again["changed"] is False and again["models"][0]["commit"] == commit
    assert not run_module("model_cache", {"state": "verified", "path": str(cache)}).get("failed")


def test_a_node_pulls_from_a_bundle_folder_verified(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text('{"a": 1}')
    (folder / "weights.bin").write_bytes(os.urandom(100_000))
    bundle = tmp_path / "bundle-models"
    run_module("model_cache", {"state": "staged", "path": str(bundle), "models": [{"path": str(folder), "repo_id": "acme/m"}]})
    node = tmp_path / "node"
    first = run_module("model_cache", {"state": "pulled", "path": str(node), "bundle_path": str(bundle)})
    assert not first.get("failed"), first.get("msg")
    assert first["changed"] and first["bytes_moved"] == 100_008 and first["models"][0]["name"] == "acme/m"
    again = run_module("model_cache", {"state": "pulled", "path": str(node), "bundle_path": str(bundle)})
    assert again["changed"] is False and again["bytes_skipped"] == 100_008
    blob = next(p for p in (bundle / "models--acme--m" / "blobs").iterdir() if p.stat().st_size == 100_000)
    blob.write_bytes(os.urandom(100_000))
    corrupted = run_module("model_cache", {"state": "pulled", "path": str(tmp_path / "other-node"), "bundle_path": str(bundle)})
    # a git-named blob is hashed when the bundle is read, so the corruption is found before anything is written
    assert corrupted["failed"] and "weights.bin does not match its blob name" in corrupted["msg"], corrupted["msg"]
    assert not (tmp_path / "other-node" / "models--acme--m" / "refs").exists()


def test_an_ngc_download_cut_midway_resumes_with_range_and_is_verified_over_every_byte(ngc, tmp_path):
    ngc.cut_presigned = 2
    result = stage_ngc(ngc, tmp_path, ["ngc://nvidia/tao/pretrained_dino:trainable_v1.0"])
    assert not result.get("failed"), result.get("msg")
    first, *resumed = ngc.presigned_ranges[:3]
    offsets = [int(text[len("bytes="):-1]) for text in resumed]
    assert first is None and 0 < offsets[0] < offsets[1] < len(DINO_FILES["dino.pth"]), ngc.presigned_ranges
    assert (tmp_path / "trees" / TREE / "pretrained_dino_vtrainable_v1.0" / "dino.pth").read_bytes() == DINO_FILES["dino.pth"]

    ngc.cut_presigned, ngc.corrupt["dino.pth"] = 1, bytes(len(DINO_FILES["dino.pth"]))  # the first file: cut, resumed, then checked
    ngc.presigned_ranges.clear()
    refused = stage_ngc(ngc, tmp_path / "again", ["ngc://nvidia/tao/pretrained_dino:trainable_v1.0"])
    assert refused["failed"] and "dino.pth is corrupted" in refused["msg"], refused["msg"]
    assert ngc.presigned_ranges[0] is None and ngc.presigned_ranges[1].startswith("bytes="), ngc.presigned_ranges
