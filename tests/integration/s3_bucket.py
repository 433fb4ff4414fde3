"""One bucket per test module on the testbed's SeaweedFS, removed afterwards.

SeaweedFS gives every bucket its own volumes; a bucket per test would exhaust them, so tests
share a module's bucket and each works under its own prefix.
"""

import contextlib
import uuid

import boto3
from botocore.config import Config


def client_for(testbed):
    return boto3.client("s3", endpoint_url=testbed.s3_endpoint, region_name=testbed.s3_region, aws_access_key_id=testbed.s3_access_key,
                        aws_secret_access_key=testbed.s3_secret_key,
                        config=Config(retries={"max_attempts": 3}, connect_timeout=5, read_timeout=60, s3={"addressing_style": "path"}))


@contextlib.contextmanager
def temporary_bucket(client, stem):
    bucket = f"{stem}-{uuid.uuid4().hex[:10]}"
    client.create_bucket(Bucket=bucket)
    try:
        yield bucket
    finally:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                client.delete_objects(Bucket=bucket, Delete={"Objects": keys})
        client.delete_bucket(Bucket=bucket)


def settings_for(testbed, bucket):
    """The module's s3 option for the bucket, under a prefix of its own."""
    return {"endpoint_url": testbed.s3_endpoint, "access_key": testbed.s3_access_key, "secret_key": testbed.s3_secret_key,
            "region": testbed.s3_region, "bucket": bucket, "prefix": f"run-{uuid.uuid4().hex[:8]}"}
