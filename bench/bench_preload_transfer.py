"""The preload role's transfer to a node beside `tar c | ssh node tar x`, over the same loopback SSH link, in one run.

The preload role ships each node's export as one tar, packed on the controller and sent by
`ansible.builtin.unarchive` over the connection Ansible already has (roles/preload). This runs
those same tasks with `ansible-playbook` against a node reached by SSH (an sshd of the bench's own
on 127.0.0.1, key login), and beside them the shell pipe `tar c DIR | ssh node tar x -C DEST`.
The payload is an image set's OCI layout (--preset). Every run starts with the destination gone;
the order alternates between runs. The playbook figure includes Ansible's start-up, so an empty
play against the same node (one `ping`) is timed too and subtracted for the transfer's own throughput.
Target: the role's transfer at >= 80% of the pipe's throughput.

Usage: python bench/bench_preload_transfer.py [--preset small] [--runs 3] [--work DIR] [--json FILE]
Needs OpenSSH's sshd and ssh.
"""

import argparse
import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(REPO, "bench"), os.path.join(REPO, ".cache", "collections")]

import imageset  # noqa: E402  pylint: disable=wrong-import-position
import measure  # noqa: E402  pylint: disable=wrong-import-position

SSHD_CONFIG = """Port {port}
ListenAddress 127.0.0.1
HostKey {home}/host_key
PidFile {home}/sshd.pid
AuthorizedKeysFile {home}/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
StrictModes no
UsePAM no
Subsystem sftp /usr/lib/openssh/sftp-server
"""


class Node:
    """An sshd of the bench's own on a free loopback port, accepting one key: the node."""

    def __init__(self, home):
        self.home, self.process, self.port = home, None, None

    def start(self):
        os.makedirs(self.home, exist_ok=True)
        for key in ("host_key", "client_key"):
            if not os.path.exists(os.path.join(self.home, key)):
                measure.run_quietly(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", os.path.join(self.home, key)])
        shutil.copy(os.path.join(self.home, "client_key.pub"), os.path.join(self.home, "authorized_keys"))
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        config = os.path.join(self.home, "sshd_config")
        with open(config, "w", encoding="utf-8") as handle:
            handle.write(SSHD_CONFIG.format(port=self.port, home=self.home))
        os.makedirs("/run/sshd", exist_ok=True)  # sshd's privilege separation folder
        self.process = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", config],  # pylint: disable=consider-using-with
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _attempt in range(100):
            if subprocess.run(self.ssh("true"), capture_output=True, check=False).returncode == 0:
                return self
            time.sleep(0.1)
        raise RuntimeError(f"sshd on 127.0.0.1:{self.port} did not accept the bench's key")

    def ssh(self, *command):
        return ["ssh", *self.options(), "-p", str(self.port), "root@127.0.0.1", *command]

    def options(self):
        return ["-i", os.path.join(self.home, "client_key"), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "BatchMode=yes", "-o", "LogLevel=ERROR"]

    def stop(self):
        if self.process:
            self.process.terminate()
            self.process.wait()
            self.process = None


def playbook(node, work, tasks):
    """Run tasks against the node over SSH, as the preload role's play does."""
    inventory = os.path.join(work, "inventory.json")
    with open(inventory, "w", encoding="utf-8") as handle:
        json.dump({"all": {"hosts": {"node": {
            "ansible_host": "127.0.0.1", "ansible_port": node.port, "ansible_user": "root", "ansible_connection": "ssh",
            "ansible_ssh_private_key_file": os.path.join(node.home, "client_key"),
            "ansible_ssh_common_args": " ".join(node.options()[2:]), "ansible_python_interpreter": sys.executable}}}}, handle)
    play = os.path.join(work, "transfer-play.json")
    with open(play, "w", encoding="utf-8") as handle:
        json.dump([{"hosts": "node", "gather_facts": False, "tasks": tasks}], handle)
    measure.run_quietly([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory, play],
                        env=dict(measure.module_env(), ANSIBLE_HOST_KEY_CHECKING="False"))


def role_transfer_tasks(source, archive, destination):
    """The preload role's three transfer tasks (roles/preload/tasks/main.yml), on this payload."""
    return [
        {"name": "Pack it into one archive, on the controller", "delegate_to": "localhost", "changed_when": True,
         "ansible.builtin.command": {"argv": ["tar", "-C", source, "-cf", archive, "."]}},
        {"name": "Make the folder on the node", "ansible.builtin.file": {"path": destination, "state": "directory", "mode": "0755"}},
        {"name": "Send it to the node in one stream and unpack it there", "ansible.builtin.unarchive": {"src": archive, "dest": destination}},
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="small", choices=sorted(imageset.PRESETS))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "airlock-bench-transfer"))
    parser.add_argument("--json", help="write every sample here")
    args = parser.parse_args()
    source = os.path.join(args.work, f"set-{args.preset}")
    imageset.generate(source, **imageset.PRESETS[args.preset])
    size = sum(os.path.getsize(os.path.join(folder, name)) for folder, _dirs, names in os.walk(source) for name in names)
    destination, archive = os.path.join(args.work, "on-the-node"), os.path.join(args.work, "export.tar")

    def fresh():
        shutil.rmtree(destination, ignore_errors=True)
        if os.path.exists(archive):
            os.unlink(archive)
    node = Node(os.path.join(args.work, "sshd")).start()
    print(f"{args.preset} set: {size / 1e6:.0f} MB; load {measure.load_average():.2f}")
    try:
        samples = measure.compare([
            measure.Tool("tar c | ssh node tar x", lambda: measure.run_quietly(
                ["bash", "-o", "pipefail", "-c", f"tar -C {source} -cf - . | {shlex.join(node.ssh(f'mkdir -p {destination} && tar -C {destination} -xf -'))}"]),
                fresh),
            measure.Tool("preload role transfer (ansible-playbook)", lambda: playbook(node, args.work, role_transfer_tasks(source, archive, destination)),
                         fresh),
            measure.Tool("empty play on the node (ansible-playbook)", lambda: playbook(node, args.work, [{"ansible.builtin.ping": {}}])),
        ], args.runs)
    finally:
        node.stop()
        fresh()
    found = measure.table("transfer of one export to a node over loopback SSH", samples, size, "tar c | ssh node tar x")
    pipe = size / found["tar c | ssh node tar x"]["wall"]
    net = found["preload role transfer (ansible-playbook)"]["wall"] - found["empty play on the node (ansible-playbook)"]["wall"]
    role = size / net if net > 0 else float("inf")
    share = role / pipe
    print(f"throughput: pipe {pipe / 1e6:.0f} MB/s, the role's transfer {role / 1e6:.0f} MB/s without Ansible's start-up "
          f"({share:.0%}); target >= 80% -> {'met' if share >= 0.8 else 'MISSED'}")
    measure.write_report(args.json, {"bytes": size, "samples": samples})


if __name__ == "__main__":
    main()
