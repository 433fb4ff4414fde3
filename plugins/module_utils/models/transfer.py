# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Move snapshots between a local cache (or tree root) and an S3 store, in either layout.

Push sends each distinct object once, in parallel, skipping what the store already holds
with the same size and sha256 (read back and hashed, with verify_remote), and writes the
manifest and refs last, so a reader never finds a ref naming a snapshot whose bytes are not
all there. Pull writes every file through a temporary name and gives it its name only once
its sha256 (and blob name) match; every file that does not is named in one error.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses

from ansible_collections.airlock.airgap.plugins.module_utils.models import hf_cache
from ansible_collections.airlock.airgap.plugins.module_utils.models import s3store
from ansible_collections.airlock.airgap.plugins.module_utils.models import snapshot as snapshots
from ansible_collections.airlock.airgap.plugins.module_utils.models import trees
from ansible_collections.airlock.airgap.plugins.module_utils.models.errors import CorruptedFile, CorruptedFiles, ModelError


@dataclasses.dataclass
class Moved:
    """Bytes moved and skipped; repaired names the files whose stored objects did not verify and were sent again."""

    moved: int = 0
    skipped: int = 0
    changed: bool = False
    repaired: list = dataclasses.field(default_factory=list)

    def add(self, other):
        self.moved += other.moved
        self.skipped += other.skipped
        self.changed = self.changed or other.changed
        self.repaired += other.repaired


def object_key(store, snapshot, entry):
    if store.settings.layout == s3store.CONTENT_ADDRESSED:
        return f"blobs/sha256/{entry.sha256}"
    return snapshot.object_path(entry)


def manifest_key(store, snapshot):
    """Where the snapshot's manifest lives. In hf-cache-objects it stays out of snapshots/ (where
    huggingface_hub would take a file for a corrupted cache), in a folder the cache scan ignores."""
    return snapshot.manifest_path(hf_cache.STORE_MANIFESTS if store.settings.layout == s3store.HF_CACHE_OBJECTS else None)


def distinct_objects(store, snapshot):
    """{object key: file entry}: files with the same content share one object in the content-addressed layout."""
    distinct = {}
    for entry in snapshot.files:
        distinct.setdefault(object_key(store, snapshot, entry), entry)
    return distinct


def push(store, snapshot, local_path, check_mode=False, verify_remote=False, progress=None):  # pylint: disable=too-many-arguments
    """Upload the snapshot's files (local_path(entry) says where each lies), then its manifest and refs. With
    verify_remote, an object already there is read back and hashed rather than trusted by its metadata. progress
    (report.progress.Progress) counts each object once it is in place."""
    distinct = distinct_objects(store, snapshot)
    result = Moved()

    def send(item):
        key, entry = item
        found = store.read_back(store.key(key), entry.path) if verify_remote else None
        present = holds(found, entry) if verify_remote else store.has(store.key(key), entry)
        if present:
            moved = Moved(skipped=entry.size)
        else:
            if not check_mode:
                store.upload(store.key(key), local_path(entry), entry)
            moved = Moved(moved=entry.size, changed=True, repaired=[entry.path] if found else [])
        if progress is not None:
            progress.advance(entry.size)
        return moved

    for outcome in run_parallel(send, sorted(distinct.items()), store.settings.concurrency):
        result.add(outcome)
    # The manifest after every object, the refs after the manifest: a pull requires the manifest, so an
    # interrupted push is never taken for a complete snapshot, in either layout.
    texts = [(manifest_key(store, snapshot), snapshot.to_json())] + snapshot.ref_objects()
    for key, text in texts:
        result.changed = store.put_text(store.key(key), text, check_mode) or result.changed
    return result


def holds(found, entry):
    """Whether an object read back as found ((size, sha256), or None when absent) holds the entry's bytes."""
    return found == (entry.size, entry.sha256)


