"""SeaweedFS's S3 gateway and the real helm binary work as the testbed promises."""

import base64
import hashlib
import subprocess
import textwrap
import uuid

import boto3
import pytest
from botocore.config import Config

pytestmark = pytest.mark.testbed


@pytest.fixture
def s3(testbed):
    return boto3.client(
        "s3", endpoint_url=testbed.s3_endpoint, region_name=testbed.s3_region,
        aws_access_key_id=testbed.s3_access_key, aws_secret_access_key=testbed.s3_secret_key,
        config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=30),
    )


def test_s3_put_and_get_with_server_checked_sha256(s3):
    bucket = f"smoke-{uuid.uuid4().hex[:8]}"
    body = b"model weights stand-in\n" * 1000
    checksum = base64.b64encode(hashlib.sha256(body).digest()).decode()
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="models/a.bin", Body=body, ChecksumSHA256=checksum,
                  Metadata={"sha256": hashlib.sha256(body).hexdigest()})
    fetched = s3.get_object(Bucket=bucket, Key="models/a.bin")
    assert fetched["Body"].read() == body
    assert fetched["Metadata"]["sha256"] == hashlib.sha256(body).hexdigest()


def test_s3_rejects_a_wrong_checksum(s3):
    bucket = f"smoke-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    wrong = base64.b64encode(hashlib.sha256(b"something else").digest()).decode()
    with pytest.raises(s3.exceptions.ClientError) as raised:
        s3.put_object(Bucket=bucket, Key="x", Body=b"payload", ChecksumSHA256=wrong)
    assert raised.value.response["Error"]["Code"] == "BadDigest"


def test_helm_templates_a_small_chart(testbed, tmp_path):
    chart = tmp_path / "smoke"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: smoke\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("image: nats:2.12.6-alpine\n")
    (chart / "templates" / "deployment.yaml").write_text(textwrap.dedent("""\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: {{ .Release.Name }}}
        spec:
          selector: {matchLabels: {app: smoke}}
          template:
            metadata: {labels: {app: smoke}}
            spec:
              containers:
                - name: main
                  image: {{ .Values.image | quote }}
        """))
    rendered = subprocess.run([testbed.helm, "template", "demo", str(chart), "--set", "image=redis:7"],
                              check=True, capture_output=True, text=True).stdout
    assert 'image: "redis:7"' in rendered
    assert "name: demo" in rendered
    version = subprocess.run([testbed.helm, "version", "--short"], check=True, capture_output=True, text=True)
    assert version.stdout.startswith("v4.")
