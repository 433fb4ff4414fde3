"""How every benchmark here measures, in one place, so each figure is taken the same way.

- Our modules run as Ansible runs them: a module process fed its JSON arguments (`module`),
  and, beside it, a one-task `ansible-playbook` run of the same arguments (`playbook`).
- Every tool of a comparison runs `runs` times; the order of the tools is reversed on every
  other run, so no tool always goes first (cold) or last (after the others warmed things).
- Each run records wall seconds, CPU seconds (user + system of this process and every child
  process it waited for: the client's CPU, not a daemon's) and the 1-minute load average
  taken just before the run.
- Reports give the median and the range (min-max) of each, and every load seen.
"""

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(REPO, ".cache", "collections")
MODULES = "ansible_collections.airlock.airgap.plugins.modules"


def cpu_seconds():
    """User + system seconds of this process and its reaped children so far."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def load_average():
    return os.getloadavg()[0]


def sample(action):
    """One timed run: {"wall", "cpu", "load"} (load: the 1-minute average just before it)."""
    load = load_average()
    cpu, started = cpu_seconds(), time.monotonic()
    action()
    return {"wall": time.monotonic() - started, "cpu": cpu_seconds() - cpu, "load": load}


class Tool:
    """One contender: reset() runs untimed before every run (a fresh destination), action() is timed."""

    def __init__(self, name, action, reset=None):
        self.name, self.action, self.reset = name, action, reset or (lambda: None)


def progress(line):
    """Where each run's figures go as they come: stderr, so the tables on stdout stay clean."""
    print(line, file=sys.stderr)


def compare(tools, runs):
    """Run every tool `runs` times, the order reversed on every other run; {name: [samples]} in the tools' order."""
    samples = {tool.name: [] for tool in tools}
    for number in range(runs):
        order = tools if number % 2 == 0 else list(reversed(tools))
        for tool in order:
            tool.reset()
            measured = sample(tool.action)
            samples[tool.name].append(measured)
            progress(f"run {number + 1}/{runs} {tool.name}: {measured['wall']:.2f} s wall, {measured['cpu']:.2f} s CPU, load {measured['load']:.2f}")
    return samples


def summary(runs_of_tool):
    """Medians and ranges of one tool's samples."""
    walls, cpus = [s["wall"] for s in runs_of_tool], [s["cpu"] for s in runs_of_tool]
    return {"wall": statistics.median(walls), "wall_min": min(walls), "wall_max": max(walls),
            "cpu": statistics.median(cpus), "cpu_min": min(cpus), "cpu_max": max(cpus),
            "loads": [round(s["load"], 2) for s in runs_of_tool]}


def table(title, samples, size_bytes=None, reference=None):
    """Print one comparison: wall median [range], CPU median [range], MB/s when a size is given, the loads."""
    print(f"\n{title}")
    rate = f" {'MB/s':>7}" if size_bytes else ""
    print(f"{'tool':50} {'wall s':>7} {'[min-max]':>13} {'CPU s':>7} {'[min-max]':>13}{rate}  load before each run")
    summaries = {name: summary(runs) for name, runs in samples.items()}
    for name, found in summaries.items():
        line = (f"{name:50} {found['wall']:7.2f} [{found['wall_min']:5.2f}-{found['wall_max']:5.2f}] "
                f"{found['cpu']:7.2f} [{found['cpu_min']:5.2f}-{found['cpu_max']:5.2f}]")
        if size_bytes:
            line += f" {size_bytes / found['wall'] / 1e6:7.0f}"
        print(line + "  " + " ".join(f"{load:.2f}" for load in found["loads"]))
    if reference in summaries:
        print(f"  ratios: time of each / time of {reference} (above 1: {reference} is faster)")
        for name, found in summaries.items():
            if name != reference:
                print(f"    {name:48} {found['wall'] / summaries[reference]['wall']:6.2f}x")
    return summaries


def module_env():
    return dict(os.environ, PYTHONPATH=COLLECTIONS, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS)


def module(name, arguments, work):
    """Run one of our modules as Ansible does on the target: its own process, JSON arguments in, JSON result out."""
    descriptor, path = tempfile.mkstemp(prefix=f"{name}-args-", suffix=".json", dir=work)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": arguments}, handle)
    try:
        completed = subprocess.run([sys.executable, "-m", f"{MODULES}.{name}", path], capture_output=True, text=True,
                                   check=False, env=module_env())
    finally:
        os.unlink(path)
    try:
        result = json.loads(completed.stdout)
    except ValueError:
        raise RuntimeError(f"{name} printed no JSON result: {completed.stdout[-2000:]} {completed.stderr[-2000:]}") from None
    if result.get("failed"):
        raise RuntimeError(f"{name} failed: {result.get('msg')}")
    return result


def playbook(name, arguments, work):
    """The same module as one task of `ansible-playbook` on localhost: what a user waits for, start-up included."""
    path = os.path.join(work, f"{name}-play.json")
    play = [{"hosts": "localhost", "connection": "local", "gather_facts": False,
             "vars": {"ansible_python_interpreter": sys.executable},
             "tasks": [{"name": f"run {name}", f"airlock.airgap.{name}": arguments}]}]
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(play, handle)
    ansible_playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    completed = subprocess.run([ansible_playbook, "-i", "localhost,", path], capture_output=True, text=True, check=False,
                               env=dict(module_env(), ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0"))
    if completed.returncode != 0:
        raise RuntimeError(f"ansible-playbook running {name} failed: {completed.stdout[-3000:]} {completed.stderr[-2000:]}")


def run_quietly(argv, **options):
    """A reference tool's run: its output discarded, its failure an error naming it."""
    completed = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False, **options)
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv[:3]))} failed: {completed.stderr.decode(errors='replace')[-2000:]}")


def write_report(path, report):
    """Every sample as JSON, for the closing note."""
    if path:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=1)
