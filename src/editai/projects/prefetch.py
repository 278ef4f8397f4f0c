"""A page of projects loads, in its own turn, what its projects' fields will ask for.

``projects { edges { node { clips(first: 5) {...} segments {...} } } }`` resolves
``clips`` once per project. Each call asks the operation's loader, which batches them
into one query either way; but when the loads are already made, every ``clips`` field
completes synchronously (``when_loaded``), instead of as one coroutine and one task per
project (issue 8). So the list resolver makes those loads itself, through the same
loaders with the same keys, before it returns the page.

Only ever a head start: whatever is not loaded here (a selection this does not
recognise, arguments that fail, a load that fails) the field loads, or fails, itself,
exactly as it would have, with the error at the field. The loads are of what the query
selects (``@skip``/``@include`` and fragments honoured), for projects of the page only.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from editai.errors import AppError
from editai.graphql.context import Info
from editai.graphql.lookahead import selections_at
from editai.logging import get_logger
from editai.pagination import PageRequest
from editai.projects.types import clips_page_key

log = get_logger(__name__)
NODE = ("edges", "node")  # where a connection's projects are
PREFETCHED = {"clips", "segments", "voiceovers", "transcript"}
ENABLED = True  # off only in tests comparing answers with and without the head start


async def prefetch_project_fields(info: Info, project_ids: Sequence[uuid.UUID]) -> None:
    if not ENABLED or not project_ids:
        return
    # graphql-core's info: field nodes, fragments, variables.
    selected = selections_at(info._raw_info, NODE)
    if not selected.nodes.keys() & PREFETCHED:
        return  # e.g. a flat list: not even the loaders are needed
    loaders = info.context.loaders
    max_size = info.context.settings.max_page_size
    try:
        for arguments in selected.arguments("clips"):
            after = arguments.get("after")
            try:
                page = PageRequest.parse(arguments.get("first"), after, max_size)
            except AppError:
                continue  # the fields refuse these arguments themselves
            await loaders.clips_page.load_many(
                [clips_page_key(i, page, after) for i in project_ids]
            )
        if "segments" in selected.nodes:
            await loaders.segments.load_many(project_ids)
        if "voiceovers" in selected.nodes:
            await loaders.voiceovers.load_many(project_ids)
        if "transcript" in selected.nodes:
            await loaders.transcript.load_many(project_ids)
    except Exception as exc:
        # The failed load stays in the loader: each field that needs it raises it itself.
        log.debug("prefetch failed; the fields load on their own", error=repr(exc))
