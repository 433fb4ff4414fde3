"""The testbed's containerd and dockerd import real docker-archives."""

import subprocess

import docker
import pytest

from tiny_image import build, docker_archive

pytestmark = pytest.mark.testbed


def test_ctr_imports_a_docker_archive_into_k8s_namespace(testbed, tmp_path):
    image = build("containerd\n")
    archive = tmp_path / "smoke.tar"
    archive.write_bytes(docker_archive(image, "example.invalid/smoke/ctr:v1"))
    ctr = [testbed.ctr, "--address", testbed.containerd_socket, "--namespace", "k8s.io"]
    subprocess.run([*ctr, "images", "import", str(archive)], check=True, capture_output=True)
    listed = subprocess.run([*ctr, "images", "list"], check=True, capture_output=True, text=True).stdout
    line = next(row for row in listed.splitlines() if row.startswith("example.invalid/smoke/ctr:v1"))
    assert "application/vnd.docker.distribution.manifest.v2+json" in line or "sha256:" in line
    subprocess.run([*ctr, "images", "remove", "example.invalid/smoke/ctr:v1"], check=True,
                   capture_output=True)


def test_dockerd_loads_a_docker_archive_through_the_sdk(testbed):
    image = build("docker\n")
    client = docker.DockerClient(base_url=testbed.docker_host, timeout=60)
    try:
        loaded = client.images.load(docker_archive(image, "example.invalid/smoke/docker:v1"))
        assert [img.id for img in loaded] == [image.config_digest]
        assert client.images.get("example.invalid/smoke/docker:v1").id == image.config_digest
        client.images.remove("example.invalid/smoke/docker:v1")
    finally:
        client.close()
