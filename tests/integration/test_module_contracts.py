"""What every module owes Ansible, proven on real services for all of them at once.

- Check mode changes nothing: not a file, not a registry repository, not an S3 object, not a runtime image.
- Through ansible-playbook, the recap counts what happened: a first run changes, a second changes nothing, a
  run after a repair changes again, and no run is ever counted as skipped (a module returning a truthy
  `skipped` made Ansible print `skipping:` and count no change).
- No result carries a key Ansible interprets, other than `changed` as the verdict and `msg`.
"""

import json
import os
import subprocess
import sys

import pytest

import s3_bucket
from module_runner import run_module

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(REPO, "tests", "fixtures")
CALLBACKS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "callback_plugins")
NAMESPACE = "airlock-contracts"
# Keys Ansible reads from a module's result; a module may set only changed (its verdict), msg, warnings and deprecations.
INTERPRETED = {"skipped", "failed", "changed", "msg", "rc", "results", "invocation", "ansible_facts", "warnings", "deprecations",
               "diff", "stdout", "stderr", "exception", "stdout_lines", "stderr_lines", "skip_reason", "unreachable"}
ALLOWED = {"changed", "msg", "warnings", "deprecations", "invocation"}


class Scenario:
    """One module, its arguments on a fresh tree, and how to break what it made so a run must repair it."""

    def __init__(self, module, args, repair=None):
        self.module, self.args, self.repair = module, args, repair

    @property
    def writes(self):
        return self.repair is not None


def _replace_keeping_size(path):
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 0xFF
    with open(path, "wb") as handle:
        handle.write(bytes(data))


def _first_file(root, suffix=""):
    for directory, _dirs, names in sorted(os.walk(root)):
        for name in sorted(names):
            if name.endswith(suffix) and not os.path.islink(os.path.join(directory, name)):
                return os.path.join(directory, name)
    raise AssertionError(f"no file ending {suffix!r} under {root}")


def _small_tree(root):
    os.makedirs(os.path.join(root, "models"), exist_ok=True)
    for number in range(3):
        with open(os.path.join(root, "models", f"part-{number}.bin"), "wb") as handle:
            handle.write(os.urandom(20_000))
    with open(os.path.join(root, "airlock.lock.json"), "w", encoding="utf-8") as handle:
        json.dump({"version": 1, "images": []}, handle)
    return root


def _model_folder(root):
    os.makedirs(root)
    with open(os.path.join(root, "config.json"), "w", encoding="utf-8") as handle:
        json.dump({"hidden_size": 8}, handle)
    with open(os.path.join(root, "model.safetensors"), "wb") as handle:
        handle.write(os.urandom(50_000))
    return root


