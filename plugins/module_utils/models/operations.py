# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The four things model_cache does (stage, push, pull, verify), each over a list of sources.

Hugging Face models live in the cache (HF_HUB_CACHE layout); NGC models and other folders
in the tree root. Each operation returns one record per model: what it is, which commit,
how many files and bytes, and how many bytes were moved and skipped.

Files whose stored bytes do not verify (in S3 or a bundle) fail a pull or a verification all
together, each named, with the task that repairs them: a store is repaired by a push that
reads its objects back (verify_remote), never by pulling again.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import shutil

from ansible_collections.airlock.airgap.plugins.module_utils.http import transport
from ansible_collections.airlock.airgap.plugins.module_utils.models import hf_cache, hub, ngc, s3store, sources, transfer, trees, volume_cache
from ansible_collections.airlock.airgap.plugins.module_utils.models import snapshot as snapshots
from ansible_collections.airlock.airgap.plugins.module_utils.models.errors import CorruptedFiles, ModelError
from ansible_collections.airlock.airgap.plugins.module_utils.report.progress import Progress

REPAIR_STORE = ("The store's copies are damaged, so pulling again cannot help. Repair them with model_cache state: pushed and "
                "verify_remote: true to this s3, from a cache that holds these models (the one they were pushed from, or a bundle's "
                "models folder): it reads every object back and uploads again each one that does not verify. model_cache state: verified "
                "with this s3 then reports the store clean.")
PULL_FROM_STORE_FIX = f"Nothing was linked for these models. {REPAIR_STORE} Then pull again."
PULL_FROM_BUNDLE_FIX = ("Nothing was linked for these models. The bundle's copies are damaged: copy the bundle again from the connected side "
                        "(model_cache state: verified with path set to the bundle's models folder checks it), then pull again.")


@dataclasses.dataclass
class Places:  # pylint: disable=too-many-instance-attributes
    """Where models are on this machine and how to reach their sources and the store."""

    cache: str
    tree_root: str = None
    hub: hub.HubSettings = None
    ngc_key: str = None
    ngc_endpoint: str = None
    ngc_auth_endpoint: str = None
    s3: s3store.S3Settings = None
    check_mode: bool = False
    bundle_cache: str = None
    bundle_tree_root: str = None
    lock_file: str = None
    verify_remote: bool = False
    volumes: object = None  # a bundle's volumes (integrity.bundle_files.BundleFiles) to push from, read in place
    retry: transport.RetryPolicy = transport.RetryPolicy()
    timeout: int = 300
    progress: Progress = dataclasses.field(default_factory=lambda: Progress(None))  # bytes staged or pushed, for a progress file

    def need_tree_root(self, source):
        if not self.tree_root:
            raise ModelError(f"{source} is a generic tree (NGC model or folder): give tree_path, the folder that holds such trees")
        return self.tree_root


def record(snapshot, moved, skipped, changed, revision=""):
    """The per-model line of the module's result."""
    return {"source": snapshot.source, "kind": snapshot.kind, "name": snapshot.name, "revision": revision or ",".join(snapshot.refs),
            "commit": snapshot.commit, "files": [{"path": e.path, "size": e.size, "sha256": e.sha256} for e in snapshot.files],
            "links": dict(snapshot.links), "bytes": snapshot.size,
            "bytes_moved": moved, "bytes_skipped": skipped, "changed": bool(changed)}


def stage(models, places):
    """Fetch or import every source into the cache or the tree root, verified."""
    results = []
    for source in models:
        if isinstance(source, sources.S3Source):
            if places.s3 is None:
                raise ModelError(f"{source}: give s3 (endpoint_url, access_key, secret_key) to read the store with")
            results.extend(pull([], places, dataclasses.replace(places.s3, bucket=source.bucket, prefix=source.prefix)))
            places.progress.sized()
            continue
        snapshot, moved, skipped, changed = stage_one(source, places)
        _staged(places.progress, snapshot)
        snapshot.source = str(source)
        results.append(record(snapshot, moved, skipped, changed, getattr(source, "revision", "")))
    return results


