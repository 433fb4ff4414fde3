"""A stand-in kubelet: the rendered manifests of a release run on a sealed node by `podman kube play`.

There is no Kubernetes API here, so each workload's pod template is what runs: Deployments and
Pods as they are, StatefulSets, DaemonSets, ReplicaSets and Jobs as a Pod of their template;
ConfigMaps kept; Services and everything else left out (nothing here routes to them). Images
are pulled from the mirror with the release's own pull secret (the dockerconfigjson Secret the
pod names in imagePullSecrets, as an --authfile), through the node's trust of the registry CA.
Readiness is judged as a kubelet would: each container's readinessProbe httpGet, from the node.

podman runs with CONTAINERS_CONF holding `default_ulimits = []` (its default open-files limit
exceeds this sandbox's hard limit and runc refuses it) and storage under the node's home.
"""

import base64
import json
import os
import time

import yaml

POD_TEMPLATES = ("StatefulSet", "DaemonSet", "ReplicaSet", "Job")
KEPT = ("Pod", "Deployment", "ConfigMap")


def podman_env(node):
    """Files that make podman a node-local, sandbox-fit runtime; written once in the node's home."""
    home = os.path.join(node["home"], "podman")
    os.makedirs(home, exist_ok=True)
    conf, storage = os.path.join(home, "containers.conf"), os.path.join(home, "storage.conf")
    with open(conf, "w", encoding="ascii") as handle:
        handle.write("[containers]\ndefault_ulimits = []\n")
    with open(storage, "w", encoding="ascii") as handle:
        handle.write(f'[storage]\ndriver = "overlay"\ngraphroot = "{home}/root"\nrunroot = "{home}/run"\n')
    return {"CONTAINERS_CONF": conf, "CONTAINERS_STORAGE_CONF": storage}


def kubelet_documents(documents):
    """What the stand-in kubelet runs of a release: (documents for kube play, pods with their probes)."""
    played, pods = [], []
    for document in documents:
        if not isinstance(document, dict):
            continue
        kind = document.get("kind")
        if kind in POD_TEMPLATES:
            template = document["spec"]["template"]
            document = {"apiVersion": "v1", "kind": "Pod",
                        "metadata": {"name": document["metadata"]["name"], "labels": template.get("metadata", {}).get("labels", {})},
                        "spec": template["spec"]}
            kind = "Pod"
        if kind not in KEPT:
            continue
        played.append(document)
        if kind in ("Pod", "Deployment"):
            spec = document["spec"] if kind == "Pod" else document["spec"]["template"]["spec"]
            pods.append({"name": document["metadata"]["name"], "kind": kind, "spec": spec})
    return played, pods


def pull_secret_auth(secret_documents, names):
    """The Docker config of the first dockerconfigjson Secret among names, as podman's authfile wants it."""
    for document in secret_documents:
        if (isinstance(document, dict) and document.get("type") == "kubernetes.io/dockerconfigjson"
                and document["metadata"]["name"] in names):
            return json.loads(base64.b64decode(document["data"][".dockerconfigjson"]))
    raise LookupError(f"no kubernetes.io/dockerconfigjson Secret named {', '.join(names) or '(none)'} among the release's secrets")


