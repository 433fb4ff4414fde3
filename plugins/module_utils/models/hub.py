# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stage hf://ORG/NAME[@revision] into a Hugging Face cache with the real huggingface_hub client.

The revision is resolved to a commit first, so a model already staged at that commit costs
two small API calls and a verification, no download. Otherwise snapshot_download writes into
a private cache inside the target (a dot-folder, so renames never cross file systems); every file there is checked against its blob name and the
Hub's own listing (the client checks only sizes), and only then are the blobs renamed into
the target and the snapshot and refs linked. A bad file leaves the target untouched.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import shutil
import tempfile
import traceback

from ansible_collections.airlock.airgap.plugins.module_utils.models import hf_cache
from ansible_collections.airlock.airgap.plugins.module_utils.models import snapshot as snapshots
from ansible_collections.airlock.airgap.plugins.module_utils.models.errors import ModelError

try:
    import huggingface_hub
    from huggingface_hub import errors as hub_errors
    from huggingface_hub.utils import filter_repo_objects
    HUGGINGFACE_HUB_IMPORT_ERROR = None
except ImportError:
    huggingface_hub = hub_errors = filter_repo_objects = None
    HUGGINGFACE_HUB_IMPORT_ERROR = traceback.format_exc()


STAGE_PREFIX = ".airlock-stage-"


class HubSettings:  # pylint: disable=too-few-public-methods
    """Where the Hub (or a private mirror of it) answers, and what to take from each repo."""

    def __init__(self, endpoint=None, token=None, allow_patterns=None, ignore_patterns=None):
        self.endpoint = endpoint.rstrip("/") if endpoint else None
        self.token = token
        self.allow_patterns = allow_patterns or None
        self.ignore_patterns = ignore_patterns or None


def scan_warnings(cache):
    """What huggingface_hub.scan_cache_dir() finds wrong with the cache, as text."""
    return [str(warning) for warning in huggingface_hub.scan_cache_dir(cache).warnings]


def stage(source, cache, settings, check_mode=False):
    """(snapshot, bytes moved, bytes skipped, changed) for one hf:// source."""
    api = huggingface_hub.HfApi(endpoint=settings.endpoint, token=settings.token)
    with hub_errors_explained(source, settings):
        commit = api.model_info(source.repo_id, revision=source.revision).sha
        listing = expected_files(api, source, commit, settings)
    if not listing:
        raise ModelError(f"{source}: no file of the repo matches allow_patterns {settings.allow_patterns} / ignore_patterns {settings.ignore_patterns}")
    refs = [] if source.revision == commit else [source.revision]
    staged = already_staged(cache, source.repo_id, commit, listing)
    if staged is not None:
        staged.refs = sorted(set(staged.refs) | set(refs))
        changed = hf_cache.link_snapshot(cache, staged, check_mode)
        return staged, 0, staged.size, changed
    if check_mode:
        return hf_cache.HfSnapshot(source.repo_id, commit, [], refs, source=str(source)), sum(listing.values()), 0, True
    fetched, moved, skipped = download_verified(api, source, commit, cache, settings, listing)
    fetched.refs = refs
    hf_cache.link_snapshot(cache, fetched)
    return fetched, moved, skipped, True


def expected_files(api, source, commit, settings):
    """path -> blob name the Hub lists for the commit (LFS sha256, else the git blob id), filtered."""
    entries = [entry for entry in api.list_repo_tree(source.repo_id, revision=commit, recursive=True) if hasattr(entry, "blob_id")]
    kept = set(filter_repo_objects([e.path for e in entries], allow_patterns=settings.allow_patterns, ignore_patterns=settings.ignore_patterns))
    return {e.path: (e.lfs.sha256 if e.lfs else e.blob_id, e.size) for e in entries if e.path in kept}


def already_staged(cache, repo_id, commit, listing):
    """The cached snapshot when it holds exactly the listed files, each verified; else None."""
    if hf_cache.resolve(cache, repo_id, commit) != commit:
        return None
    try:
        cached = hf_cache.read_snapshot(cache, repo_id, commit)
    except ModelError:
        return None
    found = {entry.path: entry.blob for entry in cached.files}
    return cached if found == {path: blob for path, (blob, _size) in listing.items()} else None


