# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Model snapshots in S3-compatible storage (MinIO, SeaweedFS, S3) at 1x their size.

Two layouts under a prefix:

content-addressed (default)
    blobs/sha256/<hex>                          each distinct file once, across all models
    models--ORG--NAME/snapshots/<commit>.json   the snapshot's manifest (file -> blob, size, sha256)
    models--ORG--NAME/refs/<revision>           the commit
    .airlock/trees/<name>.json                  a generic tree's manifest
hf-cache-objects
    models--ORG--NAME/snapshots/<commit>/<path> regular objects (what huggingface_hub writes without
    models--ORG--NAME/refs/<revision>           symlinks), for consumers that sync the prefix as a cache
    models--ORG--NAME/.airlock/<commit>.json    the manifest (a folder huggingface_hub's cache scan ignores)
    <tree name>/<path>, .airlock/trees/<name>.json

The manifest is written after every object and the refs after the manifest; a pull requires it.

Every object carries its sha256 in metadata (x-amz-meta-sha256): multipart ETags and composite
checksums change with the part size, so they are not content identities. Single PUTs also send
ChecksumSHA256 so the server rejects corrupted bytes; a multipart upload's file is hashed as its
parts are read, and the upload is completed only once the whole file has proven its sha256, so an
object never carries a sha256 its bytes were not proven to have, even if the run is killed or the
user may not delete objects. An object already present with the same size and sha256 is not sent again,
unless the push reads it back (verify_remote): metadata cannot show bytes that changed under it, a
read-back hash can, and what does not verify is uploaded again. Manifests and refs are small, so they
are always compared by their text.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import traceback

from ansible_collections.airlock.airgap.plugins.module_utils.http import transport
from ansible_collections.airlock.airgap.plugins.module_utils.models import snapshot as snapshots
from ansible_collections.airlock.airgap.plugins.module_utils.models.errors import ModelError

try:
    import boto3
    from boto3.s3.transfer import TransferConfig
    from botocore.config import Config
    from boto3.exceptions import S3UploadFailedError
    from botocore.exceptions import BotoCoreError, ClientError
    BOTO3_IMPORT_ERROR = None
except ImportError:
    boto3 = TransferConfig = Config = None
    BotoCoreError = type("BotoCoreError", (Exception,), {})  # never raised: Store needs boto3, and the module checks first
    ClientError = type("ClientError", (Exception,), {})
    S3UploadFailedError = type("S3UploadFailedError", (Exception,), {})
    BOTO3_IMPORT_ERROR = traceback.format_exc()

CONTENT_ADDRESSED = "content-addressed"
HF_CACHE_OBJECTS = "hf-cache-objects"
LAYOUTS = (CONTENT_ADDRESSED, HF_CACHE_OBJECTS)
MISSING_BUCKET = ("NoSuchBucket", "404", "NotFound")
MISSING_OBJECT = ("404", "NoSuchKey", "NotFound")
BAD_CREDENTIALS = ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "403", "InvalidToken", "ExpiredToken")


@dataclasses.dataclass(frozen=True)
class S3Settings:  # pylint: disable=too-many-instance-attributes
    bucket: str
    prefix: str = ""
    endpoint_url: str = None
    access_key: str = None
    secret_key: str = None
    region: str = None
    layout: str = CONTENT_ADDRESSED
    concurrency: int = 8
    multipart_threshold: int = 64 * 1024 * 1024
    multipart_chunksize: int = 16 * 1024 * 1024
    ca_bundle: str = None
    consumer_prefix: str = None
    create_bucket: bool = False
    retries: int = 5  # botocore's own retries (standard mode) stay the S3 layer; these set them as for every other client
    timeout: int = 300

    @property
    def clean_prefix(self):
        return (self.prefix or "").strip("/")


def check_consumer_prefix(settings):
    """The upload lands exactly where the consumer (LOCAL_MODEL_REGISTRY, a sync job) reads, or fail."""
    wanted = (settings.consumer_prefix or "").strip()
    if not wanted:
        return
    bucket = settings.bucket
    if wanted.startswith("s3://"):
        bucket, _slash, wanted = wanted[len("s3://"):].partition("/")
    if bucket != settings.bucket or wanted.strip("/") != settings.clean_prefix:
        raise ModelError(f"the upload goes to s3://{settings.bucket}/{settings.clean_prefix} but the consumer reads "
                         f"s3://{bucket}/{wanted.strip('/')}: set the prefix (or the consumer's path) so they are equal")


