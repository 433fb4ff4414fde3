"""image_copy with sources: an image named on its canonical registry is fetched through the proxy or mirror standing for it.

The canonical registries here are never reachable: `registry.example.invalid` cannot resolve, and the module runs in
this process with name resolution recorded and refused beyond loopback, so every host it tried to reach is known and
no packet leaves the machine. The testbed's plain-HTTP public registry plays the pull-through proxy.
"""

import contextlib
import importlib
import io
import json
import os
import socket
import uuid

import pytest

from ansible.module_utils.testing import patch_module_args
from module_runner import run_module

CANONICAL = "registry.example.invalid"
LOOPBACK = ("localhost", "::1")


class ResolvedHosts(list):
    """Every host name the module resolved; anything beyond loopback is refused after it is recorded."""

    def guard(self, original):
        def resolve(host, *args, **kwargs):
            name = host.decode() if isinstance(host, bytes) else str(host)
            self.append(name)
            if name not in LOOPBACK and not name.startswith("127."):
                raise socket.gaierror(socket.EAI_NONAME, f"test guard: {name} is not loopback")
            return original(host, *args, **kwargs)
        return resolve


@pytest.fixture
def copy_in_process(monkeypatch):
    """Run image_copy in this process as Ansible would; returns (result, hosts it resolved)."""
    module = importlib.import_module("ansible_collections.airlock.airgap.plugins.modules.image_copy")

    def run(args, check_mode=False):
        hosts = ResolvedHosts()
        monkeypatch.setattr(socket, "getaddrinfo", hosts.guard(socket.getaddrinfo))
        output = io.StringIO()
        with patch_module_args(dict(args, _ansible_check_mode=check_mode)), contextlib.redirect_stdout(output), pytest.raises(SystemExit):
            module.main()
        monkeypatch.undo()
        return json.loads(output.getvalue()), hosts
    return run


def layout_names(path):
    with open(os.path.join(path, "index.json"), encoding="utf-8") as handle:
        return {d["annotations"]["org.opencontainers.image.ref.name"]: d["digest"] for d in json.load(handle)["manifests"]}


def test_images_come_through_the_via_and_keep_their_canonical_name_in_layout_lock_and_result(
        testbed, image_set, public_images, copy_in_process, tmp_path):
    canonical = [f"{CANONICAL}/{ref}" for ref in image_set["refs"]]
    bundle = tmp_path / "bundle"
    arguments = {"images": canonical, "destination": f"oci:{bundle}/images", "lock_file": f"{bundle}/airlock.lock.json",
                 "sources": [{"registry": CANONICAL, "via": testbed.public_registry}],
                 "registries": [{"host": testbed.public_registry, "insecure": True}]}
    first, hosts = copy_in_process(arguments)
    assert first["changed"] and not first.get("failed"), first.get("msg")
    assert CANONICAL not in hosts and set(hosts) <= {"127.0.0.1"}, hosts

    published = layout_names(image_set["path"])
    assert [(image["source"], image["via"]) for image in first["images"]] == [
        (f"{CANONICAL}/{ref}", f"{testbed.public_registry}/{ref}") for ref in image_set["refs"]]
    assert layout_names(str(bundle / "images")) == {f"{CANONICAL}/{ref}": published[ref] for ref in image_set["refs"]}
    with open(bundle / "airlock.lock.json", encoding="utf-8") as handle:
        locked = {entry["source"]: entry["digest"] for entry in json.load(handle)["images"]}
    assert locked == {f"{CANONICAL}/{ref}": published[ref] for ref in image_set["refs"]}

    again, hosts = copy_in_process(arguments)
    assert again["changed"] is False and not again.get("failed"), again.get("msg")
    assert CANONICAL not in hosts and again["requests"] == 1 + len(canonical)  # to the via: its /v2/ once, a HEAD per image


def test_docker_hub_names_come_through_a_mirror_path_and_reach_the_enclave_under_their_own_path(
        testbed, image_set, public_images, copy_in_process, tmp_path, private_registry_settings):
    """`img00:v1` is docker.io/library/img00:v1, served by the mirror under PREFIX/library/, as a proxy for Docker Hub serves it."""
    hub = f"hub-{uuid.uuid4().hex[:8]}"  # the testbed may be reused: a path of its own
    public = {"host": testbed.public_registry, "insecure": True}
    ref = image_set["refs"][0]
    short = ref.split("/", 1)[1]
    mirrored = run_module("image_copy", {"images": [{"source": f"oci:{image_set['path']}:{ref}",
                                                     "destination": f"docker://{testbed.public_registry}/{hub}/library/{short}"}],
                                         "registries": [public]})
    assert not mirrored.get("failed"), mirrored.get("msg")

    layout = tmp_path / "images"
    fetched, hosts = copy_in_process({"images": [short], "destination": f"oci:{layout}", "registries": [public],
                                      "sources": [{"registry": "index.docker.io", "via": f"{testbed.public_registry}/{hub}/"}]})
    assert not fetched.get("failed"), fetched.get("msg")
    assert not [host for host in hosts if "docker" in host], hosts
    assert fetched["images"][0]["source"] == f"docker.io/library/{short}"
    assert fetched["images"][0]["via"] == f"{testbed.public_registry}/{hub}/library/{short}"
    assert list(layout_names(str(layout))) == [f"docker.io/library/{short}"]

    mirror = f"mirror-{uuid.uuid4().hex[:8]}"
    pushed = run_module("image_copy", {"images": [f"oci:{layout}"], "destination": f"docker://{testbed.private_registry}/{mirror}",
                                       "registries": [private_registry_settings]})
    assert not pushed.get("failed"), pushed.get("msg")
    assert pushed["images"][0]["destination"] == f"{testbed.private_registry}/{mirror}/library/{short}"
    assert pushed["images"][0]["digest"] == fetched["images"][0]["digest"] == mirrored["images"][0]["digest"]


