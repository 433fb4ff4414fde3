# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where models come from, parsed strictly: hf://, ngc://, s3://, local folders, and model-list CSVs.

The CSV is the one the fine-tuning service's air-gap guide keeps
(displayName,ngc_path,network_arch,is_backbone), where a Hugging Face model is a row
whose ngc_path is hf_model://ORG/NAME.
"""

from __future__ import annotations

import csv
import dataclasses
import re

from ansible_collections.airlock.airgap.plugins.module_utils.models import hf_cache
from ansible_collections.airlock.airgap.plugins.module_utils.models.errors import ModelError

NGC_TARGET = re.compile(r"^(?P<org>[A-Za-z0-9][\w.-]*)(/(?P<team>[A-Za-z0-9][\w.-]*))?/(?P<model>[A-Za-z0-9][\w.-]*):(?P<version>[\w.+-]+)$")
CSV_COLUMNS = ("displayName", "ngc_path", "network_arch", "is_backbone")


@dataclasses.dataclass(frozen=True)
class HubSource:
    repo_id: str
    revision: str = "main"

    def __str__(self):
        return f"hf://{self.repo_id}@{self.revision}"


@dataclasses.dataclass(frozen=True)
class NgcSource:
    org: str
    team: str
    model: str
    version: str

    @property
    def tree_name(self):
        """Where the fine-tuning service looks for it: {org}/{team}/{model}/{version}."""
        return "/".join([self.org, self.team or "no-team", self.model, self.version])

    def __str__(self):
        team = f"/{self.team}" if self.team else ""
        return f"ngc://{self.org}{team}/{self.model}:{self.version}"


@dataclasses.dataclass(frozen=True)
class LocalSource:
    path: str
    repo_id: str
    revision: str = "main"
    commit: str = ""

    def __str__(self):
        return f"{self.path} as {self.repo_id}@{self.revision}"


@dataclasses.dataclass(frozen=True)
class TreeSource:
    path: str
    name: str

    def __str__(self):
        return f"{self.path} as tree {self.name}"


@dataclasses.dataclass(frozen=True)
class S3Source:
    bucket: str
    prefix: str

    def __str__(self):
        return f"s3://{self.bucket}/{self.prefix}"


def parse(spec):
    """One models: entry (a string or a dict) -> a source."""
    if isinstance(spec, dict):
        return _parse_folder(spec)
    text = str(spec).strip()
    if text.startswith("hf://"):
        return parse_hub(text[len("hf://"):], text)
    if text.startswith("ngc://"):
        return parse_ngc(text[len("ngc://"):], text)
    if text.startswith("s3://"):
        bucket, _slash, prefix = text[len("s3://"):].partition("/")
        if not bucket:
            raise ModelError(f"{text!r} names no bucket: use s3://BUCKET/PREFIX")
        return S3Source(bucket, prefix.strip("/"))
    raise ModelError(f"{text!r} is not a model source: use hf://ORG/NAME[@revision], ngc://org[/team]/model:version, "
                     "s3://BUCKET/PREFIX, or a dict with path and repo_id (or tree) for a local folder")


def parse_hub(rest, text):
    repo_id, _at, revision = rest.partition("@")
    if _at and not revision:
        raise ModelError(f"{text!r} has an empty revision after @: give a branch, tag or 40-hex commit, or drop the @")
    try:
        hf_cache.check_repo_id(repo_id)
    except ModelError as error:
        raise ModelError(f"{text!r}: {error}") from error
    return HubSource(repo_id, revision or "main")


def parse_ngc(rest, text):
    match = NGC_TARGET.match(rest)
    if not match:
        raise ModelError(f"{text!r} is not an NGC model: use ngc://org[/team]/model:version, for example ngc://nvidia/tao/pretrained_dino:trainable_v1.0")
    return NgcSource(match["org"], match["team"] or "", match["model"], match["version"])


def _parse_folder(spec):
    path = spec.get("path")
    if not path:
        raise ModelError(f"{spec!r}: a local model needs path (the folder) and repo_id (a Hugging Face cache entry) or tree (a generic tree)")
    if spec.get("tree"):
        return TreeSource(path, spec["tree"].strip("/") or ".")
    if not spec.get("repo_id"):
        raise ModelError(f"{spec!r}: give repo_id (ORG/NAME) to import the folder as a Hugging Face cache entry, or tree for a generic tree")
    commit = spec.get("commit") or ""
    if commit and not hf_cache.COMMIT.match(commit):
        raise ModelError(f"{spec!r}: commit must be 40 hex characters")
    return LocalSource(path, hf_cache.check_repo_id(spec["repo_id"]), spec.get("revision") or "main", commit)


def read_model_list(path):
    """The sources a model-list CSV names, in order, duplicates dropped."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [column for column in CSV_COLUMNS if column not in (reader.fieldnames or [])]
        if missing:
            raise ModelError(f"{path}: the model list lacks the column(s) {', '.join(missing)}; its header must be {','.join(CSV_COLUMNS)}")
        found = []
        for number, row in enumerate(reader, start=2):
            source = _csv_row_source(row, path, number)
            if source and source not in found:
                found.append(source)
    return found


def _csv_row_source(row, path, number):
    ngc_path = (row.get("ngc_path") or "").strip()
    if not ngc_path:
        return None
    where = f"{path} line {number}"
    if ngc_path.startswith("hf_model://"):
        return parse_hub(ngc_path[len("hf_model://"):], where)
    return parse_ngc(ngc_path, where)
