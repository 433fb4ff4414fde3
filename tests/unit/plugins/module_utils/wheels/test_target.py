"""The target check that keeps the downloading host's wheels out of another platform's bundle."""

import pytest

from ansible_collections.airlock.airgap.plugins.module_utils.wheels import download
from ansible_collections.airlock.airgap.plugins.module_utils.wheels.target import Target, TargetError, expand

AARCH64 = Target(("manylinux2014_aarch64",))


def test_manylinux2014_accepts_older_glibc_tags_of_its_architecture_only():
    tags = expand("manylinux2014_aarch64")
    assert {"manylinux_2_17_aarch64", "manylinux_2_5_aarch64", "manylinux1_aarch64"} <= set(tags)
    assert "manylinux_2_28_aarch64" not in tags and not any("x86_64" in tag for tag in tags)


@pytest.mark.parametrize("name", [
    "zstandard-0.25.0-cp311-cp311-manylinux2014_aarch64.manylinux_2_17_aarch64.whl",
    "idna-3.20-py3-none-any.whl",
    "cryptography-46.0.0-cp311-abi3-manylinux_2_17_aarch64.whl",
])
def test_wheels_that_install_on_the_target_pass(name):
    AARCH64.check_wheel(name)


@pytest.mark.parametrize("name", [
    "zstandard-0.25.0-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.whl",
    "zstandard-0.25.0-cp312-cp312-manylinux2014_aarch64.whl",
    "numpy-2.3.0-cp311-cp311-manylinux_2_28_aarch64.whl",
    "not-a-wheel.whl",
])
def test_wheels_for_another_machine_or_python_are_refused(name):
    with pytest.raises(TargetError):
        AARCH64.check_wheel(name)


def test_a_target_needs_platform_tags_and_a_python_version():
    with pytest.raises(TargetError):
        Target(())
    with pytest.raises(TargetError):
        Target(("linux/arm64",))
    with pytest.raises(TargetError):
        Target(("manylinux2014_x86_64",), python_version="311")


def test_requirements_pin_every_file_by_hash_and_the_index_links_them(tmp_path):
    records = [{"file": "a_b-1.0-py3-none-any.whl", "project": "a-b", "version": "1.0", "kind": "wheel", "sha256": "1" * 64, "size": 1},
               {"file": "a_b-1.0.tar.gz", "project": "a-b", "version": "1.0", "kind": "sdist", "sha256": "0" * 64, "size": 1}]
    assert download.render_requirements(records) == f"a-b==1.0 --hash=sha256:{'0' * 64} --hash=sha256:{'1' * 64}\n"
    assert download.write_index(str(tmp_path), records)
    assert f'href="../../a_b-1.0-py3-none-any.whl#sha256={"1" * 64}"' in (tmp_path / "simple" / "a-b" / "index.html").read_text()
    assert not download.write_index(str(tmp_path), records)
