"""The vendor's model sources for one example, as the project's loopback stand-ins: NGC (tests/integration/ngc_server.py)
and the Hugging Face Hub (hub_server.py), serving small deterministic files, so a second run stages nothing new.

    python model_sources.py SOURCES.json ENV_FILE

SOURCES.json: {"ngc": {"ORG/[TEAM/]MODEL:VERSION": {PATH: TEXT}}, "hub": {"ORG/NAME": {PATH: TEXT}}}. Writes ENV_FILE
(DEMO_NGC_ENDPOINT, DEMO_HF_ENDPOINT, DEMO_NGC_API_KEY) once both answer, and serves until it is terminated.
"""

import json
import os
import signal
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

from hub_server import HubServer, Repo  # noqa: E402  pylint: disable=wrong-import-position
from ngc_server import API_KEY, NgcServer  # noqa: E402  pylint: disable=wrong-import-position


def ngc_models(entries):
    """{(org, team, model, version): {path: bytes}} from `org/[team/]model:version` keys."""
    models = {}
    for name, files in entries.items():
        path, version = name.rsplit(":", 1)
        parts = path.split("/")
        org, team, model = (parts[0], "", parts[1]) if len(parts) == 2 else parts
        models[(org, team, model, version)] = {file: text.encode() for file, text in files.items()}
    return models


def hub_repos(entries, root):
    """{repo_id: Repo} of folders written under root."""
    repos = {}
    for repo_id, files in entries.items():
        folder = os.path.join(root, repo_id)
        for file, text in files.items():
            os.makedirs(os.path.dirname(os.path.join(folder, file)), exist_ok=True)
            with open(os.path.join(folder, file), "w", encoding="utf-8") as handle:
                handle.write(text)
        repos[repo_id] = Repo(folder)
    return repos


def main(sources_file, env_file):
    with open(sources_file, encoding="utf-8") as handle:
        sources = json.load(handle)
    stopped = []
    signal.signal(signal.SIGTERM, lambda *_: stopped.append(True))
    with tempfile.TemporaryDirectory(prefix="airlock-hub-") as root:
        with NgcServer(ngc_models(sources.get("ngc", {}))) as ngc, HubServer(hub_repos(sources.get("hub", {}), root)) as hub:
            with open(env_file + ".partial", "w", encoding="utf-8") as handle:
                handle.write(f"DEMO_NGC_ENDPOINT={ngc.endpoint}\nDEMO_HF_ENDPOINT={hub.endpoint}\nDEMO_NGC_API_KEY={API_KEY}\n")
            os.replace(env_file + ".partial", env_file)
            while not stopped:
                signal.pause()
    os.remove(env_file)


if __name__ == "__main__":
    main(*sys.argv[1:])
