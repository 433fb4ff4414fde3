"""The prepare role through playbooks/prepare.yml: one manifest in, one verified bundle and its volumes out.

The manifest names its images on `registry.example.invalid`, which never resolves: the testbed's public registry stands
for it through `sources`, so a run that reached for the canonical host would fail.
"""

import json
import os
import shutil
import subprocess
import sys
import tarfile

import pytest
import yaml

pytestmark = pytest.mark.testbed

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHARTS = os.path.join(REPO, "tests", "fixtures", "charts")
CALLBACKS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "callback_plugins")
CANONICAL = "registry.example.invalid"
EXPECTED_IMAGES = [f"{CANONICAL}/bench/img00:v1", f"{CANONICAL}/bench/img01:v1", f"{CANONICAL}/bench/img02:v1"]


def site(root, public_registry):
    """A manifest beside what it names: the web chart (and the cache chart it depends on), a values file, a model folder."""
    for chart in ("web", "cache"):
        shutil.copytree(os.path.join(CHARTS, chart), root / "charts" / chart)
    (root / "web-values.yaml").write_text(yaml.safe_dump({"image": {"repository": "bench/img00"}}))
    model = root / "models" / "tiny"
    model.mkdir(parents=True)
    (model / "config.json").write_text(json.dumps({"hidden_size": 8}))
    (model / "model.safetensors").write_bytes(os.urandom(40_000))
    manifest = {
        "name": "web-site",
        "sources": [{"registry": CANONICAL, "via": public_registry, "insecure": True}],
        "charts": [{"name": "web", "path": "charts/web", "values_files": ["web-values.yaml"], "release": "web", "namespace": "web",
                    "values": {"launches": {"worker": f"{CANONICAL}/bench/img02:v1"}}}],
        "images": [f"{CANONICAL}/bench/img01:v1"],
        "exclude": [f"{CANONICAL}/bench/debug:never"],
        "models": [{"source": "models/tiny", "repo_id": "airlock-test/tiny", "consumer": {"chart": "web", "value": "model.url"}}],
        "enclave": {"registry": {"host": "registry.enclave.invalid:5000"},
                    "s3": {"endpoint": "http://s3.enclave.invalid:8333", "bucket": "models"}},
    }
    (root / "airlock.yml").write_text(yaml.safe_dump({"airlock": manifest}))
    return root / "airlock.yml"


def prepare(testbed, manifest, bundle, volumes, log, *options):
    """ansible-playbook playbooks/prepare.yml as a user runs it; a test callback records the recap and every task's result."""
    collections = os.environ.get("ANSIBLE_COLLECTIONS_PATH") or os.path.join(REPO, ".cache", "collections")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
               ANSIBLE_CALLBACK_PLUGINS=CALLBACKS, ANSIBLE_CALLBACKS_ENABLED="result_log", AIRLOCK_RESULT_LOG=str(log),
               PATH=f"{os.path.dirname(testbed.helm)}{os.pathsep}{os.environ['PATH']}")
    completed = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
                                os.path.join(REPO, "playbooks", "prepare.yml"), "-e", f"airlock_manifest_file={manifest}",
                                "-e", f"airlock_bundle_dir={bundle}", "-e", f"airlock_volumes_dir={volumes}", *options],
                               capture_output=True, text=True, env=env, timeout=900, check=False)
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-2000:]
    with open(log, encoding="utf-8") as handle:
        report = json.load(handle)
    os.unlink(log)
    changed = sorted(name for name, task in report["tasks"].items() if task["status"] == "changed")
    summary = next(task["result"]["msg"] for name, task in report["tasks"].items() if name.endswith("Summarise the bundle prepared"))
    return report["recap"]["localhost"], changed, " ".join(summary.split())


def layout_names(layout):
    with open(os.path.join(layout, "index.json"), encoding="utf-8") as handle:
        return sorted(d["annotations"]["org.opencontainers.image.ref.name"] for d in json.load(handle)["manifests"])


def test_prepare_makes_the_bundle_and_its_volumes_then_a_differential_run_fetches_nothing(testbed, public_images, tmp_path):
    manifest = site(tmp_path / "site", testbed.public_registry)
    bundle, volumes, log = tmp_path / "out" / "bundle", tmp_path / "out" / "volumes", tmp_path / "result.json"

    recap, _changed, summary = prepare(testbed, manifest, tmp_path / "fresh" / "bundle", tmp_path / "fresh" / "volumes", log, "--check")
    assert recap["failures"] == 0 and recap["changed"] > 0
    assert summary.startswith("prepare web-site (check mode: would be): 1 charts, 3 images (all), 1 models,"), summary
    assert not (tmp_path / "fresh").exists()

    recap, _changed, summary = prepare(testbed, manifest, bundle, volumes, log)
    assert recap["failures"] == 0 and recap["changed"] > 0
    assert summary.startswith("prepare web-site: 1 charts, 3 images (all), 1 models,") and " 1 volumes of " in summary, summary
    assert layout_names(bundle / "images") == EXPECTED_IMAGES
    with tarfile.open(bundle / "charts" / "web-0.1.0.tgz") as chart:
        assert "web/charts/cache-0.2.0.tgz" in chart.getnames()
    assert (bundle / "models" / "models--airlock-test--tiny" / "refs" / "main").is_file()
    lock = json.loads((bundle / "airlock.lock.json").read_text())
    assert sorted(image["source"] for image in lock["images"]) == EXPECTED_IMAGES
    assert [chart["name"] for chart in lock["charts"]] == ["web"] and len(lock["models"]) == 1
    subprocess.run(["sha256sum", "--check", "--quiet", "SHA256SUMS"], cwd=bundle, check=True)
    # prepare.yml writes the transfer report beside the volumes, to be carried with them.
    assert sorted(os.listdir(volumes)) == ["web-site.index.json", "web-site.tar.000", "web-site.tar.000.sha256", "web-site.transfer-report.html"]

    # The second run packs only the difference from the first's lock, into other volumes: it is a re-run too, so it fetches
    # nothing and changes nothing in the bundle (the demo and the examples check a plain re-run changes nothing at all).
    recap, changed, summary = prepare(testbed, manifest, bundle, tmp_path / "out" / "delta", log,
                                      "-e", f"airlock_differential_base={bundle / 'airlock.lock.json'}")
    assert recap["failures"] == 0 and " 0 bytes fetched" in summary, summary
    # (the image copy and the model staging run in the background: their waits report what they changed)
    bundle_writers = ("Copy every image", "the step images", "Mirror the charts", "Stage the models", "the step models",
                      "Write SHA256SUMS", "Carry the toolchain")
    assert not [name for name in changed if any(writer in name for writer in bundle_writers)], changed
    full, delta = (json.loads((folder / "web-site.index.json").read_text()) for folder in (volumes, tmp_path / "out" / "delta"))
    assert sum(v["size"] for v in delta["volumes"]) < sum(v["size"] for v in full["volumes"]) / 2, (full, delta)