def test_check_mode_through_a_via_writes_nothing(testbed, image_set, public_images, copy_in_process, tmp_path):
    result, hosts = copy_in_process({"images": [f"{CANONICAL}/{image_set['refs'][0]}"], "destination": f"oci:{tmp_path}/bundle/images",
                                     "lock_file": f"{tmp_path}/bundle/airlock.lock.json", "sources": [{"registry": CANONICAL, "via": testbed.public_registry}],
                                     "registries": [{"host": testbed.public_registry, "insecure": True}]}, check_mode=True)
    assert result["changed"] and not result.get("failed") and result["images"][0]["bytes_copied"] > 0, result.get("msg")
    assert CANONICAL not in hosts
    assert not list(tmp_path.iterdir())


def test_a_missing_image_names_its_canonical_reference_and_what_was_fetched(testbed, public_images, copy_in_process, tmp_path):
    result, hosts = copy_in_process({"images": [f"{CANONICAL}/bench/absent:v9"], "destination": f"oci:{tmp_path}/images",
                                     "sources": [{"registry": CANONICAL, "via": f"{testbed.public_registry}/nowhere"}],
                                     "registries": [{"host": testbed.public_registry, "insecure": True}], "retries": 1})
    assert result["failed"] and CANONICAL not in hosts
    assert f"{CANONICAL}/bench/absent:v9 (fetched as {testbed.public_registry}/nowhere/bench/absent:v9) not found" in result["msg"]


def test_signature_tags_come_through_the_via_under_the_canonical_name(testbed, image_set, public_images, copy_in_process, tmp_path):
    from distribution import Registry  # pylint: disable=import-outside-toplevel
    from tiny_image import build  # pylint: disable=import-outside-toplevel

    repository = f"bench/signed-{uuid.uuid4().hex[:8]}"
    image = build("an image with a signature\n")
    Registry(testbed.public_registry).push_image(repository, "v1", image)
    signature_tag = f"sha256-{image.manifest_digest.split(':')[1]}.sig"
    signature = build("its signature\n")
    Registry(testbed.public_registry).push_image(repository, signature_tag, signature)

    result, hosts = copy_in_process({"images": [f"{CANONICAL}/{repository}:v1"], "destination": f"oci:{tmp_path}/images",
                                     "include_signatures": True, "sources": [{"registry": CANONICAL, "via": testbed.public_registry}],
                                     "registries": [{"host": testbed.public_registry, "insecure": True}]})
    assert not result.get("failed"), result.get("msg")
    assert CANONICAL not in hosts
    assert result["images"][0]["signatures"] == [{"tag": signature_tag, "digest": signature.manifest_digest, "changed": True}]
    assert set(layout_names(str(tmp_path / "images"))) == {f"{CANONICAL}/{repository}:v1", f"{CANONICAL}/{repository}:{signature_tag}"}


@pytest.mark.parametrize("sources, expected", [
    ([{"registry": "docker.io", "via": "http://proxy.example:5000"}], "sources[0].via is 'http://proxy.example:5000': give HOST[:PORT][/PREFIX]"),
    ([{"registry": "docker.io", "via": "dockerhub"}], "sources[0].via is 'dockerhub'"),
    ([{"registry": "docker.io/library", "via": "proxy.example:5000"}], "sources[0].registry is 'docker.io/library': give the registry"),
    ([{"registry": "quay", "via": "proxy.example:5000"}], "sources[0].registry is 'quay'"),
    ([{"registry": "docker.io", "via": "a.example"}, {"registry": "index.docker.io", "via": "b.example"}],
     "sources[1].registry docker.io is named twice"),
    ([{"registry": "", "via": "proxy.example:5000"}], "sources[0].registry must be a registry host such as docker.io or ghcr.io, not an empty string"),
    ([{"registry": "docker.io", "via": "proxy.example:5000/Upper"}], "sources[0].via is 'proxy.example:5000/Upper'"),
    ([{"registry": "docker.io", "via": "x" * 5000}], "sources[0].via is 'xxxxxxxx"),
])
def test_sources_that_cannot_be_used_are_refused_naming_the_key(sources, expected, tmp_path):
    result = run_module("image_copy", {"images": ["nats:2.12.6-alpine"], "destination": f"oci:{tmp_path}/images", "sources": sources})
    assert result["failed"] and expected in result["msg"] and len(result["msg"]) < 600, result["msg"]
    assert "Traceback" not in result["_stderr"]
    assert not list(tmp_path.iterdir())
