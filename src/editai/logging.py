"""Structured logging.

Context (request_id, user_id, profile_id, job_id) lives in structlog's contextvars:
bind it once where it becomes known and every later line carries it.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

_configured = False


def configure_logging(level: str = "INFO", as_json: bool = False) -> None:
    global _configured
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if as_json
        # Plain tracebacks, never rich's (which prints local variables: API keys).
        else structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        )
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    if not _configured:
        root.addHandler(handler)
    else:
        for existing in root.handlers:
            existing.setFormatter(formatter)
    root.setLevel(level.upper())
    # No line carries where it was logged from, or thread/process names: the stdlib
    # need not look them up for every record (logging HOWTO, "Optimization"). That was
    # a fifth of the cost of the access line every request writes.
    logging._srcfile = None  # type: ignore[attr-defined]  # the documented switch
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    # httpx logs every request URL at INFO: keep it (and its transport) quieter so a URL
    # that carried a credential could never land in a log.
    for noisy in ("httpx", "httpcore", "websockets", "aiohttp"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    _configured = True


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.stdlib.get_logger(name)  # type: ignore[no-any-return]


bind_context = structlog.contextvars.bind_contextvars
clear_context = structlog.contextvars.clear_contextvars
bound_context = structlog.contextvars.bound_contextvars
