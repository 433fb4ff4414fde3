"""up / down / status for the whole testbed, driven by the recorded state."""

import contextlib
import os
import shutil
import signal
import subprocess

from . import install, processes, services, state

# Start order: dockerd runs on our containerd, so containerd comes first.
SERVICE_ORDER = ("public-registry", "private-registry", "containerd", "dockerd", "seaweedfs")


class TestbedBusy(RuntimeError):
    """Another up/down holds the state directory right now."""


def up(state_dir, log=print, wait_seconds=0.0):
    """Start every service, or reuse a complete, live testbed. Returns (state, reused).

    While another `up` holds the state directory, wait up to wait_seconds, then refuse.
    """
    try:
        with state.exclusive(state_dir, wait=False, patience=wait_seconds):
            current = state.load(state_dir)
            if _complete_and_alive(current, state_dir):
                return current, True
            _stop_everything(state_dir, current)
            return _start_all(state_dir, log), False
    except BlockingIOError as error:
        raise TestbedBusy(
            f"another `testbed up` or `down` is running on {state_dir} right now; "
            "wait for it to finish, or run `testbed down` after it"
        ) from error


def down(state_dir):
    """Stop what this testbed started (recorded PIDs and any process naming state_dir)."""
    if not os.path.isdir(state_dir):
        return []
    with state.exclusive(state_dir, wait=True):
        stopped = _stop_everything(state_dir, state.load(state_dir))
        _remove_contents(state_dir)
    return stopped


def status(state_dir):
    """Per service: its PIDs and whether they are alive."""
    current = state.load(state_dir)
    report = {}
    for name in SERVICE_ORDER:
        record = current["services"].get(name)
        if record is None:
            report[name] = "not started"
            continue
        alive = all(processes.is_ours(pid, state_dir) for pid in record["pids"])
        pids = ",".join(str(pid) for pid in record["pids"])
        report[name] = f"{'running' if alive else 'DEAD'} (pid {pids})"
    return report


def environment(current):
    env = {"AIRLOCK_TESTBED_DIR": current["state_dir"]}
    for record in current["services"].values():
        env.update(record["env"])
    env.update(current.get("tools_env", {}))
    return env


def _complete_and_alive(current, state_dir):
    records = current.get("services", {})
    return all(
        name in records and all(processes.is_ours(pid, state_dir) for pid in records[name]["pids"])
        for name in SERVICE_ORDER
    )


def _start_all(state_dir, log):
    tools = install.ensure_all(log)
    current = {"state_dir": state_dir, "services": {}, "tools_env": {
        "AIRLOCK_HELM": tools["helm"], "AIRLOCK_CTR": tools["ctr"], "AIRLOCK_SKOPEO": tools["skopeo"],
    }}
    state.save(state_dir, current)
    try:
        for name in SERVICE_ORDER:
            home = os.path.join(state_dir, name)
            os.makedirs(home, exist_ok=True)
            log(f"testbed: starting {name}")
            current["services"][name] = _start_one(name, home, tools, current)
            state.save(state_dir, current)
    except BaseException:
        _stop_everything(state_dir, current)
        raise
    return current


def _start_one(name, home, tools, current):
    if name == "public-registry":
        return services.start_public_registry(home, tools)
    if name == "private-registry":
        return services.start_private_registry(home, tools)
    if name == "containerd":
        return services.start_containerd(home, tools)
    if name == "dockerd":
        socket_path = current["services"]["containerd"]["env"]["AIRLOCK_CONTAINERD_SOCKET"]
        return services.start_dockerd(home, tools, socket_path)
    return services.start_seaweedfs(home, tools)


def _stop_everything(state_dir, current):
    """Recorded PIDs first (in reverse start order), then anything else naming state_dir."""
    stopped = []
    for name in reversed(SERVICE_ORDER):
        record = current.get("services", {}).get(name)
        if record:
            grace = 0.0 if record.get("kill_signal") == signal.SIGKILL.name else 15.0
            processes.stop(record["pids"], state_dir, grace_seconds=grace)
            for path in record.get("stray_paths", []):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
            stopped.extend(record["pids"])
    leftovers = processes.owned_pids(state_dir)
    processes.stop(leftovers, state_dir, grace_seconds=5.0)
    _unmount_below(state_dir)
    state.forget(state_dir)
    return stopped + leftovers


def _unmount_below(state_dir):
    """Daemons killed hard can leave overlay/shm mounts behind; rmtree would fail on them."""
    with open("/proc/self/mounts", encoding="utf-8") as mounts:
        targets = [line.split()[1] for line in mounts if line.split()[1].startswith(state_dir + "/")]
    for target in sorted(targets, key=len, reverse=True):
        subprocess.run(["umount", "-l", target], check=False, capture_output=True)


def _remove_contents(state_dir):
    for entry in os.listdir(state_dir):
        if entry == ".lock":
            continue
        path = os.path.join(state_dir, entry)
        with contextlib.suppress(FileNotFoundError):
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)