def _staged(progress, snapshot):
    """A model's size is learnt as it is staged: its bytes join the total and are done at once."""
    progress.expect(snapshot.size, len(snapshot.files))
    progress.sized()
    progress.advance(snapshot.size, len(snapshot.files))


def stage_one(source, places):
    if isinstance(source, sources.HubSource):
        return hub.stage(source, places.cache, places.hub or hub.HubSettings(), places.check_mode)
    if isinstance(source, sources.LocalSource):
        return hf_cache.import_folder(source.path, places.cache, source, places.check_mode)
    if isinstance(source, sources.TreeSource):
        return import_tree(source, places)
    client = ngc.NgcClient(places.ngc_key, places.ngc_endpoint, places.ngc_auth_endpoint, places.retry, places.timeout)
    return ngc.stage(client, source, places.need_tree_root(source), places.check_mode)


def import_tree(source, places):
    root = places.need_tree_root(source)
    snapshot, moved, changed = trees.import_folder(source.path, root, source.name, str(source), places.check_mode)
    return snapshot, moved, snapshot.size - moved, changed


def local_snapshots(models, places, verify):
    """The staged snapshots the sources name (all staged ones when none are named)."""
    if not models:
        found = [hf_cache.read_snapshot(places.cache, repo_id, commit, verify)
                 for repo_id in hf_cache.listed_models(places.cache) for commit in hf_cache.commits(places.cache, repo_id)]
        return found + [trees.read_record(places.tree_root, name) for name in (trees.listed_trees(places.tree_root) if places.tree_root else [])]
    found = []
    for source in models:
        if isinstance(source, (sources.HubSource, sources.LocalSource)):
            found.append(hf_cache.read_snapshot(places.cache, source.repo_id, _revision(source), verify))
        else:
            found.append(trees.read_record(places.need_tree_root(source), _tree_name(source)))
    return found


def _revision(source):
    return (getattr(source, "commit", "") or source.revision)


def _tree_name(source):
    if isinstance(source, sources.NgcSource):
        return source.tree_name
    if isinstance(source, sources.TreeSource):
        return source.name
    raise ModelError(f"{source} cannot be named here: give hf://, ngc:// or a dict with tree")


def open_store(settings):
    if settings is None:
        raise ModelError("give s3 (bucket, endpoint_url, access_key, secret_key) to push to or pull from")
    s3store.check_consumer_prefix(settings)
    store = s3store.Store(settings)
    store.check_bucket()
    return store


def push(models, places):
    store = open_store(places.s3)
    results = []
    pushable = _pushable(models, places)
    places.progress.unsized = 0
    for snapshot, _locate in pushable:
        objects = transfer.distinct_objects(store, snapshot).values()
        places.progress.expect(sum(entry.size for entry in objects), len(objects))
    for snapshot, locate in pushable:
        moved = transfer.push(store, snapshot, functools.partial(locate, snapshot), places.check_mode, places.verify_remote,
                              places.progress)
        results.append(record(snapshot, moved.moved, moved.skipped, moved.changed))
        if places.verify_remote:
            results[-1]["repaired"] = sorted(moved.repaired)
    return results


def _pushable(models, places):
    """[(snapshot, locate(snapshot, entry))]: Hugging Face models from a bundle's volumes when given, read in place;
    generic trees (and every model without volumes) from the local cache and tree root."""
    local = functools.partial(local_file, places)
    if places.volumes is None:
        return [(snapshot, local) for snapshot in local_snapshots(models, places, verify=False)]
    cache = volume_cache.VolumeCache(places.volumes)
    if not models:  # all: the bundle's Hugging Face models, and the trees of the tree root when there is one
        trees_held = [trees.read_record(places.tree_root, name) for name in trees.listed_trees(places.tree_root)] if places.tree_root else []
        return [(snapshot, cache.opener) for snapshot in cache.snapshots([])] + [(snapshot, local) for snapshot in trees_held]
    in_cache = [m for m in models if isinstance(m, (sources.HubSource, sources.LocalSource))]
    elsewhere = [m for m in models if m not in in_cache]
    found = [(snapshot, cache.opener) for snapshot in cache.snapshots(in_cache)] if in_cache else []
    return found + ([(snapshot, local) for snapshot in local_snapshots(elsewhere, places, verify=False)] if elsewhere else [])


