# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``s3`` option of the modules that read from or write to an S3-compatible store (models/s3store.py S3Settings).

Ansible merges a fragment into a module's options one level deep only (see charts.py, also for why the variants are annotated), so the
connection suboptions every store shares are written once here and each variant is assembled
from them: ``DOCUMENTATION`` for file_mirror, ``MODELS`` for model_cache (a required bucket, the
store's layout and the transfer's tuning). A module documents ``s3``'s description itself.
"""

_CONNECTION_SUBOPTIONS = r"""
      endpoint_url:
        description: The S3 endpoint, for MinIO, SeaweedFS or another S3-compatible store.
        type: str
      access_key:
        description: The access key id.
        type: str
      secret_key:
        description: The secret access key.
        type: str
      region:
        description: The region.
        type: str
        default: us-east-1
      ca_bundle:
        description: A CA bundle for an endpoint with a private CA.
        type: path
"""

_FILES_SUBOPTIONS = r"""
      bucket:
        description: The bucket files are published to.
        type: str
      prefix:
        description: The key prefix files are published under.
        type: str
        default: ""
      create_bucket:
        description: Create the bucket when it is missing (with O(state=published)).
        type: bool
        default: false
"""

_MODELS_SUBOPTIONS = r"""
      bucket:
        description: The bucket; it must exist, unless O(s3.create_bucket) is set.
        type: str
        required: true
      create_bucket:
        description:
          - With O(state=pushed), create the bucket when it is missing (in check mode, report that it would be and take it as empty).
        type: bool
        default: false
      prefix:
        description: The key prefix everything goes under.
        type: str
        default: ""
      layout:
        description:
          - V(content-addressed) stores each distinct file once by sha256 with a manifest per snapshot.
          - V(hf-cache-objects) stores C(models--ORG--NAME/snapshots/<commit>/...) as regular objects plus C(refs/), no C(blobs/),
            and the manifest under C(models--ORG--NAME/.airlock/), a folder the cache scan ignores.
          - Push and pull must use the same layout. A pull requires the manifest in either layout.
        type: str
        choices: [content-addressed, hf-cache-objects]
        default: content-addressed
      concurrency:
        description: Files in flight at once; the parts of each large file go a quarter as many at a time (at least 2).
        type: int
        default: 8
      multipart_threshold:
        description: Files up to this size go up in one PUT checked by the server (C(ChecksumSHA256)); bigger ones in parts.
        type: int
        default: 67108864
      multipart_chunksize:
        description: The part size of multipart transfers.
        type: int
        default: 16777216
      consumer_prefix:
        description:
          - What the consumer is configured to read (for example the fine-tuning service's C(LOCAL_MODEL_REGISTRY)), as a
            prefix or V(s3://BUCKET/PREFIX). The module fails unless the upload goes exactly there.
        type: str
"""

_S3_OPTION = r"""
options:
  s3:
    description: The S3-compatible store.
    type: dict
    suboptions:"""


class ModuleDocFragment:  # pylint: disable=too-few-public-methods
    DOCUMENTATION: str = _S3_OPTION + _FILES_SUBOPTIONS + _CONNECTION_SUBOPTIONS

    MODELS: str = _S3_OPTION + _MODELS_SUBOPTIONS + _CONNECTION_SUBOPTIONS
