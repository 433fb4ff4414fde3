"""Start what a deployment runs, from the mirror, on the sealed enclave's nodes; say where each answers.

The deploy role records each release and Compose project as it proved them against the mirror
(airlock-deploy.json). This starts them as a cluster and a Docker host would:

- each release's rendered manifests through the stand-in kubelet (`podman kube play`) on the
  first containerd node, pulling from the mirror with the release's pull secret (secrets.yaml);
- each Compose project with Debian's docker-compose against the Docker node's dockerd, logged in
  to the mirror with the Docker config the publish role wrote (images the node already holds,
  loaded from a docker-archive, are not pulled again). docker-compose 1.29 predates the Compose
  spec's `pull_policy: missing`, which the deploy role's override uses: it reads a copy of each
  file with its older name for the same policy, `if_not_present`.

It prints JSON: {"changed", "health": [{"url", "host", "workload"}], "started": [...]} - the
health URLs are each readiness probe and Compose healthcheck, reachable from the node (for the
validate role's validate_health_urls). A second run with nothing changed starts nothing.

    python -m standins.workloads up --enclave-dir D --record OUT/airlock-deploy.json \
        --secrets OUT/secrets.yaml --docker-config OUT/docker --work DIR --name NAME
    python -m standins.workloads down --enclave-dir D --work DIR
"""

import argparse
import json
import os
import re
import subprocess
import sys


from testbed import enclave

from . import compose, kubelet

LOCAL_URL = re.compile(r"https?://(?:localhost|127\.0\.0\.1)(:\d+)?(/\S*)?")
STATE_FILE = "workloads.json"


def first_node(sealed, runtime):
    return next(node["name"] for node in sealed.nodes if node["runtime"] == runtime)


def render(release, work_dir):
    """The release's manifests as helm renders them with the values deploy proved (no cluster: helm template)."""
    values_file = os.path.join(work_dir, f"{release['release_name']}.values.json")
    with open(values_file, "w", encoding="utf-8") as handle:
        json.dump(release.get("values") or {}, handle)
    argv = [os.environ.get("AIRLOCK_HELM", "helm"), "template", release["release_name"], release["chart"],
            "--namespace", release["namespace"],
            *(option for version in release.get("api_versions", []) for option in ("--api-versions", version)),
            *(option for path in [*release.get("values_files", []), values_file] for option in ("--values", path))]
    done = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"helm template {release['release_name']}: {done.stderr.strip()}")
    return done.stdout


def start_release(sealed, release, secrets_text, work_dir):
    node = first_node(sealed, "containerd")
    release_dir = os.path.join(work_dir, "kube", release["release_name"])
    os.makedirs(release_dir, exist_ok=True)
    probes, started = kubelet.play(sealed, node, render(release, release_dir), secrets_text, release_dir, keep_running=True)
    health = [{"url": probe["probe_url"], "host": node, "workload": f"{release['release_name']}/{probe['pod']}/{probe['container']}"}
              for probe in probes]
    return health, started, {"kind": "release", "node": node, "work_dir": release_dir}


def compose_1_29_files(files, work_dir):
    """Each Compose file as docker-compose 1.29 reads it: `pull_policy: missing` named `if_not_present`."""
    readable = []
    for index, path in enumerate(files):
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        if re.search(r"^\s*pull_policy:\s*missing\s*$", text, re.MULTILINE):
            path = os.path.join(work_dir, f"{index}-{os.path.basename(path)}")
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(re.sub(r"^(\s*pull_policy:\s*)missing\s*$", r"\1if_not_present", text, flags=re.MULTILINE))
        readable.append(path)
    return readable


