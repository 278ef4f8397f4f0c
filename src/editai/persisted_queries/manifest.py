"""The allow-list: operations registered ahead of time, read from a manifest file.

Two formats, as the two usual tools write them:

* Apollo's ``generate-persisted-query-manifest``: ``{"format":
  "apollo-persisted-query-manifest", "version": 1, "operations": [{"id": <sha256>,
  "name": ..., "type": ..., "body": <document>}]}``;
* graphql-codegen's client preset (``persistedDocuments``): ``{<sha256>: <document>}``.

Every id must be the sha256 of its document's exact text (what both tools compute, and
what clients send): a manifest that says otherwise is refused at start-up.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

APOLLO_FORMAT = "apollo-persisted-query-manifest"


class ManifestError(ValueError):
    pass


def document_hash(document: str) -> str:
    """What Apollo Client and graphql-codegen send: the sha256 hex of the exact text."""
    return hashlib.sha256(document.encode()).hexdigest()


def load_manifest(path: Path) -> dict[str, str]:
    """sha256 -> document of every operation of the manifest at ``path``."""
    try:
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ManifestError(f"cannot read the persisted query manifest {path}: {exc}") from exc
    if isinstance(raw, dict) and raw.get("format") == APOLLO_FORMAT:
        if raw.get("version") != 1 or not isinstance(raw.get("operations"), list):
            raise ManifestError(f"{path}: unsupported {APOLLO_FORMAT} version")
        pairs = [(op.get("id"), op.get("body")) for op in raw["operations"] if isinstance(op, dict)]
        if len(pairs) != len(raw["operations"]):
            raise ManifestError(f"{path}: every operation must be an object")
    elif isinstance(raw, dict):
        pairs = list(raw.items())
    else:
        raise ManifestError(f"{path}: neither an Apollo manifest nor a map of hash to document")
    documents: dict[str, str] = {}
    for sha256, document in pairs:
        if not isinstance(sha256, str) or not isinstance(document, str):
            raise ManifestError(f"{path}: every entry needs a string id and a string document")
        if document_hash(document) != sha256.lower():
            raise ManifestError(f"{path}: {sha256} is not the sha256 of its document")
        documents[sha256.lower()] = document
    return documents
