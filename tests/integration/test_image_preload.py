"""image_preload on real runtimes: several containerd nodes (each its own root, state and socket) and dockerd."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from corruption import corrupt_blob
from faulty_proxy import Fault, FaultyProxy
from module_runner import run_module
from testbed import processes, services

pytestmark = pytest.mark.testbed

MIRROR = "registry.enclave.test:5000/mirror"


class Node:
    """One containerd as a node would run it, driven by ctr in the k8s.io namespace."""

    def __init__(self, home, socket, pid):
        self.home, self.socket, self.pid = home, socket, pid

    def ctr(self, *args):
        return subprocess.run([shutil.which("ctr"), "--address", self.socket, "--namespace", "k8s.io", *args],
                              check=True, capture_output=True, text=True).stdout

    def targets(self):
        rows = [row.split() for row in self.ctr("images", "ls").splitlines()[1:]]
        return {fields[0]: fields[2] for fields in rows if len(fields) >= 3}

    def blobs(self):
        return set(self.ctr("content", "ls", "--quiet").split())

    def clear(self):
        names = self.ctr("images", "ls", "--quiet").split()
        if names:
            self.ctr("images", "rm", "--sync", *names)


@pytest.fixture(scope="module")
def nodes(testbed):
    """Two extra containerd nodes under the testbed's state dir, so `testbed down` also stops them after a crash; named by
    this process, since the testbed is shared and another session may run these tests at the same time."""
    started = []
    try:
        for name in ("node-a", "node-b"):
            home = os.path.join(testbed.state_dir, f"preload-{name}-{os.getpid()}")
            os.makedirs(home, exist_ok=True)
            service = services.start_containerd(home, {"containerd": shutil.which("containerd")})
            started.append(Node(home, service["env"]["AIRLOCK_CONTAINERD_SOCKET"], service["pids"][0]))
        yield started
    finally:
        for node in started:
            processes.stop([node.pid], node.home)
            shutil.rmtree(node.home, ignore_errors=True)


@pytest.fixture
def node(nodes):
    nodes[0].clear()
    yield nodes[0]
    nodes[0].clear()


def layout_images(layout):
    """{ref name: (index or manifest digest, {platform: manifest digest})} of the generated set."""
    found = {}
    for entry in json.load(open(os.path.join(layout, "index.json"), encoding="utf-8"))["manifests"]:
        top = read_blob(layout, entry["digest"])
        per_platform = {"/".join(filter(None, (m["platform"]["os"], m["platform"]["architecture"], m["platform"].get("variant"))))
                        : m["digest"] for m in top.get("manifests", [])}
        found[entry["annotations"]["org.opencontainers.image.ref.name"]] = (entry["digest"], per_platform)
    return found


def read_blob(layout, digest):
    with open(os.path.join(layout, "blobs", *digest.split(":")), encoding="utf-8") as handle:
        return json.load(handle)


def preload(node_socket, source, **extra):
    args = {"source": source, "socket": node_socket, "mirror": MIRROR, **extra}
    return run_module("image_preload", args, check_mode=extra.pop("_check", False))


def test_first_run_imports_every_name_and_a_second_changes_nothing(node, image_set, tmp_path):
    layout = image_set["path"]
    first = preload(node.socket, f"oci:{layout}", progress_file=str(tmp_path / "progress.json"))
    assert not first.get("failed"), first.get("msg")
    with open(tmp_path / "progress.json", encoding="utf-8") as handle:
        progress = json.load(handle)
    assert progress["bytes_done"] == progress["bytes_total"] == first["bytes_moved"] and progress["files_done"] == first["blobs_moved"]
    assert first["changed"] and first["imported"] == len(image_set["refs"]) and first["runtime"] == "containerd"
    targets = node.targets()
    for ref, (digest, _platforms) in layout_images(layout).items():
        repository, tag = f"docker.io/{ref}".rsplit(":", 1)
        mirrored = f"{MIRROR}/{ref.rsplit(':', 1)[0]}"
        for name in (f"{repository}:{tag}", f"{repository}@{digest}", f"{mirrored}:{tag}", f"{mirrored}@{digest}"):
            assert targets[name] == digest, name
    assert not [n for n in targets if n.startswith("airlock-preload.invalid")], "staging names must not outlive the run"
    assert set(node.ctr("images", "check", "--quiet").split()) >= set(targets), "every name complete and unpacked"

    assert first["bytes_moved"] < sum(i["bytes"] for i in first["images"]), "shared layers travel once"

    second = preload(node.socket, f"oci:{layout}")
    assert not second.get("failed"), second.get("msg")
    assert not second["changed"] and second["unchanged"] == len(image_set["refs"]) and second["bytes_moved"] == 0
    assert node.targets() == targets


def test_check_mode_reports_and_changes_nothing(node, image_set):
    result = run_module("image_preload", {"source": f"oci:{image_set['path']}", "socket": node.socket}, check_mode=True)
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] and {i["action"] for i in result["images"]} == {"imported"}
    assert node.targets() == {}


def test_multiarch_bundle_gives_each_node_only_its_platform(nodes, image_set):
    layout = image_set["path"]
    images = layout_images(layout)
    multiarch = {ref: per for ref, (_digest, per) in images.items() if len(per) > 1}
    assert multiarch, "the tiny set has multi-arch images"
    for node, platform, other in ((nodes[0], "linux/amd64", "linux/arm64/v8"), (nodes[1], "linux/arm64/v8", "linux/amd64")):
        node.clear()
        only_amd64 = [f"docker.io/{ref}" for ref, (_d, per) in images.items() if len(per) == 1 and "linux/amd64" in per]
        wanted = [f"docker.io/{ref}" for ref in multiarch] + (only_amd64 if platform == "linux/amd64" else [])
        result = preload(node.socket, f"oci:{layout}", images=wanted, platform=platform)
        assert not result.get("failed"), result.get("msg")
        held = node.blobs()
        for ref, per in multiarch.items():
            assert per[platform] in held and per[other] not in held, (ref, platform)
        assert all(image["manifest"] == multiarch[image["name"][len("docker.io/"):]][platform]
                   for image in result["images"] if image["name"][len("docker.io/"):] in multiarch)
    single_amd64 = next(ref for ref, (_d, per) in images.items() if len(per) == 1 and "linux/amd64" in per) if any(
        len(per) == 1 for _d, per in images.values()) else None
    if single_amd64:
        refused = preload(nodes[1].socket, f"oci:{layout}", images=[f"docker.io/{single_amd64}"], platform="linux/arm64/v8")
        assert refused["failed"] and "linux/arm64/v8" in refused["msg"]
    for node in nodes:
        node.clear()


def test_a_name_pointing_at_another_image_is_replaced_and_reported(node, image_set):
    layout = image_set["path"]
    first, second = sorted(image_set["refs"])[:2]
    assert not preload(node.socket, f"oci:{layout}", images=[f"docker.io/{first}"]).get("failed")
    stale = node.targets()[f"docker.io/{first}"]
    node.ctr("images", "tag", "--force", f"docker.io/{first}", f"docker.io/{second}")

    result = preload(node.socket, f"oci:{layout}", images=[f"docker.io/{second}"])
    assert not result.get("failed"), result.get("msg")
    (image,) = result["images"]
    assert result["changed"] and result["replaced"] == 1 and image["replaced"] == {f"docker.io/{second}": stale}
    assert node.targets()[f"docker.io/{second}"] == layout_images(layout)[second][0]
    assert node.targets()[f"docker.io/{first}"] == stale, "the other image keeps its own name"

    node.ctr("images", "rm", f"{MIRROR}/{second.rsplit(':', 1)[0]}:{second.rsplit(':', 1)[1]}")
    tagged = preload(node.socket, f"oci:{layout}", images=[f"docker.io/{second}"])
    assert [i["action"] for i in tagged["images"]] == ["tagged"] and tagged["changed"] and tagged["bytes_moved"] == 0
    assert node.targets()[f"{MIRROR}/{second}"] == layout_images(layout)[second][0]


def test_staging_names_of_dead_runs_are_swept_and_live_ones_kept(node, image_set):
    layout = image_set["path"]
    ref = sorted(image_set["refs"])[0]
    assert not preload(node.socket, f"oci:{layout}", images=[f"docker.io/{ref}"]).get("failed")
    digest = layout_images(layout)[ref][0]
    dead_pid = next(pid for pid in range(4_000_000, 4_100_000) if not os.path.exists(f"/proc/{pid}"))
    dead = f"airlock-preload.invalid/run-{dead_pid}:{digest.replace(':', '-')}"
    live = f"airlock-preload.invalid/run-{os.getpid()}:{digest.replace(':', '-')}"  # another run, still going
    node.ctr("images", "tag", f"docker.io/{ref}", dead, live)
    for name in [n for n in node.targets() if not n.startswith("airlock-preload.invalid")]:
        node.ctr("images", "rm", name)  # as if the dead run was killed after its import, before naming

    result = preload(node.socket, f"oci:{layout}", images=[f"docker.io/{ref}"])
    assert not result.get("failed"), result.get("msg")
    targets = node.targets()
    assert dead not in targets and targets[live] == digest
    assert all(targets[name] == digest for name in result["images"][0]["names"])


def test_registry_source_pulls_by_digest_with_credentials(node, testbed, image_set, private_registry_settings):
    layout = image_set["path"]
    copied = run_module("image_copy", {"images": [f"oci:{layout}"], "destination": f"docker://{testbed.private_registry}/mirror",
                                       "registries": [private_registry_settings]})
    assert not copied.get("failed"), copied.get("msg")
    pinned = [{"name": f"docker.io/{ref}", "digest": digest} for ref, (digest, _p) in layout_images(layout).items()]
    result = preload(node.socket, f"docker://{testbed.private_registry}/mirror", images=pinned, mirror=None,
                     registries=[private_registry_settings])
    assert not result.get("failed"), result.get("msg")
    assert result["imported"] == len(pinned)
    targets = node.targets()
    for entry in pinned:
        repository, tag = entry["name"].rsplit(":", 1)
        mirrored = repository.replace("docker.io", f"{testbed.private_registry}/mirror", 1)
        assert targets[entry["name"]] == targets[f"{mirrored}:{tag}"] == targets[f"{mirrored}@{entry['digest']}"] == entry["digest"]
    assert private_registry_settings["password"] not in result["_stdout"]

    wrong = dict(pinned[0], digest="sha256:" + "0" * 64)
    refused = preload(node.socket, f"docker://{testbed.private_registry}/mirror", images=[wrong], registries=[private_registry_settings])
    assert refused["failed"] and "0" * 64 in refused["msg"]


def test_an_import_killed_midway_is_completed_by_a_rerun(node, testbed, image_set, public_images):
    layout = image_set["path"]
    images = layout_images(layout)
    host, port = testbed.public_registry.split(":")
    last_ref = sorted(images)[-1]
    last_layer = read_blob(layout, images[last_ref][1].get("linux/amd64", images[last_ref][0]))["layers"][-1]["digest"]
    with FaultyProxy(host, int(port)) as proxy:
        proxy.faults = [Fault("GET", f"/blobs/{last_layer}", times=1, delay_seconds=60)]
        args = {"source": f"docker://{proxy.address}", "socket": node.socket, "platform": "linux/amd64",
                "images": [f"docker.io/{ref}" for ref in sorted(images)], "registries": [{"host": proxy.address, "insecure": True}]}
        process = start_module("image_preload", args)
        try:
            wait_for(lambda: proxy.faults[0].hits == 1, 60, "the delayed blob request")
        finally:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        assert not [n for n in node.targets() if not n.startswith("airlock-preload.invalid")], "no real name before the import finished"
        partial = node.blobs()
        proxy.faults = []
        rerun = run_module("image_preload", args)
    assert not rerun.get("failed"), rerun.get("msg")
    assert rerun["imported"] == len(images) and all(node.targets()[f"docker.io/{ref}"] == images[ref][0] for ref in images)
    assert partial, "the killed run had stored some blobs"
    assert not [n for n in node.targets() if n.startswith("airlock-preload.invalid")]


def test_corrupt_source_fails_clearly_and_leaves_existing_images(node, image_set, tmp_path):
    layout = image_set["path"]
    keep, broken = sorted(image_set["refs"])[:2]
    assert not preload(node.socket, f"oci:{layout}", images=[f"docker.io/{keep}"]).get("failed")
    before = node.targets()

    corrupt = tmp_path / "corrupt"
    shutil.copytree(layout, corrupt)
    manifest_digest = layout_images(layout)[broken][1].get("linux/amd64") or layout_images(layout)[broken][0]
    kept_layers = {l["digest"] for l in read_blob(layout, layout_images(layout)[keep][1].get("linux/amd64") or before[f"docker.io/{keep}"])["layers"]}
    layer = next(l["digest"] for l in read_blob(layout, manifest_digest)["layers"] if l["digest"] not in kept_layers)
    if layer in node.blobs():  # left by an earlier test's import: the node must lack it for the corrupt copy to be read
        node.ctr("content", "rm", layer)
    corrupt_blob(corrupt, layer)

    result = preload(node.socket, f"oci:{corrupt}", images=[f"docker.io/{keep}", f"docker.io/{broken}"], platform="linux/amd64")
    assert result["failed"] and layer in result["msg"]
    assert node.targets() == before, "existing names untouched, no staging or half-imported names left"
    assert layer not in node.blobs()


def test_docker_refusing_a_corrupt_stream_keeps_its_tags(testbed, image_set, tmp_path):
    import docker  # pylint: disable=import-outside-toplevel

    layout = image_set["path"]
    socket = testbed.docker_host[len("unix://"):]
    keep, broken = sorted(image_set["refs"])[:2]
    client = docker.APIClient(base_url=testbed.docker_host)
    try:
        for held in client.images(all=True):
            client.remove_image(held["Id"], force=True)
        assert not preload(socket, f"oci:{layout}", images=[f"docker.io/{keep}"]).get("failed")
        kept_id = client.inspect_image(f"docker.io/{keep}")["Id"]
        client.tag(kept_id, f"docker.io/{broken.rsplit(':', 1)[0]}", broken.rsplit(":", 1)[1])  # the name the broken one would take

        corrupt = tmp_path / "corrupt"
        shutil.copytree(layout, corrupt)
        manifest_digest = layout_images(layout)[broken][1].get("linux/amd64") or layout_images(layout)[broken][0]
        layer = read_blob(layout, manifest_digest)["layers"][-1]["digest"]
        corrupt_blob(corrupt, layer)

        result = preload(socket, f"oci:{corrupt}", images=[f"docker.io/{broken}"])
        assert result["failed"] and layer in result["msg"]
        assert client.inspect_image(f"docker.io/{broken}")["Id"] == kept_id, "the tag stays where it was"
    finally:
        for held in client.images(all=True):
            client.remove_image(held["Id"], force=True)
        client.close()


def test_a_truncated_docker_archive_is_a_clear_error(node, image_set, tmp_path):
    archive = tmp_path / "images.tar"
    ref = sorted(image_set["refs"])[0]
    written = run_module("image_copy", {"images": [f"oci:{image_set['path']}:{ref}"], "destination": f"docker-archive:{archive}",
                                        "platforms": ["linux/amd64"]})
    assert not written.get("failed"), written.get("msg")
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) * 2 // 3])
    result = preload(node.socket, f"docker-archive:{archive}")
    assert result["failed"] and str(archive) in result["msg"]
    assert node.targets() == {}


def test_missing_socket_is_a_clear_error(tmp_path, image_set):
    missing = tmp_path / "nope.sock"
    for runtime in ("containerd", "docker"):
        result = run_module("image_preload", {"source": f"oci:{image_set['path']}", "runtime": runtime, "socket": str(missing)})
        assert result["failed"] and str(missing) in result["msg"] and "does not exist" in result["msg"]


def test_docker_node_loads_tags_and_skips_on_rerun(testbed, image_set):
    import docker  # pylint: disable=import-outside-toplevel

    layout = image_set["path"]
    socket = testbed.docker_host[len("unix://"):]
    client = docker.APIClient(base_url=testbed.docker_host)
    for held in client.images(all=True):
        client.remove_image(held["Id"], force=True)
    first = {}
    try:
        first = preload(socket, f"oci:{layout}")
        assert not first.get("failed"), first.get("msg")
        assert first["runtime"] == "docker" and first["imported"] == len(image_set["refs"])
        for image in first["images"]:
            assert all("@" not in n for n in image["names"])
            for name in image["names"]:
                assert client.inspect_image(name)["Id"] == image["config"]
        second = preload(socket, f"oci:{layout}")
        assert not second["changed"] and second["unchanged"] == len(image_set["refs"]) and second["bytes_moved"] == 0
    finally:
        for image in first.get("images", []):
            for name in image["names"]:
                client.remove_image(name, force=True)
        client.close()


def test_docker_archive_source(node, image_set, tmp_path):
    archive = tmp_path / "images.tar"
    ref = sorted(image_set["refs"])[0]
    written = run_module("image_copy", {"images": [f"oci:{image_set['path']}:{ref}"], "destination": f"docker-archive:{archive}",
                                        "platforms": ["linux/amd64"]})
    assert not written.get("failed"), written.get("msg")
    result = preload(node.socket, f"docker-archive:{archive}")
    assert not result.get("failed"), result.get("msg")
    (image,) = result["images"]
    assert image["action"] == "imported" and node.targets()[image["names"][0]] == image["digest"]
    assert not preload(node.socket, f"docker-archive:{archive}")["changed"]


def start_module(name, args):
    """The module in its own process group, as Ansible runs it, so a test can kill it and its ctr together."""
    payload = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"preload-args-{os.getpid()}.json")
    with open(payload, "w", encoding="utf-8") as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, handle)
    return subprocess.Popen([sys.executable, "-m", f"ansible_collections.airlock.airgap.plugins.modules.{name}", payload],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def wait_for(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_preload_role_ships_each_node_only_what_it_lacks_in_batches(nodes, testbed, image_set, tmp_path):
    import docker  # pylint: disable=import-outside-toplevel

    for node in nodes:
        node.clear()
    client = docker.APIClient(base_url=testbed.docker_host)
    for held in client.images(all=True):
        client.remove_image(held["Id"], force=True)
    inventory = tmp_path / "inventory.ini"
    inventory.write_text(
        "[nodes]\n"
        f"node-a preload_socket={nodes[0].socket}\n"
        f"node-b preload_socket={nodes[1].socket} preload_platform=linux/arm64/v8\n"
        f"node-docker preload_socket={testbed.docker_host[len('unix://'):]} preload_runtime=docker\n"
        "[nodes:vars]\n"
        f"ansible_connection=local\nansible_python_interpreter={sys.executable}\n", encoding="utf-8")
    multiarch = [f"docker.io/{ref}" for ref, (_d, per) in layout_images(image_set["path"]).items() if len(per) > 1]
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".cache", "collections"), ANSIBLE_STDOUT_CALLBACK="default")
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(inventory),
            os.path.join(REPO, "playbooks", "preload.yml"), "-e", "preload_batch=2",
            "-e", json.dumps({"preload_bundle_images": image_set["path"], "preload_images": multiarch, "preload_mirror": MIRROR,
                              "preload_controller_dir": str(tmp_path / "exports")})]
    try:
        check = subprocess.run(argv + ["--check"], env=env, capture_output=True, text=True, timeout=600, check=False)
        assert check.returncode == 0, check.stdout[-4000:] + check.stderr[-2000:]
        assert f"node-a (check mode: would be): imported {len(multiarch)}, tagged 0, unchanged 0" in " ".join(check.stdout.split())
        assert not nodes[0].targets() and not client.images(all=True), "check mode changes no node"

        first = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600, check=False)
        assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-2000:]
        assert first.stdout.count("PLAY [Preload images on the nodes]") == 2, "serial=2 runs the three nodes in two batches"
        for host in ("node-a", "node-b", "node-docker"):
            assert f"{host}: imported {len(multiarch)}, tagged 0, unchanged 0" in " ".join(first.stdout.split()), host
        per_platform = {ref: per for ref, (_d, per) in layout_images(image_set["path"]).items() if len(per) > 1}
        assert all(per["linux/arm64/v8"] in nodes[1].blobs() and per["linux/amd64"] not in nodes[1].blobs() for per in per_platform.values())
        assert not os.listdir(tmp_path / "exports"), "the controller's exports are removed"
        assert not [p for p in os.listdir("/var/tmp") if p.startswith("airlock-preload-node-")], "the nodes' copies are removed"

        second = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600, check=False)
        assert second.returncode == 0, second.stdout[-4000:]
        for host in ("node-a", "node-b", "node-docker"):
            recap = next(line for line in second.stdout.splitlines() if line.startswith(host) and "ok=" in line)
            assert "changed=0" in recap, recap
            assert f"{host}: imported 0, tagged 0, unchanged {len(multiarch)}" in " ".join(second.stdout.split()), host
    finally:
        for held in client.images(all=True):
            client.remove_image(held["Id"], force=True)
        client.close()


def test_preload_role_sends_one_stream_to_a_sealed_enclave_node_over_ssh(sealed_enclave, image_set, tmp_path):
    node = sealed_enclave.node("n1")
    ctr = Node(node["home"], node["socket"], None)
    before = set(ctr.targets())
    wanted = [f"docker.io/{ref}" for ref in sorted(image_set["refs"])]
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".cache", "collections"), ANSIBLE_STDOUT_CALLBACK="default",
               ANSIBLE_HOST_KEY_CHECKING="True")
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", sealed_enclave.inventory, "-l", "n1",
            os.path.join(REPO, "playbooks", "preload.yml"),
            "-e", json.dumps({"preload_bundle_images": image_set["path"], "preload_images": wanted, "preload_mirror": MIRROR,
                              "preload_controller_dir": str(tmp_path / "exports"), "preload_node_dir": str(tmp_path / "on-n1")})]
    try:
        first = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=900, check=False)
        assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-2000:]
        assert f"n1: imported {len(wanted)}, tagged 0, unchanged 0" in " ".join(first.stdout.split())
        assert all(ctr.targets()[name] for name in wanted)
        assert not os.listdir(tmp_path / "exports") and not (tmp_path / "on-n1").exists(), "the archive and the node's copy are removed"

        second = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=900, check=False)
        recap = next(line for line in second.stdout.splitlines() if line.startswith("n1") and "ok=" in line)
        assert second.returncode == 0 and "changed=0" in recap, second.stdout[-4000:]
        sending = second.stdout.split("TASK [airlock.airgap.preload : Send it to the node in one stream")[1].split("TASK [")[0]
        assert "skipping: [n1]" in sending, "nothing travels on a second run"
    finally:
        added = sorted(set(ctr.targets()) - before)
        if added:
            ctr.ctr("images", "rm", "--sync", *added)
