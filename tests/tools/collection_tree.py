"""Place the checkout where Ansible tooling insists on finding it.

ansible-test only runs from .../ansible_collections/airlock/airgap, and the collection's
dependencies must sit under the same ansible_collections/ root. `link` makes a symlinked
tree for pytest and ansible-lint; `copy` makes a real copy (ansible-test resolves the
working directory, so a symlink will not do). Dependencies named in requirements.yml are
taken from the `ansible` package on PyPI, the one package registry these machines reach.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

import yaml
from ansible.galaxy.dependency_resolution.versioning import meets_requirements

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ANSIBLE_PACKAGE = "ansible>=12,<13"  # the community bundle built for ansible-core 2.19
NAMESPACE, NAME = "airlock", "airgap"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=("link", "copy"))
    parser.add_argument("root", help="directory that will hold ansible_collections/")
    parser.add_argument("--deps-cache", default=os.path.join(REPO, ".cache", "collection-deps"))
    args = parser.parse_args()
    collections = os.path.join(os.path.abspath(args.root), "ansible_collections")
    target = os.path.join(collections, NAMESPACE, NAME)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    remove_path(target)
    if args.mode == "link":
        os.symlink(REPO, target)
    else:
        copy_checkout(target)
    for namespace, name in required_collections():
        link_dependency(collections, args.deps_cache, namespace, name)
    print(target)


def remove_path(path):
    if os.path.islink(path) or os.path.isfile(path):
        os.unlink(path)
    elif os.path.isdir(path):
        shutil.rmtree(path)


def required_collections():
    with open(os.path.join(REPO, "requirements.yml"), encoding="utf-8") as handle:
        listed = yaml.safe_load(handle)["collections"]
    return [(entry["name"].split(".")[0], entry["name"].split(".")[1]) for entry in listed]


def requirement_of(namespace, name):
    with open(os.path.join(REPO, "galaxy.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)["dependencies"][f"{namespace}.{name}"]


def copy_checkout(target):
    """Copy what git would ship (tracked and new, never ignored) — no venv, no caches."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, check=True, capture_output=True,
    ).stdout.decode().split("\0")
    for relative in filter(None, listed):
        source = os.path.join(REPO, relative)
        if not os.path.lexists(source):
            continue  # deleted in the work tree, not yet committed
        destination = os.path.join(target, relative)
        os.makedirs(os.path.dirname(destination), exist_ok=True)
        shutil.copy2(source, destination, follow_symlinks=False)


def link_dependency(collections, deps_cache, namespace, name):
    cached = os.path.join(deps_cache, "ansible_collections", namespace, name)
    if not os.path.isdir(cached):
        extract_from_ansible_package(deps_cache, namespace, name)
    with open(os.path.join(cached, "MANIFEST.json"), encoding="utf-8") as handle:
        version = json.load(handle)["collection_info"]["version"]
    wanted = requirement_of(namespace, name)
    if not meets_requirements(version, wanted):
        sys.exit(f"{namespace}.{name} {version} from {ANSIBLE_PACKAGE} does not meet {wanted!r}")
    link = os.path.join(collections, namespace, name)
    os.makedirs(os.path.dirname(link), exist_ok=True)
    remove_path(link)
    os.symlink(cached, link)


def extract_from_ansible_package(deps_cache, namespace, name):
    prefix = f"ansible_collections/{namespace}/{name}/"
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", scratch,
                        ANSIBLE_PACKAGE], check=True)
        wheel_path = next(os.path.join(scratch, n) for n in os.listdir(scratch) if n.endswith(".whl"))
        os.makedirs(deps_cache, exist_ok=True)
        staging = tempfile.mkdtemp(dir=deps_cache)
        with zipfile.ZipFile(wheel_path) as wheel:
            wheel.extractall(staging, [m for m in wheel.namelist() if m.startswith(prefix)])
    final = os.path.join(deps_cache, prefix)
    os.makedirs(os.path.dirname(final.rstrip("/")), exist_ok=True)
    os.replace(os.path.join(staging, prefix), final)
    shutil.rmtree(staging)


if __name__ == "__main__":
    main()