def local_file(places, snapshot, entry):
    """Where a staged file is read from, in the cache or the tree root its kind is staged in."""
    return snapshot.local_path(snapshot.home(places), entry)


def pull(models, places, settings=None):
    """Get snapshots from the store (or a bundle folder) into the cache / tree root; all there are when none are named."""
    if places.bundle_cache and settings is None:
        return pull_from_bundle(models, places)
    store = open_store(settings or places.s3)

    def pull_from_store(snapshot):
        snapshot.source = snapshot.source or store.where
        return pull_one(snapshot, places, transfer.fill_from_store(store, snapshot), store.settings.concurrency)
    return _pull_each(remote_snapshots(store, models), pull_from_store, functools.partial(_object_location, store), store.where, PULL_FROM_STORE_FIX)


def remote_snapshots(store, models):
    """The snapshots the sources name in the store (every one it holds when none are named), from their manifests."""
    if models:
        return [_remote(store, source) for source in models]
    refs, names = transfer.remote_contents(store)
    return [transfer.remote_hf_snapshot(store, repo_id, ref) for repo_id, ref in refs] + [transfer.remote_tree(store, n) for n in names]


def _object_location(store, snapshot, entry):
    return store.key(transfer.object_key(store, snapshot, entry))


def pull_from_bundle(models, places):
    """The same as a pull from S3, from a bundle's models folder (a Hugging Face cache) and tree folder."""
    origin = Places(cache=places.bundle_cache, tree_root=places.bundle_tree_root)

    def pull_from_folder(snapshot):
        snapshot.source = snapshot.home(origin)

        def fill_for(entry):
            return functools.partial(_copy_file, local_file(origin, snapshot, entry))
        return pull_one(snapshot, places, fill_for, workers=4)
    return _pull_each(local_snapshots(models, origin, verify=False), pull_from_folder, functools.partial(local_file, origin),
                      f"the bundle {places.bundle_cache}", PULL_FROM_BUNDLE_FIX)


def _pull_each(wanted, pull_snapshot, locate, where, fix):
    """pull_snapshot(snapshot) for every snapshot, the next one tried when one has corrupted files, which then fail the
    run together, each named with where it is stored (locate(snapshot, entry)) and how to repair it."""
    results, corrupted = [], []
    for snapshot in wanted:
        try:
            moved = pull_snapshot(snapshot)
        except CorruptedFiles as error:
            corrupted += [_corrupted(snapshot, failure.entry, locate(snapshot, failure.entry), failure.found) for failure in error.failures]
            continue
        results.append(record(snapshot, moved.moved, moved.skipped, moved.changed))
    if corrupted:
        raise _corruption_error(where, corrupted, fix)
    return results


def _corrupted(snapshot, entry, location, found):
    """One file that did not verify, as the failed task reports it."""
    return {"name": snapshot.name, "commit": snapshot.commit, "path": entry.path, "location": location, "sha256": entry.sha256, "found": found}


def _corruption_error(where, corrupted, fix):
    listing = "; ".join(f"{item['name']}@{item['commit']}: {item['path']} ({item['location']} holds {item['found']}, not sha256 {item['sha256']})"
                        for item in corrupted)
    return ModelError(f"{len(corrupted)} file(s) in {where} do not hold the bytes their manifest records: {listing}. {fix}", corrupted=corrupted)


def _copy_file(path, handle):
    with open(path, "rb") as source:
        shutil.copyfileobj(source, handle, 4 * 1024 * 1024)