class Store:
    """One bucket and prefix; every call bounded by botocore's retries and timeouts, set from the `retries` and `timeout` options."""

    def __init__(self, settings):
        self.settings = settings
        config = Config(retries={"max_attempts": settings.retries, "mode": "standard"}, connect_timeout=transport.CONNECT_TIMEOUT,
                        read_timeout=settings.timeout,
                        max_pool_connections=max(10, settings.concurrency * 2), s3={"addressing_style": "path"},
                        request_checksum_calculation="when_required")  # our own sha256 is the check; no CRC32 per part
        self.empty = False  # a bucket create_bucket would create (check mode): it holds nothing
        self.client = boto3.client("s3", endpoint_url=settings.endpoint_url, region_name=settings.region or "us-east-1",
                                   aws_access_key_id=settings.access_key, aws_secret_access_key=settings.secret_key,
                                   verify=settings.ca_bundle if settings.ca_bundle else None, config=config)
        self.transfer = TransferConfig(multipart_threshold=settings.multipart_threshold, multipart_chunksize=settings.multipart_chunksize,
                                       max_concurrency=max(2, settings.concurrency // 4), use_threads=True)

    @property
    def where(self):
        return f"s3://{self.settings.bucket}/{self.settings.clean_prefix}"

    def key(self, *parts):
        return "/".join(part for part in (self.settings.clean_prefix, *parts) if part)

    @contextlib.contextmanager
    def explained(self, what):
        """One clear error for a missing bucket, bad credentials or an unreachable endpoint."""
        try:
            yield
        except ClientError as error:
            code = error_code(error)
            if code in BAD_CREDENTIALS:
                raise ModelError(f"{self.settings.endpoint_url or 'S3'} refused the credentials for bucket {self.settings.bucket} ({code}): "
                                 "check access_key, secret_key and the user's rights on the bucket") from error
            raise ModelError(f"{what} at {self.where}: {error}") from error
        except (BotoCoreError, S3UploadFailedError) as error:
            raise ModelError(f"{what} at {self.where}: {error}") from error

    def check_bucket(self):
        """The bucket exists, or is missing only because create_bucket would create it (in check mode): then it holds nothing."""
        if self._bucket_exists():
            return
        if not self.settings.create_bucket:
            raise ModelError(f"the bucket {self.settings.bucket} does not exist at {self.settings.endpoint_url or 'AWS S3'}: "
                             "set s3.create_bucket, or create it first (for example with amazon.aws.s3_bucket)")
        self.empty = True

    def create_bucket(self, check_mode=False):
        """Create the bucket when it is missing; True when created (in check mode, when it would be). An upload that
        would miss its consumer fails first, so no bucket is made for it."""
        check_consumer_prefix(self.settings)
        if self._bucket_exists():
            return False
        if not check_mode:
            region = self.settings.region or "us-east-1"
            location = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
            with self.explained("creation of the bucket"):
                self.client.create_bucket(Bucket=self.settings.bucket, **location)
        return True

    def _bucket_exists(self):
        with self.explained("bucket"):
            try:
                self.client.head_bucket(Bucket=self.settings.bucket)
            except ClientError as error:
                if error_code(error) in MISSING_BUCKET:
                    return False
                raise
        return True

    def stat(self, key):
        """(size, sha256 from metadata, metadata) of an object, or None when absent."""
        if self.empty:
            return None
        with self.explained(key):
            try:
                head = self.client.head_object(Bucket=self.settings.bucket, Key=key)
            except ClientError as error:
                if _is_missing(error):
                    return None
                raise
        return head["ContentLength"], head.get("Metadata", {}).get("sha256", ""), head.get("Metadata", {})

    def read_back(self, key, what):
        """(size, sha256) of the bytes the object really holds, read and hashed as they stream past (no copy on
        disk), or None when it is absent: the one check that sees bytes changed under unchanged metadata."""
        if self.empty:
            return None
        digest = _DigestSink()
        with self.explained(f"read-back of {what}"):
            try:
                self.client.download_fileobj(self.settings.bucket, key, digest, Config=self.transfer)
            except ClientError as error:
                if _is_missing(error):
                    return None
                raise
        return digest.hasher.count, digest.hasher.sha256.hexdigest()

    def has(self, key, entry):
        found = self.stat(key)
        return bool(found) and found[0] == entry.size and found[1] == entry.sha256

    def upload(self, key, path, entry):
        """Upload a file as key, proving its bytes are the entry's; raise (leaving no object) if not.
        path is a local file, or a callable opening the bytes elsewhere (a bundle's volumes)."""
        metadata = {"sha256": entry.sha256, "blob": entry.blob}
        if entry.size > self.settings.multipart_threshold:
            self._upload_in_parts(key, path, entry, metadata)
            return
        checksum = base64.b64encode(bytes.fromhex(entry.sha256)).decode()
        with self.explained(f"upload of {entry.path}"), _opened(path) as handle:
            try:
                self.client.put_object(Bucket=self.settings.bucket, Key=key, Body=handle, ChecksumSHA256=checksum, Metadata=metadata)
            except ClientError as error:
                if error_code(error) in ("BadDigest", "XAmzContentSHA256Mismatch", "InvalidDigest"):
                    raise ModelError(f"{path} ({entry.path}) does not hold the bytes of sha256 {entry.sha256}: the local copy is corrupted, "
                                     "stage it again; S3 refused it") from error
                raise

    def _upload_in_parts(self, key, path, entry, metadata):
        """A multipart upload that reads the file once, front to back, through a reader that hashes it and refuses
        to reach its end unless the bytes are the entry's. S3 completes a multipart upload only after the last part
        has been read, so a corrupted file abandons the upload: no object ever carries a sha256 its bytes lack."""
        with self.explained(f"upload of {entry.path}"), _opened(path) as handle:
            self.client.upload_fileobj(_ProvenReader(handle, entry, path), self.settings.bucket, key,
                                       ExtraArgs={"Metadata": metadata}, Config=self.transfer)

    def download(self, key, handle, what):
        with self.explained(f"download of {what}"):
            self.client.download_fileobj(self.settings.bucket, key, handle, Config=self.transfer)

    def put_text(self, key, text, check_mode=False):
        """Write a small text object (manifest, ref) unless it already holds exactly this text, read back rather
        than taken from its metadata, so a damaged manifest is rewritten by the next push; True when written
        (in check mode, when it would be)."""
        body = text.encode()
        if self._body(key) == body:
            return False
        if check_mode:
            return True
        sha256 = hashlib.sha256(body).hexdigest()
        checksum = base64.b64encode(bytes.fromhex(sha256)).decode()
        with self.explained(f"write of {key}"):
            self.client.put_object(Bucket=self.settings.bucket, Key=key, Body=body, ChecksumSHA256=checksum, Metadata={"sha256": sha256})
        return True

    def get_text(self, key, missing_message):
        body = self._body(key)
        if body is None:
            raise ModelError(missing_message)
        return body.decode()

    def _body(self, key):
        """A small object's bytes, or None when it is absent."""
        if self.empty:
            return None
        with self.explained(f"read of {key}"):
            try:
                return self.client.get_object(Bucket=self.settings.bucket, Key=key)["Body"].read()
            except ClientError as error:
                if _is_missing(error):
                    return None
                raise

    def list_keys(self, under):
        """(key, size) of every object under the prefix-relative folder, in pages, bounded by the listing itself."""
        paginator = self.client.get_paginator("list_objects_v2")
        with self.explained(f"listing of {under}"):
            for page in paginator.paginate(Bucket=self.settings.bucket, Prefix=self.key(under).rstrip("/") + "/"):
                for item in page.get("Contents", []):
                    yield item["Key"], item["Size"]

    def folders(self, under=""):
        """Names of the folders directly under the prefix-relative folder."""
        base = self.key(under).rstrip("/") + "/" if self.key(under) else ""
        paginator = self.client.get_paginator("list_objects_v2")
        with self.explained(f"listing of {self.where}"):
            for page in paginator.paginate(Bucket=self.settings.bucket, Prefix=base, Delimiter="/"):
                for common in page.get("CommonPrefixes", []):
                    yield common["Prefix"][len(base):].rstrip("/")

    def relative(self, key):
        prefix = self.settings.clean_prefix
        return key[len(prefix) + 1:] if prefix else key


def error_code(error):
    """The AWS error code of a botocore ClientError ("NoSuchKey", "BadDigest"...), "" when it has none:
    the one place that knows where botocore keeps it (compare amazon.aws's is_boto3_error_code)."""
    return str(error.response.get("Error", {}).get("Code") or "")


def _is_missing(error):
    return error_code(error) in MISSING_OBJECT


def _opened(path):
    """A local file opened for reading, or what a callable opens (a file in a bundle's volumes)."""
    return path() if callable(path) else open(path, "rb")  # pylint: disable=consider-using-with


class _ProvenReader:
    """A file as a one-way stream (so the transfer reads it in order) whose end proves its sha256 and size."""

    def __init__(self, handle, entry, path):
        self.handle, self.entry, self.path = handle, entry, path
        self.hasher = hashlib.sha256()
        self.size = 0

    def read(self, amount=-1):
        block = self.handle.read(amount)
        if block:
            self.hasher.update(block)
            self.size += len(block)
            return block
        if self.size != self.entry.size or self.hasher.hexdigest() != self.entry.sha256:
            raise ModelError(f"{self.path} ({self.entry.path}) does not hold the bytes of sha256 {self.entry.sha256} (it has {self.size} "
                             f"bytes of sha256 {self.hasher.hexdigest()}): the local copy is corrupted, stage it again; the upload was "
                             "abandoned before it completed, so nothing was stored")
        return block


class _DigestSink:  # pylint: disable=too-few-public-methods
    """A write-only stream that keeps only the size and sha256 of what passes through it. Having no seek, it makes
    the transfer hand over the parts of a large object in order, whatever their concurrency."""

    def __init__(self):
        self.hasher = snapshots.FileHasher()

    def write(self, block):
        self.hasher.update(block)
