"""A loopback server answering the Hugging Face Hub's HTTP endpoints from local folders.

Exactly what snapshot_download asks (see shared notes): the revision and tree APIs, and
HEAD/GET on /{repo}/resolve/{commit}/{path} with X-Repo-Commit, ETag and, for LFS files,
X-Linked-Etag/X-Linked-Size; 404s carry X-Error-Code. Clients must run with
HF_HUB_DISABLE_XET=1. `corrupt` serves other bytes of the same size for a path, while
the listing and headers still name the real ones, as a broken mirror or CDN would. A repo
with a token is gated: without that bearer token every request for it is answered 401 as the
Hub answers (X-Error-Code GatedRepo with no token, "Invalid credentials" with another one).
"""

import hashlib
import json
import os
import re
import urllib.parse

from loopback_http import LoopbackHTTPServer

LFS_THRESHOLD = 10 * 1000 * 1000


def file_facts(path):
    data_size = os.path.getsize(path)
    sha1 = hashlib.sha1(b"blob %d\0" % data_size)
    sha256 = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha1.update(block)
            sha256.update(block)
    return {"size": data_size, "oid": sha1.hexdigest(), "sha256": sha256.hexdigest(), "lfs": data_size >= LFS_THRESHOLD}


class Repo:
    """One model repo: a folder of files at one commit, with refs naming it; gated when it has a token."""

    def __init__(self, folder, refs=("main",), token=None):
        self.folder = folder
        self.token = token
        self.files = {}
        for directory, _dirs, names in os.walk(folder):
            for name in names:
                path = os.path.join(directory, name)
                self.files[os.path.relpath(path, folder).replace(os.sep, "/")] = file_facts(path)
        listing = json.dumps(sorted((p, f["oid"]) for p, f in self.files.items()))
        self.commit = hashlib.sha1(listing.encode()).hexdigest()
        self.refs = {ref: self.commit for ref in refs}

    def tree_entries(self):
        entries, folders = [], set()
        for path, facts in sorted(self.files.items()):
            parts = path.split("/")
            folders.update("/".join(parts[:i]) for i in range(1, len(parts)))
            entry = {"type": "file", "oid": facts["oid"], "size": facts["size"], "path": path}
            if facts["lfs"]:
                entry["lfs"] = {"oid": facts["sha256"], "size": facts["size"], "pointerSize": 134}
            entries.append(entry)
        return [{"type": "directory", "oid": "0" * 40, "size": 0, "path": f} for f in sorted(folders)] + entries


class HubServer(LoopbackHTTPServer):
    """Start with `with HubServer({"org/name": Repo(folder)}) as hub:`; hub.endpoint is the URL."""

    METHODS = ("GET", "HEAD")

    def __init__(self, repos):
        self.repos = repos
        self.corrupt = {}
        self.requests = []
        super().__init__()

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def answer(self, request):
        body = request.command != "HEAD"
        url = urllib.parse.urlsplit(request.path)
        path = urllib.parse.unquote(url.path)
        self.requests.append((request.command, path))
        for pattern, handler in ((r"^/api/models/(.+?)/revision/([^/]+)$", self.revision),
                                 (r"^/api/models/(.+?)/tree/([^/]+)(/.*)?$", self.tree),
                                 (r"^/([^/]+/[^/]+)/resolve/([^/]+)/(.+)$", self.resolve)):
            match = re.match(pattern, path)
            if match:
                status, headers, payload = self.refusal(match.group(1), request.headers.get("Authorization")) or handler(*match.groups())
                break
        else:
            status, headers, payload = 404, {"X-Error-Code": "EntryNotFound"}, b"{}"
        request.send_response(status)
        for name, value in headers.items():
            request.send_header(name, value)
        if "Content-Length" not in headers:
            request.send_header("Content-Length", str(len(payload)))
        request.end_headers()
        if body:
            request.wfile.write(payload)

    def refusal(self, repo_id, authorization):
        """The Hub's 401 for a gated repo asked without its token; None when the request may go on."""
        repo = self.repos.get(repo_id)
        if repo is None or repo.token is None or authorization == f"Bearer {repo.token}":
            return None
        if authorization is None:
            message = f"Access to model {repo_id} is restricted. You must have access to it and be authenticated to access it. Please log in."
            return 401, {"X-Error-Code": "GatedRepo", "X-Error-Message": message}, json.dumps({"error": message}).encode()
        message = "Invalid credentials in Authorization header"
        return 401, {"X-Error-Message": message}, json.dumps({"error": message}).encode()

    def _commit(self, repo_id, revision):
        repo = self.repos.get(repo_id)
        if repo is None:
            return None, (404, {"X-Error-Code": "RepoNotFound", "Content-Type": "application/json"}, b'{"error":"Repository not found"}')
        commit = revision if revision == repo.commit else repo.refs.get(revision)
        if commit is None:
            return None, (404, {"X-Error-Code": "RevisionNotFound", "Content-Type": "application/json"}, b'{"error":"Invalid rev id"}')
        return repo, commit

    def revision(self, repo_id, revision):
        repo, commit = self._commit(repo_id, urllib.parse.unquote(revision))
        if repo is None:
            return commit
        info = {"id": repo_id, "modelId": repo_id, "sha": commit, "private": False,
                "siblings": [{"rfilename": p} for p in sorted(repo.files)]}
        return 200, {"Content-Type": "application/json"}, json.dumps(info).encode()

    def tree(self, repo_id, revision, _below):
        repo, commit = self._commit(repo_id, urllib.parse.unquote(revision))
        if repo is None:
            return commit
        return 200, {"Content-Type": "application/json"}, json.dumps(repo.tree_entries()).encode()

    def resolve(self, repo_id, revision, path):
        repo, commit = self._commit(repo_id, revision)
        if repo is None:
            return commit
        facts = repo.files.get(path)
        if facts is None:
            return 404, {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": commit}, b'{"error":"Entry not found"}'
        headers = {"X-Repo-Commit": commit, "ETag": f'"{facts["oid"]}"', "Content-Length": str(facts["size"]),
                   "Content-Type": "application/octet-stream", "Accept-Ranges": "bytes"}
        if facts["lfs"]:
            headers.update({"X-Linked-Etag": f'"{facts["sha256"]}"', "X-Linked-Size": str(facts["size"])})
        if path in self.corrupt:
            return 200, headers, self.corrupt[path]
        with open(os.path.join(repo.folder, path), "rb") as handle:
            return 200, headers, handle.read()
