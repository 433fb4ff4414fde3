"""Fixtures for integration tests: a generated image set pushed to the public registry."""

import collections
import os
import shutil
import sys

import pytest

# The prepare and enclave jobs through ansible-runner, shared by the AWX and the transfer report tests.
# pylint: disable-next=unused-import
from awx_jobs import awx_jobs  # noqa: F401
from module_runner import run_module

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "bench"))
# Every ansible-playbook a test starts reads the tests' settings (fewer SSH round trips, less polling CPU).
os.environ.setdefault("ANSIBLE_CONFIG", os.path.join(REPO, "tests", "ansible.cfg"))

import imageset  # noqa: E402  pylint: disable=wrong-import-position


# The files that take minutes, longest first (the --durations of a CI run). tests/run turns off
# xdist's reordering by test count, so under --dist loadfile these start at once on different
# workers instead of meeting at the tail of one.
LONGEST_FILES = (
    "test_demo.py", "test_examples.py", "test_roles_receive_publish.py", "test_toolchain.py", "test_awx.py",
    "test_role_prepare.py", "test_module_contracts.py", "test_image_preload.py", "test_roles_deploy_validate.py",
    "test_model_cache.py",
)


def pytest_collection_modifyitems(items):
    """Longest files first; the sort is stable, so each file keeps its own order."""
    def rank(item):
        name = item.path.name
        return LONGEST_FILES.index(name) if name in LONGEST_FILES else len(LONGEST_FILES)
    items.sort(key=rank)


# Each phase's CPU seconds (this process and the children it waited for: ansible-playbook, modules, clients; not the
# testbed's daemons), carried to xdist's controller in the reports: on 2 cores the suite is CPU-bound, and wall times
# under that load say more about the neighbours than about the test. Printed beside --durations.
CPU_SECONDS = pytest.StashKey[dict]()


def _cpu_seconds():
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def _spending(item, when):
    """The body of the three phase wrappers below: the phase's CPU seconds, kept for its report."""
    started = _cpu_seconds()
    yield
    item.stash.setdefault(CPU_SECONDS, {})[when] = _cpu_seconds() - started


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    yield from _spending(item, "setup")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    yield from _spending(item, "call")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item):
    yield from _spending(item, "teardown")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    report = (yield).get_result()
    spent = item.stash.get(CPU_SECONDS, {}).get(call.when)
    if spent is not None:
        report.user_properties.append(("cpu_seconds", round(spent, 2)))


def pytest_terminal_summary(terminalreporter):
    """The 20 test phases and the 10 files that spent the most CPU, and the sum over the run."""
    spent = [(value, report.when, report.nodeid) for reports in terminalreporter.stats.values() for report in reports
             for key, value in getattr(report, "user_properties", ()) if key == "cpu_seconds"]
    if not spent:
        return
    by_file = collections.Counter()
    for seconds, _when, nodeid in spent:
        by_file[nodeid.split("::")[0]] += seconds
    terminalreporter.write_sep("=", f"most CPU: {sum(by_file.values()):.0f} CPU s in all test phases (a session fixture's "
                                    "daemons count in the teardown of its worker's last test)")
    for seconds, when, nodeid in sorted(spent, reverse=True)[:20]:
        terminalreporter.write_line(f"{seconds:8.2f}s {when:8} {nodeid}")
    for name, seconds in by_file.most_common(10):
        terminalreporter.write_line(f"{seconds:8.2f}s file     {name}")


@pytest.fixture(scope="session")
def image_set(tmp_path_factory):
    """The tiny preset as an OCI layout: multi-arch indexes, shared layers, real tar+gzip."""
    out = tmp_path_factory.mktemp("imageset") / "layout"
    settings = dict(imageset.PRESETS["tiny"])
    summary = imageset.generate(str(out), **settings)
    return {"path": str(out), "summary": summary, "refs": sorted(imageset.ref_names(str(out)))}


@pytest.fixture(scope="session")
def public_images(testbed, image_set):
    """The image set pushed to the public registry under bench/…, by our own module."""
    result = run_module("image_copy", {
        "images": [f"oci:{image_set['path']}"],
        "destination": f"docker://{testbed.public_registry}",
        "registries": [{"host": testbed.public_registry, "insecure": True}],
    })
    assert not result.get("failed"), result.get("msg")
    return [f"{testbed.public_registry}/{ref}" for ref in image_set["refs"]]


@pytest.fixture
def private_registry_settings(testbed):
    return {"host": testbed.private_registry, "username": testbed.private_user,
            "password": testbed.private_password, "ca_file": testbed.private_ca}


@pytest.fixture
def scratch_layout(tmp_path):
    path = tmp_path / "bundle-images"
    yield str(path)
    shutil.rmtree(path, ignore_errors=True)