def play(sealed, node_name, manifests_text, secrets_text, work_dir, keep_running=False):
    """kube play the release on the node; returns ([{pod, container, address, probe_url}] for each probed
    container, whether this call started anything).

    keep_running: when the same documents were played in work_dir and their pods run, leave them be (a second
    run of a flow changes nothing).
    """
    node = sealed.node(node_name)
    played, pods = kubelet_documents(list(yaml.safe_load_all(manifests_text)))
    if not pods:  # only custom resources (an operator would act on them) or configuration: nothing for a kubelet
        return [], False
    names = sorted({secret["name"] for pod in pods for secret in pod["spec"].get("imagePullSecrets", [])})
    os.makedirs(work_dir, exist_ok=True)
    auth_file, kube_file = os.path.join(work_dir, "auth.json"), os.path.join(work_dir, "kube.yaml")
    with open(auth_file, "w", encoding="utf-8") as handle:
        json.dump(pull_secret_auth(list(yaml.safe_load_all(secrets_text)), names) if names else {"auths": {}}, handle)
    os.chmod(auth_file, 0o600)
    kube_text = yaml.safe_dump_all(played, sort_keys=False)
    env = podman_env(node)
    running = keep_running and _already_played(kube_file, kube_text) and all(
        _running_pod(sealed, node_name, env, pod) for pod in pods)
    started = not running
    if started:
        with open(kube_file, "w", encoding="utf-8") as handle:
            handle.write(kube_text)
        done = sealed.run(node_name, ["env", *(f"{k}={v}" for k, v in env.items()), "podman", "kube", "play", "--replace",
                                      "--authfile", auth_file, kube_file], timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"podman kube play on {node_name} failed: {done.stderr.strip()[-2000:]}")
    return [_probed(sealed, node_name, env, pod, container) for pod in pods for container in pod["spec"]["containers"]
            if container.get("readinessProbe", {}).get("httpGet")], started


def down(sealed, node_name, work_dir):
    env = podman_env(sealed.node(node_name))
    return sealed.run(node_name, ["env", *(f"{k}={v}" for k, v in env.items()), "podman", "kube", "down",
                                  os.path.join(work_dir, "kube.yaml")], timeout=120)


def _already_played(kube_file, kube_text):
    try:
        with open(kube_file, encoding="utf-8") as handle:
            return handle.read() == kube_text
    except FileNotFoundError:
        return False


def _inspect_pod(sealed, node_name, env, pod):
    """(name, podman pod inspect) of the pod kube play made of `pod`, or (None, None)."""
    podman = ["env", *(f"{k}={v}" for k, v in env.items()), "podman"]
    # kube play names a Pod as it is and a Deployment's pod <name>-pod-0 (or <name>-pod, by version).
    candidates = [pod["name"]] if pod["kind"] == "Pod" else [f"{pod['name']}-pod-0", f"{pod['name']}-pod"]
    for pod_name in candidates:
        described = sealed.run(node_name, [*podman, "pod", "inspect", pod_name])
        if described.returncode == 0:
            return pod_name, json.loads(described.stdout)
    return None, None


def _running_pod(sealed, node_name, env, pod):
    _name, described = _inspect_pod(sealed, node_name, env, pod)
    return bool(described) and described.get("State") == "Running"


def _probed(sealed, node_name, env, pod, container):
    """Where a container's readiness probe answers: its pod's address (the infra container's network)."""
    podman = ["env", *(f"{k}={v}" for k, v in env.items()), "podman"]
    pod_name, described = _inspect_pod(sealed, node_name, env, pod)
    if not described:
        raise RuntimeError(f"podman kube play started no pod for {pod['kind']} {pod['name']} on {node_name}")
    infra = described["InfraContainerID"]
    inspect = sealed.run(node_name, [*podman, "inspect", infra,
                                     "--format", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}"])
    probe = container["readinessProbe"]["httpGet"]
    port = probe["port"]
    if isinstance(port, str):
        port = next(item["containerPort"] for item in container.get("ports", []) if item.get("name") == port)
    address = inspect.stdout.strip()
    return {"pod": pod_name, "container": container["name"], "address": address,
            "probe_url": f"http://{address}:{port}{probe.get('path', '/')}"}


def ready(sealed, node_name, url, attempts=30):
    """Poll a readiness URL from the node, as the kubelet does (bounded); the body when it answered 200."""
    for _attempt in range(attempts):
        done = sealed.run(node_name, ["curl", "-sS", "-m", "2", "-f", url])
        if done.returncode == 0:
            return done.stdout
        time.sleep(0.5)
    return None
