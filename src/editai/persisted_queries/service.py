"""Which document a request runs: its own text, a persisted one by hash, or none.

Automatic persisted queries (Apollo's protocol, as ``createPersistedQueryLink`` speaks
it): a request may carry ``extensions.persistedQuery = {version: 1, sha256Hash}``.

* with the hash alone: the document stored under it runs; an unknown hash answers
  ``PersistedQueryNotFound`` (code ``PERSISTED_QUERY_NOT_FOUND``), and the client sends
  the text again with the hash;
* with the text and the hash: the hash must be the text's sha256 (else refused), and
  once the operation has run (it parsed, validated and answered data: a document that
  cannot run is never stored), the text is stored under it for every server process
  (the database), if it is no longer than ``persisted_query_max_bytes``; at most
  ``persisted_queries_max`` are kept (the oldest go first).

A hash names one text for ever, so a process keeps the documents it has seen in memory
too (bounded): a document that left the database still runs where it is remembered.

Allow-list mode (``persisted_queries_only``): only the manifest's operations run, by hash
or by their exact text; anything else is refused (``PERSISTED_QUERY_NOT_IN_LIST``), and
nothing is stored.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from editai.db.tenancy import SessionFactory
from editai.errors import AppError, BadUserInput
from editai.persisted_queries.manifest import document_hash, load_manifest
from editai.persisted_queries.repository import PersistedQueryRepository
from editai.settings import Settings

_SHA256 = re.compile(r"[0-9a-f]{64}")
_REMEMBERED = 1000  # documents a process keeps in memory


class PersistedQueryNotFound(AppError):
    code = "PERSISTED_QUERY_NOT_FOUND"
    # The exact message Apollo Client looks for before sending the text.
    default_message = "PersistedQueryNotFound"


class PersistedQueryNotInList(AppError):
    code = "PERSISTED_QUERY_NOT_IN_LIST"
    default_message = "Only operations registered in the persisted query manifest run here"


@dataclass(frozen=True)
class Resolved:
    document: str | None  # None: the request has none (strawberry refuses it)
    store_as: str | None = None  # the hash to store ``document`` under once it has run


class PersistedQueries:
    def __init__(self, sessions: SessionFactory, settings: Settings) -> None:
        self.sessions = sessions
        self.max_documents = settings.persisted_queries_max
        self.max_bytes = settings.persisted_query_max_bytes
        self.allow_list: dict[str, str] | None = None
        if settings.persisted_queries_only and settings.persisted_queries_manifest is not None:
            # (Allow-list mode without a manifest is refused by Settings.check_startup.)
            self.allow_list = load_manifest(settings.persisted_queries_manifest)
        self._remembered: OrderedDict[str, str] = OrderedDict()

    async def resolve(self, query: str | None, extensions: dict[str, Any] | None) -> Resolved:
        """The document the request runs, and whether to store it once it has run."""
        persisted = (extensions or {}).get("persistedQuery")
        sha256 = None if persisted is None else _hash_of(persisted)
        if self.allow_list is not None:
            return Resolved(self._allowed(query, sha256))
        if sha256 is None:
            return Resolved(query)
        if query is not None:
            if document_hash(query) != sha256:
                raise BadUserInput("provided sha does not match query")
            return Resolved(query, None if sha256 in self._remembered else sha256)
        found = self._remembered.get(sha256)
        if found is None:
            async with self.sessions.system_read() as session:
                found = await PersistedQueryRepository(session).find(sha256)
            if found is None:
                raise PersistedQueryNotFound()
            self._remember(sha256, found)
        return Resolved(found)

    def _allowed(self, query: str | None, sha256: str | None) -> str:
        assert self.allow_list is not None
        if sha256 is None and query is not None:
            sha256 = document_hash(query)
        if sha256 is None or sha256 not in self.allow_list:
            raise PersistedQueryNotInList()
        document = self.allow_list[sha256]
        if query is not None and query != document:
            raise BadUserInput("provided sha does not match query")
        return document

    async def store(self, sha256: str, query: str) -> None:
        """Keeps ``query`` under its hash (``Resolved.store_as``), for every process."""
        if sha256 in self._remembered:
            return
        if len(query.encode()) <= self.max_bytes:
            async with self.sessions.system_transaction() as session:
                repository = PersistedQueryRepository(session)
                await repository.add(sha256, query)
                if await repository.count() > self.max_documents:
                    await repository.delete_oldest(keep=self.max_documents)
        self._remember(sha256, query)

    def _remember(self, sha256: str, document: str) -> None:
        self._remembered[sha256] = document
        self._remembered.move_to_end(sha256)
        while len(self._remembered) > _REMEMBERED:
            self._remembered.popitem(last=False)


def _hash_of(persisted: Any) -> str:
    if not isinstance(persisted, dict) or persisted.get("version") != 1:
        raise BadUserInput("Unsupported persisted query version: only version 1 is")
    sha256 = persisted.get("sha256Hash")
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
        raise BadUserInput("persistedQuery.sha256Hash must be 64 lowercase hex digits")
    return sha256