def start_project(sealed, project, index, name, docker_config, work_dir):
    node = first_node(sealed, "docker")
    project_dir = os.path.dirname(project["files"][0])
    compose_args = ["-p", f"{name}-{index}"]
    project_work = os.path.join(work_dir, "compose", str(index))
    os.makedirs(project_work, exist_ok=True)
    files = compose_1_29_files(project["files"], project_work)
    up = compose.compose(sealed, node, project_dir, [*compose_args, "up", "-d", "--no-build"], docker_config, files)
    if up.returncode != 0:
        raise RuntimeError(f"docker-compose up of {project_dir} on {node}: {up.stderr.strip()[-2000:]}")
    listed = compose.compose(sealed, node, project_dir, [*compose_args, "ps", "-q"], docker_config, files)
    health = [entry for container in listed.stdout.split() for entry in _healthcheck_urls(sealed, node, container)]
    started = bool(re.search(r"\b(Creating|Recreating|Starting)\b", up.stderr))
    # Which images Compose had to pull (those the node did not hold already, by the reference it was given).
    pulled = re.findall(r"^Pulling (\S+) ", up.stderr, re.MULTILINE)
    return health, started, {"kind": "compose", "node": node, "project_dir": project_dir, "files": files,
                             "args": compose_args, "docker_config": docker_config, "pulled": pulled}


def _healthcheck_urls(sealed, node, container):
    """A container's healthcheck URL on localhost, as the node reaches it: the container's own address."""
    done = sealed.run(node, ["env", f"DOCKER_HOST={sealed.node(node)['env']['DOCKER_HOST']}", "docker", "inspect", container])
    described = json.loads(done.stdout)[0]
    test = " ".join((described["Config"].get("Healthcheck") or {}).get("Test") or [])
    found = LOCAL_URL.search(test)
    if not found:
        return []
    address = compose.container_address(sealed, node, container)
    return [{"url": f"http://{address}{found.group(1) or ''}{found.group(2) or '/'}", "host": node,
             "workload": described["Name"].lstrip("/")}]


def up(sealed, record, secrets_text, docker_config, work_dir, name):
    os.makedirs(work_dir, exist_ok=True)
    health, started, changed = [], [], False
    for release in record["charts"]:
        found, was_started, entry = start_release(sealed, release, secrets_text, work_dir)
        health, changed = health + found, changed or was_started
        started.append(entry)
    for index, project in enumerate(record["compose"]):
        found, was_started, entry = start_project(sealed, project, index, name, docker_config, work_dir)
        health, changed = health + found, changed or was_started
        started.append(entry)
    summary = {"changed": changed, "health": health, "started": started}
    with open(os.path.join(work_dir, STATE_FILE), "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=1, sort_keys=True)
    return summary


def down(sealed, work_dir):
    """Stop what `up` started in work_dir (by its record there)."""
    try:
        with open(os.path.join(work_dir, STATE_FILE), encoding="utf-8") as handle:
            started = json.load(handle)["started"]
    except FileNotFoundError:
        return []
    for entry in started:
        if entry["kind"] == "release":
            kubelet.down(sealed, entry["node"], entry["work_dir"])
        else:
            compose.compose(sealed, entry["node"], entry["project_dir"], [*entry["args"], "down"], entry["docker_config"],
                            entry["files"])
    os.unlink(os.path.join(work_dir, STATE_FILE))
    return started


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("up", "down"))
    parser.add_argument("--enclave-dir", default=enclave.default_dir())
    parser.add_argument("--work", required=True)
    parser.add_argument("--record")
    parser.add_argument("--secrets")
    parser.add_argument("--docker-config")
    parser.add_argument("--name", default="airlock")
    arguments = parser.parse_args(argv)
    sealed = enclave.Sealed.from_state(enclave.load(arguments.enclave_dir))
    if arguments.action == "down":
        print(json.dumps({"stopped": down(sealed, arguments.work)}))
        return
    with open(arguments.record, encoding="utf-8") as handle:
        record = json.load(handle)
    secrets_text = ""
    if arguments.secrets and os.path.exists(arguments.secrets):
        with open(arguments.secrets, encoding="utf-8") as handle:
            secrets_text = handle.read()
    print(json.dumps(up(sealed, record, secrets_text, arguments.docker_config, arguments.work, arguments.name)))


if __name__ == "__main__":
    main(sys.argv[1:])