def scenarios(tmp, testbed, image_set, public_images):
    """Every module, each with its own folder under tmp (so one cannot disturb another)."""
    def at(name):
        return os.path.join(tmp, name)
    bundle_source = _small_tree(at("bundle-source"))
    assert not run_module("checksum", {"path": bundle_source, "state": "present"}).get("failed")
    assert not run_module("bundle", {"path": bundle_source, "volumes_dir": at("volumes"), "name": "rel", "state": "packed"}).get("failed")
    os.makedirs(at("manifests"))
    with open(os.path.join(at("manifests"), "deploy.yaml"), "w", encoding="utf-8") as handle:
        handle.write("apiVersion: v1\nkind: Pod\nmetadata: {name: app}\nspec:\n  containers:\n"
                     f"    - {{name: app, image: \"{public_images[0]}\"}}\n")
    public = [{"host": testbed.public_registry, "insecure": True}]
    return [
        Scenario("checksum", {"path": _small_tree(at("checksum-tree")), "state": "present"},
                 repair=lambda: open(os.path.join(at("checksum-tree"), "SHA256SUMS"), "a", encoding="utf-8").write("junk\n")),
        Scenario("bundle", {"path": at("enclave"), "volumes_dir": at("volumes"), "name": "rel", "state": "unpacked"},
                 repair=lambda: _replace_keeping_size(os.path.join(at("enclave"), "models", "part-1.bin"))),
        Scenario("image_copy", {"images": [f"oci:{image_set['path']}"], "destination": f"oci:{at('layout')}"},
                 repair=lambda: os.unlink(_first_file(os.path.join(at("layout"), "blobs")))),
        Scenario("image_preload", {"source": f"oci:{image_set['path']}", "socket": testbed.containerd_socket, "namespace": NAMESPACE,
                                   "runtime": "containerd", "platform": "linux/amd64"},
                 repair=lambda: _ctr(testbed, "images", "rm", _ctr(testbed, "images", "ls", "--quiet").split()[0])),
        Scenario("chart_mirror", {"charts": [{"path": os.path.join(FIXTURES, "charts", "cache")}], "dest": at("charts")},
                 repair=lambda: os.unlink(_first_file(at("charts"), ".tgz"))),
        Scenario("model_cache", {"state": "staged", "path": at("hub"),
                                 "models": [{"path": _model_folder(at("model")), "repo_id": "acme/tiny"}]},
                 repair=lambda: os.unlink(_first_file(os.path.join(at("hub"), "models--acme--tiny", "blobs")))),
        Scenario("image_inventory", {"manifests": [at("manifests")], "resolve_digests": True, "lock_file": at("inventory.lock.json"),
                                     "registries": public},
                 repair=lambda: os.unlink(at("inventory.lock.json"))),
        Scenario("mirror_overrides", {"registry": "registry.enclave:5000", "prefix": "mirror",
                                      "compose": [{"files": [os.path.join(FIXTURES, "inventory", "compose", "docker-compose.yml")],
                                                   "override": at("compose.airgap.yml")}]},
                 repair=lambda: os.unlink(at("compose.airgap.yml"))),
        Scenario("egress_audit", {"paths": [at("manifests")], "allowed_registries": [testbed.public_registry]}),
    ]


def _ctr(testbed, *args):
    return subprocess.run([testbed.ctr, "--address", testbed.containerd_socket, "-n", NAMESPACE, *args],
                          capture_output=True, text=True, check=True, timeout=120).stdout


@pytest.fixture
def contract_world(testbed, image_set, public_images, tmp_path):
    """Fresh trees for every module, and an empty containerd namespace removed afterwards."""
    yield scenarios(str(tmp_path), testbed, image_set, public_images)
    names = _ctr(testbed, "images", "ls", "--quiet").split()
    if names:
        _ctr(testbed, "images", "rm", "--sync", *names)


def _tree_state(root):
    """Every entry under root with its kind, size, time and link target: what 'nothing changed' compares."""
    found = {}
    for directory, dirs, names in os.walk(root):
        for name in dirs + names:
            path = os.path.join(directory, name)
            status = os.lstat(path)
            found[os.path.relpath(path, root)] = (status.st_mode, status.st_size, status.st_mtime_ns,
                                                  os.readlink(path) if os.path.islink(path) else None)
    return found


def _registry_state(testbed, repository):
    tags = subprocess.run([testbed.skopeo, "list-tags", "--cert-dir", os.path.dirname(testbed.private_ca),
                           "--creds", f"{testbed.private_user}:{testbed.private_password}",
                           f"docker://{testbed.private_registry}/{repository}"], capture_output=True, text=True, check=False, timeout=60)
    return json.loads(tags.stdout)["Tags"] if tags.returncode == 0 else []


def _bucket_state(client, bucket):
    return sorted((item["Key"], item["ETag"]) for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
                  for item in page.get("Contents", []))


