"""The preload role's transfer to a node beside `tar c | ssh node tar x`, on a sealed-enclave SSH node, in one run.

The preload role writes each node's export as one archive on the controller (image_preload
state=exported, format=archive) and sends it with image_preload state=received: one stream by the
connection's own file transfer over the SSH connection Ansible holds, unpacked on the node with
every blob verified. This runs that task with `ansible-playbook` against node n1 of the sealed
enclave (tests/testbed/enclave.py: a real sshd in its own network namespace, reached through the
enclave's veth link), and beside it the shell pipe `tar c DIR | ssh node tar x -C DEST` of the same
export as a layout directory (the same bytes). The payload is the node's export of an image set
(--preset), for linux/amd64, against a node that holds nothing. Every run starts with the node's
destination gone; the order alternates between runs. The playbook figure includes Ansible's
start-up, so an empty play against the same node (one `ping`) is timed too and subtracted for the
transfer's own throughput. Writing the export on the controller is timed on its own line.
Target: the role's transfer at >= 80% of the pipe's throughput.

The enclave is the one AIRLOCK_ENCLAVE_DIR names (started when it is not running, and then stopped
at the end).

Usage: python bench/bench_preload_transfer.py [--preset small] [--runs 3] [--work DIR] [--json FILE]
"""

import argparse
import json
import os
import shlex
import shutil
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(REPO, "bench"), os.path.join(REPO, "tests"), os.path.join(REPO, ".cache", "collections")]

import imageset  # noqa: E402  pylint: disable=wrong-import-position
import measure  # noqa: E402  pylint: disable=wrong-import-position
from testbed import enclave  # noqa: E402  pylint: disable=wrong-import-position

NODE = "n1"
EMPTY_CONTAINERD = {"kind": "containerd", "socket": "/run/containerd/containerd.sock", "targets": {}, "blobs": [], "snapshots": [],
                    "platform": "linux/amd64"}


def playbook(sealed, work, tasks):
    """Run tasks against the enclave node over SSH, as the preload role's play does."""
    play = os.path.join(work, "transfer-play.json")
    with open(play, "w", encoding="utf-8") as handle:
        json.dump([{"hosts": NODE, "gather_facts": False, "tasks": tasks}], handle)
    measure.run_quietly([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", sealed.inventory, play],
                        env=dict(measure.module_env(), ANSIBLE_HOST_KEY_CHECKING="True"))


def write_exports(layout, work, runs):
    """The node's export of every image in the set, as the role's archive and as a layout directory (the pipe's payload)."""
    archive, directory = os.path.join(work, "export.tar"), os.path.join(work, "export")
    common = {"state": "exported", "source": f"oci:{layout}", "inventory": EMPTY_CONTAINERD, "platform": "linux/amd64"}
    measure.module("image_preload", dict(common, dest=directory), work)
    timed = measure.compare([measure.Tool("export as one archive (module process, controller)", lambda: measure.module(
        "image_preload", dict(common, dest=archive, format="archive"), work))], runs)
    return archive, directory, timed


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="small", choices=sorted(imageset.PRESETS))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "airlock-bench-transfer"))
    parser.add_argument("--json", help="write every sample here")
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    layout = os.path.join(args.work, f"set-{args.preset}")
    imageset.generate(layout, **imageset.PRESETS[args.preset])
    archive, directory, export_samples = write_exports(layout, args.work, args.runs)
    size = sum(os.path.getsize(os.path.join(folder, name)) for folder, _dirs, names in os.walk(directory) for name in names)
    state_dir = enclave.default_dir()
    was_running = bool(enclave.load(state_dir)) and enclave.is_alive(enclave.load(state_dir))
    sealed = enclave.Sealed.from_state(enclave.up(state_dir, log=measure.progress))
    node = sealed.node(NODE)
    destination = f"/var/tmp/airlock-bench-transfer-{NODE}"
    ssh = ["ssh", "-i", sealed.ssh_key, "-o", f"UserKnownHostsFile={sealed.known_hosts}", "-o", "StrictHostKeyChecking=yes",
           "-o", "BatchMode=yes", f"root@{node['address']}"]

    def fresh():
        shutil.rmtree(destination, ignore_errors=True)  # the node shares this machine's file system
    print(f"{args.preset} set, the node's linux/amd64 export: {size / 1e6:.0f} MB; node {NODE} at {node['address']} over SSH; "
          f"load {measure.load_average():.2f}")
    try:
        samples = measure.compare([
            measure.Tool("tar c | ssh node tar x", lambda: measure.run_quietly(
                ["bash", "-o", "pipefail", "-c", f"tar -C {directory} -cf - . | "
                 f"{shlex.join(ssh + [f'mkdir -p {destination} && tar -C {destination} -xf -'])}"]), fresh),
            measure.Tool("preload role transfer (ansible-playbook)", lambda: playbook(sealed, args.work, [
                {"airlock.airgap.image_preload": {"state": "received", "archive": archive, "dest": destination}}]), fresh),
            measure.Tool("empty play on the node (ansible-playbook)", lambda: playbook(sealed, args.work, [{"ansible.builtin.ping": {}}])),
        ], args.runs)
    finally:
        fresh()
        if not was_running:
            enclave.down(state_dir)
    measure.table("writing the node's export on the controller", export_samples, size)
    found = measure.table(f"transfer of one export to a sealed-enclave node over SSH ({NODE})", samples, size, "tar c | ssh node tar x")
    pipe = size / found["tar c | ssh node tar x"]["wall"]
    net = found["preload role transfer (ansible-playbook)"]["wall"] - found["empty play on the node (ansible-playbook)"]["wall"]
    role = size / net if net > 0 else float("inf")
    share = role / pipe
    print(f"throughput: pipe {pipe / 1e6:.0f} MB/s, the role's transfer {role / 1e6:.0f} MB/s without Ansible's start-up "
          f"({share:.0%}); target >= 80% -> {'met' if share >= 0.8 else 'MISSED'}")
    measure.write_report(args.json, {"bytes": size, "export": export_samples, "samples": samples})


if __name__ == "__main__":
    main()
