#!/usr/bin/python
# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: model_cache
short_description: Stage model weights in the Hugging Face cache layout, mirror them to S3 at 1x, restore and verify them offline
version_added: 0.1.0
description:
  - With O(state=staged), fetches models into O(path), a Hugging Face cache (C(HF_HUB_CACHE)) laid out exactly as
    C(huggingface_hub) writes it (C(blobs/<etag>), relative C(snapshots/<commit>/) symlinks, C(refs/)).
    V(hf://ORG/NAME[@revision]) is downloaded with C(huggingface_hub) (any endpoint, for private Hub mirrors), its revision
    resolved to a commit; V(ngc://org[/team]/model:version) comes from the NGC model registry API into O(tree_path);
    a local folder is imported as a cache entry for a repo id and revision, or as a generic tree; V(s3://BUCKET/PREFIX)
    copies what an S3 store holds. Every file is checked against its blob name or listed sha256 before it gets its name
    (the Hub client itself checks only sizes).
  - With O(state=pushed), uploads the staged models to S3-compatible storage (MinIO, SeaweedFS, S3) at 1x their size
    (symlinks are never followed). The default layout stores each distinct file once under C(blobs/sha256/<hex>), keyed
    by content so models sharing a file store it once, plus a small manifest per snapshot and the refs. The
    V(hf-cache-objects) layout writes C(models--ORG--NAME/snapshots/<commit>/...) as regular objects and C(refs/), for
    consumers that sync the prefix and read it directly as a cache, and the manifest under C(models--ORG--NAME/.airlock/).
    Objects already there with the same size and sha256 metadata are skipped; with O(verify_remote) they are read back and
    hashed instead, and each one whose bytes do not verify is uploaded again. Manifests and refs are compared by their text.
    The manifest is written after every object and the refs after it, so an interrupted push is never pulled as a complete snapshot.
  - With O(state=pulled), downloads models from S3 (or copies them from a bundle folder, O(bundle_path)) into O(path)
    (and O(tree_path)), recreating the symlinks; every file is verified and written atomically, so the service can load them
    with C(HF_HUB_OFFLINE=1). Files that do not verify fail the task together, each named in RV(corrupted), and no model
    with such a file is linked.
  - With O(state=verified), hashes every staged file against its blob name or record and requires
    C(huggingface_hub.scan_cache_dir()) to report the cache clean. With O(s3), verifies the store instead of a cache; it reads
    back every object the manifests name and hashes it (objects shared by several models once), and fails naming every
    one that does not hold its recorded bytes in RV(corrupted); O(state=pushed) with O(verify_remote=true) repairs them.
  - NGC requests go through the collection's HTTP transport (O(retries), O(timeout)); a download cut midway resumes with C(Range)
    and the file's sha256 is checked over every byte. S3 requests are retried by botocore, set from the same options.
    huggingface_hub keeps its own retries and resumes; O(timeout) does not apply to it.
  - Generic trees (NGC models, NIM caches, the fine-tuning service's model folder with its C(ptm_metadatas.json)) travel
    as files and relative symlinks with a sha256 per file, at C(<tree_path>/<name>/).
author:
  - airlock.airgap maintainers (@airlock)
extends_documentation_fragment:
  - airlock.airgap.s3.models
  - airlock.airgap.attributes
  - airlock.airgap.network
attributes:
  check_mode:
    support: full
    details:
      - Resolves revisions and compares with what is staged or stored, and reports the bytes that would move, writing nothing.
      - With O(verify_remote), reads the objects back to report what would be uploaded again.
  diff_mode:
    support: none
  idempotent:
    support: full
requirements:
  - huggingface_hub (for hf:// sources and O(state=verified) on a cache)
  - boto3 (for O(state=pushed), O(state=pulled) and s3:// sources)
  - requests (for ngc:// sources)
options:
  state:
    description:
      - V(staged) fetches or imports the models; V(pushed) uploads them to O(s3); V(pulled) downloads them from O(s3);
        V(verified) checks what is staged, or with O(s3) what the store holds.
    type: str
    choices: [staged, pushed, pulled, verified]
    default: staged
  models:
    description:
      - The models. Strings V(hf://ORG/NAME[@revision]), V(ngc://org[/team]/model:version) or V(s3://BUCKET/PREFIX), or dicts
        for local folders, with C(path) and either C(repo_id) (plus optional C(revision), default V(main), and C(commit)) for a
        Hugging Face cache entry, or C(tree) (a relative name) for a generic tree.
      - With O(state=pushed), O(state=pulled) or O(state=verified) and no models, every model staged (or stored) is taken.
    type: list
    elements: raw
    default: []
  model_list:
    description:
      - A model-list CSV with the header C(displayName,ngc_path,network_arch,is_backbone); rows whose C(ngc_path) is
        C(hf_model://ORG/NAME) are Hugging Face models, the others NGC models. Added to O(models).
    type: path
  path:
    description:
      - The Hugging Face cache directory (C(HF_HUB_CACHE)) to stage into, push from, pull into or verify.
      - Required, except with O(state=verified) and O(s3), or O(state=pushed) and O(volumes).
    type: path
  tree_path:
    description:
      - The folder holding generic trees (NGC models at C(org/team/model/version/model_vversion/), imported folders).
        Required when such models are named. For the fine-tuning service this is the folder its C(LOCAL_MODEL_REGISTRY) mirrors.
    type: path
  hf_endpoint:
    description: The Hub's URL, or a private Hub mirror's. Defaults to C(HF_ENDPOINT) or the public Hub.
    type: str
  hf_token:
    description:
      - A Hugging Face token for gated or private repos (whose account accepted a gated repo's terms).
      - Without it, C(huggingface_hub) uses C(HF_TOKEN) from the module's environment, if set.
    type: str
  allow_patterns:
    description: Only files of hf:// repos matching these glob patterns are staged.
    type: list
    elements: str
  ignore_patterns:
    description: Files of hf:// repos matching these glob patterns are not staged.
    type: list
    elements: str
  ngc_api_key:
    description: An NGC API key (C(nvapi-...) or a legacy key, exchanged for a token).
    type: str
  ngc_endpoint:
    description: The NGC API's URL.
    type: str
    default: https://api.ngc.nvidia.com
  ngc_auth_endpoint:
    description: Where legacy NGC keys are exchanged for a token.
    type: str
    default: https://authn.nvidia.com
  s3:
    description: The S3-compatible store to push to or pull from.
  bundle_path:
    description:
      - With O(state=pulled), take the models from this Hugging Face cache (a bundle's C(models/) folder) instead of S3,
        verified the same way. Generic trees come from O(bundle_tree_path).
    type: path
  bundle_tree_path:
    description: With O(bundle_path), the bundle's folder of generic trees.
    type: path
  volumes:
    description:
      - With O(state=pushed), push the Hugging Face models of the bundle NAME packed in DIR, given as V(DIR:NAME), read in place
        from its volumes (its C(models/) folder), instead of O(path). Nothing is unpacked; verify the volumes first with
        M(airlock.airgap.bundle) O(state=verified). Each ref is checked against the bundle's C(SHA256SUMS) and every byte sent against
        its sha256. Generic trees (NGC models, folders) are pushed from an unpacked C(model-trees/) with O(path) and O(tree_path).
    type: str
  lock_file:
    description:
      - Merge the models, their commits and every file's sha256 into this lock file (C(airlock.lock.json)).
      - With O(state=verified), every file of a model at its locked commit is also checked against the lock's sha256,
        which catches corruption a snapshot of regular files (C(HF_HUB_DISABLE_SYMLINKS)) cannot show by its blob names.
        With O(s3), each manifest in the store is checked against the lock the same way.
    type: path
  verify_remote:
    description:
      - With O(state=pushed), read back and hash every object already in the store rather than trust its size and sha256
        metadata, and upload again each one whose bytes are not those of its file. This repairs a store that a pull or
        O(state=verified) with O(s3) reported corrupted; it reads every object of the models once, so leave it off for
        routine pushes.
    type: bool
    default: false
  progress_file:
    description:
      - With O(state=staged) or O(state=pushed), keep this JSON file up to date while the models move (rewritten whole, at most
        once a second, and once at the end) with C(bytes_done), C(bytes_total), C(bytes_per_second), C(items) and C(unsized).
      - A push knows every file before it starts; staging learns each model's size as that model is staged, so C(unsized)
        counts the models not staged yet and C(bytes_total) is a lower bound until it is 0.
      - A role runs the step with C(async) and prints it on every poll with the filter P(airlock.airgap.progress_line#filter).
        Not written in check mode.
    type: path
"""

EXAMPLES = r"""
- name: Snapshot models on the connected side, from the Hub and from a model-list CSV
  airlock.airgap.model_cache:
    state: staged
    path: /srv/bundle/models
    tree_path: /srv/bundle/model-trees
    models:
      - hf://sentence-transformers/all-MiniLM-L6-v2
      - hf://BAAI/bge-m3@5617a9f61b028005a4858fdac845db406aefb181
    model_list: /srv/tao/models.csv
    ngc_api_key: "{{ ngc_key }}"
    ignore_patterns: ["*.onnx", "openvino/*"]
    lock_file: /srv/bundle/airlock.lock.json

- name: Mirror them to the enclave's SeaweedFS at 1x, creating the bucket when it is missing
  airlock.airgap.model_cache:
    state: pushed
    path: /media/bundle/models
    s3:
      endpoint_url: http://seaweedfs.enclave:8333
      bucket: models
      create_bucket: true
      prefix: hf
      access_key: "{{ s3_access }}"
      secret_key: "{{ s3_secret }}"

- name: Restore them on a GPU node, for HF_HUB_OFFLINE=1
  airlock.airgap.model_cache:
    state: pulled
    path: /var/cache/huggingface/hub
    models: [hf://sentence-transformers/all-MiniLM-L6-v2]
    s3:
      endpoint_url: http://seaweedfs.enclave:8333
      bucket: models
      prefix: hf
      access_key: "{{ s3_access }}"
      secret_key: "{{ s3_secret }}"

- name: Check every object in the store against its manifest (fails naming each corrupted one)
  airlock.airgap.model_cache:
    state: verified
    s3:
      endpoint_url: http://seaweedfs.enclave:8333
      bucket: models
      prefix: hf
      access_key: "{{ s3_access }}"
      secret_key: "{{ s3_secret }}"

- name: Repair the store from the bundle, uploading again every object that does not verify
  airlock.airgap.model_cache:
    state: pushed
    path: /media/bundle/models
    verify_remote: true
    s3:
      endpoint_url: http://seaweedfs.enclave:8333
      bucket: models
      prefix: hf
      access_key: "{{ s3_access }}"
      secret_key: "{{ s3_secret }}"

- name: Upload the fine-tuning service's model folder exactly where LOCAL_MODEL_REGISTRY points
  airlock.airgap.model_cache:
    state: pushed
    path: /media/bundle/models
    tree_path: /media/bundle/model-trees
    models: [{path: /media/bundle/ptm, tree: ptm}]
    s3:
      endpoint_url: http://seaweedfs.enclave:8333
      bucket: tao
      prefix: ptm-registry
      layout: hf-cache-objects
      consumer_prefix: s3://tao/ptm-registry
      access_key: "{{ s3_access }}"
      secret_key: "{{ s3_secret }}"
"""

RETURN = r"""
models:
  description: One entry per model handled.
  returned: always
  type: list
  elements: dict
  contains:
    source:
      description: Where the model came from.
      type: str
    kind:
      description: V(hf) for a Hugging Face cache entry, V(tree) for a generic tree.
      type: str
    name:
      description: The repo id, or the tree's name.
      type: str
    revision:
      description: The revision asked for (or the refs naming the commit).
      type: str
    commit:
      description: The commit the revision resolved to (for a tree, the sha256 of its listing).
      type: str
    files:
      description: Every file with its path, size and sha256.
      type: list
      elements: dict
    links:
      description: A generic tree's relative symlinks, path to target.
      type: dict
    bytes:
      description: The model's size (each file once).
      type: int
    bytes_moved:
      description: Bytes downloaded, copied or uploaded (or that would be, in check mode).
      type: int
    bytes_skipped:
      description: Bytes already in place, verified, and not moved.
      type: int
    changed:
      description: Whether anything was written for this model.
      type: bool
    repaired:
      description: The files whose objects were in the store but did not hold their bytes, uploaded again.
      returned: with O(state=pushed) and O(verify_remote=true)
      type: list
      elements: str
bytes_moved:
  description: Bytes moved, over all models.
  returned: always
  type: int
bytes_skipped:
  description: Bytes skipped, over all models.
  returned: always
  type: int
seconds:
  description: Time taken.
  returned: always
  type: float
lock_file:
  description: The lock file written.
  returned: when O(lock_file) is set and not in check mode
  type: str
corrupted:
  description:
    - Every file whose stored bytes do not verify, in S3 or a bundle; the task fails.
    - For S3, O(state=pushed) with O(verify_remote=true) from a cache holding the models repairs them.
  returned: when O(state=pulled), or O(state=verified) with O(s3), finds such files
  type: list
  elements: dict
  contains:
    name:
      description: The repo id, or the tree's name.
      type: str
    commit:
      description: The model's commit.
      type: str
    path:
      description: The file's path in the model.
      type: str
    location:
      description: Where its bytes are stored (the object key, or the bundle's file).
      type: str
    sha256:
      description: The sha256 the manifest records.
      type: str
    found:
      description: What is stored there instead.
      type: str
"""

import time

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.airlock.airgap.plugins.module_utils.errors import EXPECTED_ERRORS, fail_from_exception
from ansible_collections.airlock.airgap.plugins.module_utils.arguments import refuse_scalars_for_dict_options
from ansible_collections.airlock.airgap.plugins.module_utils.http import transport as network
from ansible_collections.airlock.airgap.plugins.module_utils.integrity.bundle_files import BundleFiles
from ansible_collections.airlock.airgap.plugins.module_utils.models import hub, lock, ngc, operations, s3store, sources
from ansible_collections.airlock.airgap.plugins.module_utils.models.errors import ModelError
from ansible_collections.airlock.airgap.plugins.module_utils.report.progress import Progress

S3_OPTIONS = dict(
    bucket=dict(type="str", required=True),
    prefix=dict(type="str", default=""),
    endpoint_url=dict(type="str"),
    access_key=dict(type="str", no_log=False),
    secret_key=dict(type="str", no_log=True),
    region=dict(type="str", default="us-east-1"),
    layout=dict(type="str", choices=list(s3store.LAYOUTS), default=s3store.CONTENT_ADDRESSED),
    concurrency=dict(type="int", default=8),
    multipart_threshold=dict(type="int", default=64 * 1024 * 1024),
    multipart_chunksize=dict(type="int", default=16 * 1024 * 1024),
    ca_bundle=dict(type="path"),
    consumer_prefix=dict(type="str"),
    create_bucket=dict(type="bool", default=False),
)

ARGUMENT_SPEC = dict(
    state=dict(type="str", choices=["staged", "pushed", "pulled", "verified"], default="staged"),
    models=dict(type="list", elements="raw", default=[]),
    model_list=dict(type="path"),
    path=dict(type="path"),
    tree_path=dict(type="path"),
    hf_endpoint=dict(type="str"),
    hf_token=dict(type="str", no_log=True),
    allow_patterns=dict(type="list", elements="str"),
    ignore_patterns=dict(type="list", elements="str"),
    ngc_api_key=dict(type="str", no_log=True),
    ngc_endpoint=dict(type="str", default=ngc.DEFAULT_API),
    ngc_auth_endpoint=dict(type="str", default=ngc.DEFAULT_AUTH),
    s3=dict(type="dict", options=S3_OPTIONS),
    bundle_path=dict(type="path"),
    bundle_tree_path=dict(type="path"),
    volumes=dict(type="str"),
    lock_file=dict(type="path"),
    verify_remote=dict(type="bool", default=False),
    **network.ARGUMENT_SPEC,
    progress_file=dict(type="path"),
)
REQUIRED_IF = [("state", "staged", ["path"]), ("state", "pushed", ["path", "volumes"], True), ("state", "pulled", ["path"]),
               ("state", "verified", ["path", "s3"], True)]

OPERATIONS = {"staged": operations.stage, "pushed": operations.push, "pulled": operations.pull, "verified": operations.verify}


def required_libraries(params, models):
    """(name, import error) of each library these models and this state need."""
    state = params["state"]
    on_store = state == "pushed" or (state == "pulled" and not params["bundle_path"]) or (state == "verified" and params["s3"])
    needed = []
    if (state == "verified" and not params["s3"]) or any(isinstance(m, sources.HubSource) for m in models):
        needed.append(("huggingface_hub", hub.HUGGINGFACE_HUB_IMPORT_ERROR))
    if on_store or any(isinstance(m, sources.S3Source) for m in models):
        needed.append(("boto3", s3store.BOTO3_IMPORT_ERROR))
    if any(isinstance(m, sources.NgcSource) for m in models):
        needed.append(("requests", network.REQUESTS_IMPORT_ERROR))
    return [(name, error) for name, error in needed if error]


def places_from(params, check_mode):
    s3 = params["s3"]
    settings = s3store.S3Settings(
        bucket=s3["bucket"], prefix=s3["prefix"], endpoint_url=s3["endpoint_url"], access_key=s3["access_key"], secret_key=s3["secret_key"],
        region=s3["region"], layout=s3["layout"], concurrency=max(1, s3["concurrency"]), multipart_threshold=max(5 * 1024 * 1024, s3["multipart_threshold"]),
        multipart_chunksize=max(5 * 1024 * 1024, s3["multipart_chunksize"]), ca_bundle=s3["ca_bundle"], consumer_prefix=s3["consumer_prefix"],
        create_bucket=s3["create_bucket"] and params["state"] == "pushed", retries=params["retries"], timeout=params["timeout"],
    ) if s3 else None
    return operations.Places(
        cache=params["path"], tree_root=params["tree_path"],
        hub=hub.HubSettings(params["hf_endpoint"], params["hf_token"], params["allow_patterns"], params["ignore_patterns"]),
        ngc_key=params["ngc_api_key"], ngc_endpoint=params["ngc_endpoint"], ngc_auth_endpoint=params["ngc_auth_endpoint"],
        s3=settings, check_mode=check_mode, bundle_cache=params["bundle_path"], bundle_tree_root=params["bundle_tree_path"],
        lock_file=params["lock_file"], verify_remote=params["verify_remote"], volumes=bundle_volumes(params),
        retry=network.policy_from(params), timeout=params["timeout"],
    )


def progress_path(params, check_mode):
    """Where staging or pushing reports its progress; nothing else moves enough to need it, and check mode writes nothing."""
    return None if check_mode or params["state"] not in ("staged", "pushed") else params["progress_file"]


def bundle_volumes(params):
    """The `volumes` option (DIR:NAME) as the bundle's files, read in place; only a push reads them."""
    if not params["volumes"]:
        return None
    if params["state"] != "pushed":
        raise ModelError(f"volumes is read only with state=pushed, not state={params['state']}: unpack the bundle to {params['state']} its models")
    directory, _sep, name = params["volumes"].rpartition(":")
    if not (directory and name):
        raise ModelError(f"volumes is {params['volumes']!r}: give DIR:NAME, the volumes' directory and the bundle's name (/media/usb:release-42)")
    return BundleFiles(directory, name)


def main():
    refuse_scalars_for_dict_options(ARGUMENT_SPEC)
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, required_if=REQUIRED_IF, supports_check_mode=True)
    params = module.params
    started = time.monotonic()
    try:
        models = [sources.parse(spec) for spec in params["models"]]
        if params["model_list"]:
            models.extend(m for m in sources.read_model_list(params["model_list"]) if m not in models)
        for name, error in required_libraries(params, models):
            module.fail_json(msg=missing_required_lib(name), exception=error)
        places = places_from(params, module.check_mode)
        created = bool(places.s3 and places.s3.create_bucket) and s3store.Store(places.s3).create_bucket(module.check_mode)
        places.progress = Progress(progress_path(params, module.check_mode), unsized=len(models))
        try:
            results = OPERATIONS[params["state"]](models, places)
        finally:
            places.progress.finish()
    except EXPECTED_ERRORS as error:
        fail_from_exception(module, error)
    report = dict(changed=created or any(r["changed"] for r in results), models=results,
                  bytes_moved=sum(r["bytes_moved"] for r in results), bytes_skipped=sum(r["bytes_skipped"] for r in results))
    if params["lock_file"] and not module.check_mode and params["state"] in ("staged", "pulled"):
        report["changed"] = lock.write(params["lock_file"], results) or report["changed"]
        report["lock_file"] = params["lock_file"]
    report["seconds"] = round(time.monotonic() - started, 3)
    module.exit_json(**report)


if __name__ == "__main__":
    main()
