"""Start, identify and stop the testbed's own processes.

A process is ours only when its command line names our state directory: a recorded PID
that the kernel reused for an unrelated process is never signalled.
"""

import os
import signal
import socket
import subprocess
import time


def free_port():
    """Return a loopback TCP port that nothing listens on at this moment."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def command_line(pid, settle=True):
    """Return the argv of a live process as one string, or None when it is gone.

    Just after exec the kernel briefly shows an empty cmdline; with settle, a live process
    is given a moment to show its own before it is judged (kernel threads never do, so a
    scan of all processes does not wait).
    """
    for _attempt in range(20 if settle else 1):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                raw = handle.read()
        except OSError:
            return None
        if raw:
            return raw.replace(b"\0", b" ").decode(errors="replace")
        if is_zombie(pid):
            return None
        time.sleep(0.01)
    return None


def is_zombie(pid):
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def owned_pids(state_dir):
    """Every live process whose command line mentions state_dir (ours, by construction)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        argv = command_line(int(entry), settle=False)
        if argv and state_dir in argv and not is_zombie(int(entry)):
            found.append(int(entry))
    return sorted(found)


def is_ours(pid, state_dir):
    argv = command_line(pid)
    return bool(argv) and state_dir in argv and not is_zombie(pid)


def spawn(argv, log_path, env=None):
    """Start a daemon detached from our session so a Ctrl-C of the caller leaves it to `down`."""
    with open(log_path, "ab") as log:
        process = subprocess.Popen(  # pylint: disable=consider-using-with
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    return process.pid


def stop(pids, state_dir, grace_seconds=10.0):
    """SIGTERM our processes, SIGKILL what is still alive after the grace period."""
    _stop_while([pid for pid in pids if is_ours(pid, state_dir)], lambda pid: is_ours(pid, state_dir), grace_seconds)


def stop_in_namespace(namespace, grace_seconds=5.0):
    """Stop every process inside one of our network namespaces, as stop() does; the PIDs stopped.

    Everything there was started by the testbed or through it (an SSH session outlives the sshd that accepted it, and
    kept its namespace alive after `ip netns delete`), so belonging to the namespace is what makes a process ours.
    """
    listed = subprocess.run(["ip", "netns", "pids", namespace], check=False, capture_output=True, text=True).stdout.split()
    pids = [int(pid) for pid in listed if pid.isdigit()]
    _stop_while(pids, lambda pid: not is_zombie(pid), grace_seconds)
    return pids


def _stop_while(pids, alive, grace_seconds):
    """SIGTERM pids, SIGKILL those still alive after the grace period, and wait (bounded) for them to go."""
    for pid in pids:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline:
        pids = [pid for pid in pids if alive(pid)]
        if not pids:
            return
        time.sleep(0.1)
    for pid in pids:
        _signal(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5.0
    while pids and time.monotonic() < deadline:
        pids = [pid for pid in pids if alive(pid)]
        time.sleep(0.05)


def _signal(pid, signum):
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def wait_until(check, what, log_path, timeout=60.0, pid=None, state_dir=None):
    """Poll check() until it is true; fail with the service log's tail when it never is."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if pid is not None and not is_ours(pid, state_dir):
            break
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not become ready; last lines of {log_path}:\n{tail(log_path)}")


def tail(path, lines=20):
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return "".join(handle.readlines()[-lines:])
    except OSError:
        return "(no log)"


def tcp_open(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False
