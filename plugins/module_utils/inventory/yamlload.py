# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""YAML read as Helm and Kubernetes read it, not as PyYAML's strict loader would.

Rendered charts contain YAML that Go's parser accepts and PyYAML's SafeLoader refuses: a bare
`=` scalar (YAML 1.1's "value" tag), custom tags, timestamps. A document refused is a document
whose images are silently missed, so this loader reads those as plain strings, and a document
that still cannot be parsed is returned as an error with its text for the caller to report.
"""

from __future__ import annotations

import dataclasses
import re
import traceback
from typing import Any, Optional

try:
    import yaml
    from yaml import SafeLoader as _SafeLoader
    YAML_IMPORT_ERROR = None
    # What loading a hostile document can raise: a syntax error (with its position) or nesting deeper than the
    # parser's recursion allows. Anything else is a bug and keeps its traceback.
    LOAD_ERRORS = (yaml.YAMLError, RecursionError)
except ImportError:
    yaml = None
    _SafeLoader = object
    YAML_IMPORT_ERROR = traceback.format_exc()
    LOAD_ERRORS = (RecursionError,)

# A start (`---`) or end (`...`) marker at column 0 cannot be inside a block scalar (its lines are indented) or a
# flow collection (the YAML spec forbids it). PyYAML wants `---` again after `...`; Go's parser, as Helm and kubectl
# read, does not; splitting at both reads a document either way.
_DOCUMENT_SEPARATOR = re.compile(r"^(?:---|\.\.\.)[ \t]*(?:#.*)?$", re.MULTILINE)
# helm template writes the template each document came from above it.
_HELM_SOURCE = re.compile(r"^# Source: (.+)$", re.MULTILINE)


class LenientLoader(_SafeLoader):  # pylint: disable=too-many-ancestors
    """SafeLoader that reads every scalar it cannot type (`=`, custom tags, timestamps) as the string written."""


def _as_string(loader, node):
    return loader.construct_scalar(node)


def _unknown_tag(loader, tag_suffix, node):  # pylint: disable=unused-argument
    """Custom tags (`!Ref x`, `!!python/...`) carry data; keep the data, drop the tag, construct nothing."""
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


if yaml is not None:
    LenientLoader.add_constructor("tag:yaml.org,2002:value", _as_string)
    LenientLoader.add_constructor("tag:yaml.org,2002:timestamp", _as_string)
    LenientLoader.add_multi_constructor("", _unknown_tag)


@dataclasses.dataclass
class Document:
    """One YAML document of a file: its data, or why it could not be read and its text."""

    index: int
    data: Any = None
    error: Optional[str] = None
    text: str = ""
    template: Optional[str] = None


def load_all(text: str) -> list:
    """Every non-empty document in text, each parsed alone so that one bad document cannot hide the others."""
    pieces = []
    directives = ""
    for piece in _DOCUMENT_SEPARATOR.split(text):
        if _directives_only(piece):
            directives += piece
            pieces.append("")
            continue
        pieces.append(f"{directives}---\n{piece}" if directives else piece)
        directives = ""
    documents = (_load_one(i, piece) for i, piece in enumerate(pieces))
    return [d for d in documents if d.data is not None or d.error]


def _directives_only(piece: str) -> bool:
    """Directives (`%YAML 1.1`) and comments only: they belong to the document after the next `---`."""
    lines = [line for line in piece.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return bool(lines) and all(line.startswith("%") for line in lines)


def load(text: str) -> Any:
    """One document (a values or compose file); raises one of LOAD_ERRORS on failure."""
    return yaml.load(text, Loader=LenientLoader)  # nosec B506 - a SafeLoader subclass


def _load_one(index: int, piece: str) -> Document:
    source = _HELM_SOURCE.search(piece)
    template = source.group(1).strip() if source else None
    try:
        return Document(index, yaml.load(piece, Loader=LenientLoader), template=template)  # nosec B506 - a SafeLoader subclass
    except LOAD_ERRORS as error:
        return Document(index, error=" ".join(str(error).split()), text=piece, template=template)


def dump(data) -> str:
    """Block-style YAML with sorted keys, so a file written twice from the same data is the same bytes."""
    return yaml.safe_dump(data, default_flow_style=False, sort_keys=True)


def load_file(path: str) -> list:
    with open(path, encoding="utf-8") as handle:
        return load_all(handle.read())