def _remote(store, source):
    if isinstance(source, (sources.HubSource, sources.LocalSource)):
        return transfer.remote_hf_snapshot(store, source.repo_id, _revision(source))
    return transfer.remote_tree(store, _tree_name(source))


def pull_one(snapshot, places, fill_for, workers):
    """Place every file of the snapshot, verified, then its links and refs (or tree record) last."""
    home = snapshot.home(places)
    moved = transfer.pull(snapshot, snapshot.placer(home, places.check_mode), fill_for, workers)
    moved.changed = snapshot.complete(home, places.check_mode) or moved.changed
    return moved


def verify(models, places):
    """Every staged file hashed against its blob name or record; the cache must scan clean. With s3, the store instead."""
    if places.s3 is not None:
        return verify_store(models, places)
    results = []
    locked = _locked_models(places.lock_file)
    for snapshot in local_snapshots(models, places, verify=True):
        snapshot.verify_staged(snapshot.home(places))
        _check_against_lock(snapshot, locked.get((snapshot.kind, snapshot.name)), places.lock_file, "stage or pull the model again")
        results.append(record(snapshot, 0, 0, False))
    warnings = hub.scan_warnings(places.cache) if os.path.isdir(places.cache) else []
    if warnings:
        raise ModelError(f"huggingface_hub.scan_cache_dir() reports {len(warnings)} problem(s) in {places.cache}: {'; '.join(warnings[:5])}")
    return results


def verify_store(models, places):
    """Every object the store's manifests name, read back and hashed (each manifest checked against the lock first, when
    one is given): bytes changed under unchanged size and sha256 metadata show here, not at the next pull."""
    store = open_store(places.s3)
    wanted = remote_snapshots(store, models)
    locked = _locked_models(places.lock_file)
    for snapshot in wanted:
        _check_against_lock(snapshot, locked.get((snapshot.kind, snapshot.name)), places.lock_file,
                            f"push the model again to {store.where} from a cache that verifies against the lock")
    corrupted = [_corrupted(snapshot, entry, key, _found(found)) for snapshot, entry, key, found in transfer.unverified_objects(store, wanted)]
    if corrupted:
        raise _corruption_error(store.where, corrupted, REPAIR_STORE)
    return [record(snapshot, 0, 0, False) for snapshot in wanted]


def _found(read_back):
    """What an object read back holds, in words."""
    return "nothing (the object is missing)" if read_back is None else snapshots.bytes_found(*read_back)


def _locked_models(path):
    """(kind, name) -> the lock's entry, when a lock file is given (and exists)."""
    if not path or not os.path.isfile(path):
        return {}
    try:
        with open(path, encoding="utf-8") as handle:
            entries = json.load(handle).get("models", [])
        return {(entry["kind"], entry["name"]): entry for entry in entries}
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ModelError(f"{path} is not a lock file this collection wrote ({error}): write it again with state=staged") from error


def _check_against_lock(snapshot, locked, lock_file, fix):
    """Every file of a snapshot at the locked commit has the locked sha256: this catches what the blob names
    cannot, such as a corrupted regular-file snapshot (HF_HUB_DISABLE_SYMLINKS), whose blob name is its own sha256,
    or a manifest in a store that no longer lists what was locked."""
    if not locked or locked.get("commit") != snapshot.commit:
        return
    want = {item.get("path"): item.get("sha256") for item in locked.get("files", []) if isinstance(item, dict)}
    have = {entry.path: entry.sha256 for entry in snapshot.files}
    for path in sorted(set(want) | set(have)):
        if want.get(path) != have.get(path):
            state = "missing" if path not in have else ("not in the lock" if path not in want else f"corrupted (sha256 {have[path]}, locked {want[path]})")
            raise ModelError(f"{snapshot.kind} {snapshot.name}@{snapshot.commit}: {path} is {state} according to {lock_file}; {fix}")