def run_parallel(action, items, workers):
    """action(item) for every item on a bounded pool, raising once all have stopped: the first failure that is not a
    corrupted file, else every corrupted file together, so that one error names them all rather than the first."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = [pool.submit(action, item) for item in items]
        outcomes, failures = [], []
        for future in futures:
            try:
                outcomes.append(future.result())
            except (ModelError, OSError) as error:
                failures.append(error)
    others = [failure for failure in failures if not isinstance(failure, CorruptedFile)]
    if others:
        raise others[0]
    if failures:
        raise CorruptedFiles(failures)
    return outcomes


def remote_hf_snapshot(store, repo_id, revision):
    """The snapshot a repo's revision names in the store, from its manifest (checked to be the one asked for)."""
    folder = hf_cache.repo_folder_name(repo_id)
    commit = revision
    if not hf_cache.COMMIT.match(revision):
        commit = store.get_text(store.key(folder, "refs", revision),
                                f"{store.where} has no {repo_id}@{revision} (no {folder}/refs/{revision}): push it first").strip()
        if not hf_cache.COMMIT.match(commit):
            raise ModelError(f"{store.where}/{folder}/refs/{revision} does not hold a 40-hex commit: push {repo_id} again")
    key = manifest_key(store, hf_cache.HfSnapshot(repo_id, commit, []))
    text = store.get_text(store.key(key), f"{store.where} has no manifest for {repo_id}@{commit} ({key}): push it first, completely "
                                          f"(layout {store.settings.layout})")
    found = snapshots.Snapshot.from_json(text, f"{store.where}/{key}")
    if not isinstance(found, hf_cache.HfSnapshot) or found.name != repo_id or found.commit != commit:
        raise ModelError(f"{store.where}/{key} describes {found.kind} {found.name}@{found.commit}, not hf {repo_id}@{commit}: "
                         "refusing it; push the model again")
    found.refs = [] if revision == commit else [revision]
    return found


def remote_tree(store, name, stem=False):
    """A tree's manifest, checked to be the tree asked for (by name, or by its record stem when listed)."""
    key = f"{trees.STORE_RECORDS}/{name if stem else trees.record_stem(name)}.json"
    text = store.get_text(store.key(key), f"{store.where} has no tree {name} ({key}): push it first")
    found = snapshots.Snapshot.from_json(text, f"{store.where}/{key}")
    if not isinstance(found, trees.TreeSnapshot) or (trees.record_stem(found.name) != name if stem else found.name != name):
        raise ModelError(f"{store.where}/{key} describes {found.kind} {found.name}, not the tree {name}: refusing it; push the tree again")
    trees.check_layout(found)
    return found


def remote_contents(store):
    """(repo id, revision) for every ref and the names of every tree the store holds."""
    models = []
    for folder in store.folders():
        repo_id = hf_cache.repo_id_of(folder)
        if repo_id is not None:
            for key, _size in store.list_keys(f"{folder}/refs"):
                ref = store.relative(key)[len(folder) + len("/refs/"):]
                if not any(part.startswith(".") for part in ref.split("/")):  # a git ref never has a dot-name (temporary files do)
                    models.append((repo_id, ref))
    names = [store.relative(key)[len(trees.STORE_RECORDS) + 1:-len(".json")] for key, _size in store.list_keys(trees.STORE_RECORDS)
             if key.endswith(".json") and "/" not in store.relative(key)[len(trees.STORE_RECORDS) + 1:]]
    return models, [remote_tree(store, name, stem=True).name for name in names]


def unverified_objects(store, wanted):
    """Every object the snapshots' manifests name, read back and hashed, each once even when models share it:
    (snapshot, entry, key, found) for each use of an object that does not hold the entry's bytes (found is
    (size, sha256), or None when the object is absent)."""
    uses = {}
    for snapshot in wanted:
        for entry in snapshot.files:
            uses.setdefault(store.key(object_key(store, snapshot, entry)), []).append((snapshot, entry))

    def check(item):
        key, users = item
        found = store.read_back(key, users[0][1].path)
        return [(snapshot, entry, key, found) for snapshot, entry in users if not holds(found, entry)]

    return [bad for outcome in run_parallel(check, sorted(uses.items()), store.settings.concurrency) for bad in outcome]


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

    distinct = {snapshot.distinct_key(entry): entry for entry in snapshot.files}
    result = Moved()
    for outcome in run_parallel(fetch, list(distinct.values()), workers):
        result.add(outcome)
    return result