def test_check_mode_changes_nothing_anywhere(contract_world, testbed, image_set, private_registry_settings, tmp_path):
    """Every module in check mode against fresh trees, then the three that write to services, against them."""
    before, runtime_before = _tree_state(str(tmp_path)), _ctr(testbed, "images", "ls")
    for scenario in contract_world:
        result = run_module(scenario.module, scenario.args, check_mode=True)
        assert not result.get("failed"), (scenario.module, result.get("msg"))
        assert result["changed"] is scenario.writes, scenario.module
    assert _tree_state(str(tmp_path)) == before, "check mode wrote, linked or deleted something on disk"
    assert _ctr(testbed, "images", "ls") == runtime_before, "check mode changed the runtime"

    registries = [private_registry_settings]
    repository = f"contracts-{os.getpid()}"
    copy = run_module("image_copy", {"images": [f"oci:{image_set['path']}"], "destination": f"docker://{testbed.private_registry}/{repository}",
                                     "registries": registries}, check_mode=True)
    assert not copy.get("failed"), copy.get("msg")
    charts = next(s for s in contract_world if s.module == "chart_mirror")
    assert not run_module("chart_mirror", charts.args).get("failed")
    push = run_module("chart_mirror", {"state": "pushed", "dest": charts.args["dest"], "registries": registries,
                                       "destination": f"oci://{testbed.private_registry}/{repository}-charts"}, check_mode=True)
    assert not push.get("failed"), push.get("msg")
    assert _registry_state(testbed, f"{repository}/{image_set['refs'][0].split(':')[0]}") == []
    assert _registry_state(testbed, f"{repository}-charts/cache") == []

    models = next(s for s in contract_world if s.module == "model_cache")
    assert not run_module("model_cache", models.args).get("failed")
    client = s3_bucket.client_for(testbed)
    with s3_bucket.temporary_bucket(client, "contracts") as bucket:
        empty = _bucket_state(client, bucket)
        pushed = run_module("model_cache", dict(models.args, state="pushed", s3=s3_bucket.settings_for(testbed, bucket)), check_mode=True)
        assert not pushed.get("failed"), pushed.get("msg")
        assert _bucket_state(client, bucket) == empty, "check mode uploaded to S3"


def _playbook(path, world):
    tasks = [{"name": scenario.module, f"airlock.airgap.{scenario.module}": scenario.args, "register": f"result_{scenario.module}"}
             for scenario in world]
    with open(path, "w", encoding="utf-8") as handle:
        json.dump([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}], handle)
    return path


def _run_playbook(playbook, collections, log):
    """ansible-playbook as a user runs it; a test callback records the recap and every task's result as Ansible judged it."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
               ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_CALLBACK_PLUGINS=CALLBACKS, ANSIBLE_CALLBACKS_ENABLED="result_log",
               AIRLOCK_RESULT_LOG=log)
    completed = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", "-c", "local", playbook],
                               capture_output=True, text=True, env=env, timeout=900, check=False)
    if not os.path.exists(log):
        raise AssertionError(f"ansible-playbook recorded nothing (exit {completed.returncode}): {completed.stdout[-3000:]}{completed.stderr[-2000:]}")
    with open(log, encoding="utf-8") as handle:
        report = json.load(handle)
    os.unlink(log)
    return report["recap"]["localhost"], report["tasks"]


def test_the_recap_counts_first_run_second_run_and_repair(contract_world, tmp_path):
    collections = os.environ.get("ANSIBLE_COLLECTIONS_PATH") or os.path.join(REPO, ".cache", "collections")
    playbook = _playbook(str(tmp_path / "contracts.json"), contract_world)
    writers = sum(scenario.writes for scenario in contract_world)
    for phase, expected_changes in (("first", writers), ("second", 0), ("repair", writers)):
        if phase == "repair":
            for scenario in contract_world:
                if scenario.repair:
                    scenario.repair()
        stats, tasks = _run_playbook(playbook, collections, str(tmp_path / "results.json"))
        failed = {name: task["result"].get("msg") for name, task in tasks.items() if task["status"] == "failed"}
        assert not failed, (phase, failed)
        unchanged = sorted(name for name, task in tasks.items() if task["status"] != "changed")
        assert stats["changed"] == expected_changes and stats["skipped"] == 0, (phase, stats, "not changed:", unchanged)
        for name, task in tasks.items():
            assert task["status"] != "skipped", (phase, name, "Ansible took the task for skipped")
            stray = (set(task["result"]) & INTERPRETED) - ALLOWED
            assert not stray, (phase, name, f"returns keys Ansible interprets: {sorted(stray)}")
