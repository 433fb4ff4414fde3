# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Move snapshots between a local cache (or tree root) and an S3 store, in either layout.

Push sends each distinct object once, in parallel, skipping what the store already holds
with the same size and sha256, and writes the manifest and refs last, so a reader never
finds a ref naming a snapshot whose bytes are not all there. Pull writes every file through
a temporary name and gives it its name only once its sha256 (and blob name) match.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses

from ansible_collections.airlock.airgap.plugins.module_utils.models import hf_cache
from ansible_collections.airlock.airgap.plugins.module_utils.models import s3store
from ansible_collections.airlock.airgap.plugins.module_utils.models import snapshot as snapshots
from ansible_collections.airlock.airgap.plugins.module_utils.models import trees
from ansible_collections.airlock.airgap.plugins.module_utils.models.errors import ModelError


@dataclasses.dataclass
class Moved:
    moved: int = 0
    skipped: int = 0
    changed: bool = False

    def add(self, other):
        self.moved += other.moved
        self.skipped += other.skipped
        self.changed = self.changed or other.changed


def object_key(store, snapshot, entry):
    if store.settings.layout == s3store.CONTENT_ADDRESSED:
        return f"blobs/sha256/{entry.sha256}"
    if snapshot.kind == "hf":
        return f"{s3store.hf_folder(snapshot.name)}/snapshots/{snapshot.commit}/{entry.path}"
    return entry.path if snapshot.name == trees.ROOT else f"{snapshot.name}/{entry.path}"


def manifest_key(snapshot):
    if snapshot.kind == "hf":
        return f"{s3store.hf_folder(snapshot.name)}/snapshots/{snapshot.commit}.json"
    return f"{s3store.TREES}/{trees.record_stem(snapshot.name)}.json"


def push(store, snapshot, local_path, check_mode=False):
    """Upload the snapshot's files (local_path(entry) says where each lies), then its manifest and refs."""
    distinct = {}
    for entry in snapshot.files:
        distinct.setdefault(object_key(store, snapshot, entry), entry)
    result = Moved()

    def send(item):
        key, entry = item
        if store.has(store.key(key), entry):
            return Moved(skipped=entry.size)
        if not check_mode:
            store.upload(store.key(key), local_path(entry), entry)
        return Moved(moved=entry.size, changed=True)

    for outcome in run_parallel(send, sorted(distinct.items()), store.settings.concurrency):
        result.add(outcome)
    if check_mode:
        return result
    if snapshot.kind == "tree" or store.settings.layout == s3store.CONTENT_ADDRESSED:
        result.changed = store.put_text(store.key(manifest_key(snapshot)), snapshot.to_json()) or result.changed
    if snapshot.kind == "hf":
        for ref in snapshot.refs:
            result.changed = store.put_text(store.key(s3store.hf_folder(snapshot.name), "refs", ref), snapshot.commit) or result.changed
    return result


def run_parallel(action, items, workers):
    """action(item) for every item on a bounded pool; the first failure is raised after all have stopped."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = [pool.submit(action, item) for item in items]
        outcomes, failures = [], []
        for future in futures:
            try:
                outcomes.append(future.result())
            except (ModelError, OSError) as error:
                failures.append(error)
    if failures:
        raise failures[0]
    return outcomes


def remote_hf_snapshot(store, repo_id, revision):
    """The snapshot a repo's revision names in the store, from its manifest or its objects' metadata."""
    folder = s3store.hf_folder(repo_id)
    commit = revision
    if not hf_cache.COMMIT.match(revision):
        commit = store.get_text(store.key(folder, "refs", revision),
                                f"{store.where} has no {repo_id}@{revision} (no {folder}/refs/{revision}): push it first").strip()
    if store.settings.layout == s3store.CONTENT_ADDRESSED:
        text = store.get_text(store.key(folder, "snapshots", f"{commit}.json"),
                              f"{store.where} has no manifest for {repo_id}@{commit}: push it first (layout {store.settings.layout})")
        found = snapshots.Snapshot.from_json(text, f"{store.where}/{folder}/snapshots/{commit}.json")
    else:
        found = snapshots.Snapshot("hf", repo_id, commit, objects_listing(store, f"{folder}/snapshots/{commit}"))
        if not found.files:
            raise ModelError(f"{store.where} has no objects under {folder}/snapshots/{commit}/: push {repo_id} first (layout {store.settings.layout})")
    found.refs = [] if revision == commit else [revision]
    return found


def objects_listing(store, under):
    """File entries of plain objects, their sha256 and blob name read from each object's metadata."""
    entries = []
    for key, size in store.list_keys(under):
        relative = store.relative(key)[len(under) + 1:]
        stat = store.stat(key)
        if not stat or not snapshots.SHA256_HEX.match(stat[1]):
            raise ModelError(f"{store.where}/{store.relative(key)} carries no sha256 metadata: it was not written by this collection, "
                             "push the model again")
        entries.append(snapshots.FileEntry(snapshots.check_relative(relative, under), size, stat[1], stat[2].get("blob") or stat[1]))
    return entries


def remote_tree(store, name):
    key = f"{s3store.TREES}/{trees.record_stem(name)}.json"
    text = store.get_text(store.key(key), f"{store.where} has no tree {name} ({key}): push it first")
    return snapshots.Snapshot.from_json(text, f"{store.where}/{key}")


def remote_contents(store):
    """(repo id, revision) for every ref and the names of every tree the store holds."""
    models = []
    for folder in store.folders():
        if folder.startswith("models--"):
            repo_id = folder[len("models--"):].replace("--", "/")
            for key, _size in store.list_keys(f"{folder}/refs"):
                models.append((repo_id, store.relative(key)[len(folder) + len("/refs/"):]))
    names = [store.relative(key)[len(s3store.TREES) + 1:-len(".json")] for key, _size in store.list_keys(s3store.TREES) if key.endswith(".json")]
    return models, [remote_tree(store, name).name for name in names]


def fill_from_store(store, snapshot):
    """fill_for(entry) for pull(): each file's bytes downloaded from its object."""
    def fill_for(entry):
        key = store.key(object_key(store, snapshot, entry))
        return lambda handle: store.download(key, handle, f"{snapshot.name}: {entry.path}")
    return fill_for


def pull(snapshot, place, fill_for, workers):
    """Get every file the snapshot lists: place(entry, fill) writes one verified, fill(handle) supplying the
    bytes, and says whether it wrote (in check mode, whether it would)."""
    def fetch(entry):
        written = place(entry, fill_for(entry))
        return Moved(moved=entry.size, changed=True) if written else Moved(skipped=entry.size)

    distinct = {(entry.blob if snapshot.kind == "hf" else entry.path): entry for entry in snapshot.files}
    result = Moved()
    for outcome in run_parallel(fetch, list(distinct.values()), workers):
        result.add(outcome)
    return result