def download_verified(api, source, commit, cache, settings, listing):
    """Download into a private cache inside the target (one file system, even when the cache is a mount
    point, so blobs are renamed in), check every file, then adopt the blobs."""
    os.makedirs(cache, exist_ok=True)
    private = tempfile.mkdtemp(prefix=STAGE_PREFIX, dir=cache)
    try:
        with hub_errors_explained(source, settings):
            huggingface_hub.snapshot_download(source.repo_id, revision=commit, cache_dir=private, endpoint=api.endpoint, token=settings.token,
                                              allow_patterns=settings.allow_patterns, ignore_patterns=settings.ignore_patterns)
        fetched = hf_cache.read_snapshot(private, source.repo_id, commit, verify=True)
        check_against_listing(source, fetched, listing)
        moved = skipped = 0
        for entry in fetched.files:
            if adopt_blob(private, cache, source.repo_id, entry):
                moved += entry.size
            else:
                skipped += entry.size
        fetched.source = str(source)
        return fetched, moved, skipped
    finally:
        shutil.rmtree(private, ignore_errors=True)


def check_against_listing(source, fetched, listing):
    got = {entry.path: entry.blob for entry in fetched.files}
    for path, (blob, _size) in sorted(listing.items()):
        if got.get(path) != blob:
            raise ModelError(f"{source}: {path} arrived as blob {got.get(path)}, but the Hub lists it as {blob}; nothing was staged")


def adopt_blob(private, cache, repo_id, entry):
    """Rename a verified blob from the private cache into the target; False when it was there already."""
    tree = hf_cache.repo_tree(cache, repo_id)
    relative = f"blobs/{snapshots.check_blob(entry.blob, repo_id)}"
    if snapshots.holds_verified(tree, relative, entry, repo_id):
        return False
    tree.makedirs("blobs")  # a real folder, never a link: the rename below lands inside the repo folder
    fetched = os.path.realpath(hf_cache.blob_path(private, repo_id, entry.blob))
    try:
        os.replace(fetched, os.path.join(tree.root, relative))
    except OSError as error:
        if error.errno != errno.EXDEV:
            raise
        snapshots.commit_verified(tree, relative, entry, functools.partial(_copy_from, fetched), repo_id)  # blobs/ on another file system
    return True


def _copy_from(path, handle):
    with open(path, "rb") as source:
        shutil.copyfileobj(source, handle, 4 * 1024 * 1024)


@contextlib.contextmanager
def hub_errors_explained(source, settings):
    """Turn the client's exceptions into one clear error naming the repo, the revision and the endpoint."""
    try:
        yield
    except (hub_errors.HfHubHTTPError, hub_errors.EntryNotFoundError, OSError, ValueError) as error:
        raise ModelError(f"{source}: {hub_error_message(error, source, settings)}") from error


def hub_error_message(error, source, settings):
    """What went wrong and what fixes it. A refusal (401/403) is told by its status, whichever class the client
    gives it: over plain HTTP (a private mirror) or with a wrong token it raises no RepositoryNotFoundError."""
    where = settings.endpoint or "the Hugging Face Hub"
    status = getattr(getattr(error, "response", None), "status_code", None)
    if status in (401, 403):
        token = "the token sent was refused or cannot read it" if settings.token or huggingface_hub.get_token() else \
            "no token was sent: neither hf_token nor HF_TOKEN is set"
        return (f"{where} refused access to {source.repo_id} (HTTP {status}): the repository is gated or private, or the token is wrong "
                f"({token}). Set the module option hf_token (or HF_TOKEN in the module's environment) to a token of an account that "
                "may read the repository; for a gated one, accept its terms on the Hub with that account first")
    if isinstance(error, hub_errors.RevisionNotFoundError):
        return f"{where} has no revision {source.revision!r} of {source.repo_id}; check the branch, tag or commit"
    if isinstance(error, hub_errors.RepositoryNotFoundError):
        return f"{where} has no repo {source.repo_id} (or the token cannot see it); check the name and hf_token"
    if isinstance(error, hub_errors.EntryNotFoundError):
        return f"{where} lists a file it then does not serve ({error}); nothing was staged"
    return f"downloading from {where} failed: {error}"
