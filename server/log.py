"""Structured logging: structlog, one JSON object per line, request ids from contextvars, stdlib routed through it.

    configure_logging(level="info", fmt="json")
    log = get_logger(__name__)
    with request_context(request_id_from_metadata(md), method="Synthesize"):
        log.info("request.admitted", input_characters=len(text))   # carries request_id, method

Every record (structlog or stdlib: grpc, asyncio, ...) goes to one handler on the root logger and is rendered
with the same processors: contextvars, level, logger name, ISO UTC timestamp, exception as a structured dict.

Privacy: the synthesis text and voice-cloning material are never logged at info level or above. The processor
`redact_sensitive` replaces the values of the keys in SENSITIVE_KEYS with their length and a short SHA-256
prefix (enough to correlate, not to read). Only at debug level, and only if `configure_logging(...,
log_text=True)`, are they kept verbatim.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import sys
import uuid
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

import grpc
import structlog

SENSITIVE_KEYS = frozenset({"text", "instructions", "reference_text", "transcript", "reference_audio", "audio"})
REQUEST_ID_KEY = "x-request-id"
_REQUEST_ID_RE = re.compile(r"^[\x21-\x7e]{1,128}$")  # printable ASCII without spaces, <= 128 chars


def _summary(value: Any) -> str:
    data = value if isinstance(value, (bytes, bytearray)) else str(value).encode("utf-8", "replace")
    unit = "bytes" if isinstance(value, (bytes, bytearray)) else "chars"
    size = len(value) if isinstance(value, (str, bytes, bytearray)) else len(data)
    return f"<redacted {size} {unit} sha256:{hashlib.sha256(data).hexdigest()[:12]}>"


def _make_redactor(log_text: bool):
    def redact_sensitive(logger: Any, method_name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
        if log_text and event_dict.get("level", method_name) == "debug":
            return event_dict
        for key in SENSITIVE_KEYS.intersection(event_dict):
            event_dict[key] = _summary(event_dict[key])
        return event_dict

    return redact_sensitive


def configure_logging(level: str = "info", fmt: str = "json", stream: TextIO | None = None,
                      log_text: bool = False) -> None:
    """Configure structlog and the stdlib root logger (idempotent: replaces handlers set by an earlier call)."""
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}")
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        _make_redactor(log_text),
    ]
    renderer: Any
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer()
        final = [structlog.processors.dict_tracebacks]
    elif fmt == "console":
        renderer = structlog.dev.ConsoleRenderer(colors=False)
        final = []
    else:
        raise ValueError(f"unknown log format {fmt!r}")

    structlog.configure(
        processors=[structlog.stdlib.filter_by_level, *shared,
                    structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *final, renderer],
    )
    handler = logging.StreamHandler(sys.stderr if stream is None else stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_qwen3tts", False):
            root.removeHandler(old)
    handler._qwen3tts = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(numeric)


def get_logger(name: str | None = None, **initial: Any) -> structlog.stdlib.BoundLogger:
    return structlog.stdlib.get_logger(name, **initial)


def new_request_id() -> str:
    return uuid.uuid4().hex


def request_id_from_metadata(metadata: Iterable[tuple[str, str | bytes]] | None) -> str:
    """The client's `x-request-id` if it is printable ASCII (no spaces) of at most 128 chars, else a new id."""
    for key, value in metadata or ():
        if key == REQUEST_ID_KEY and isinstance(value, str) and _REQUEST_ID_RE.match(value):
            return value
    return new_request_id()


@contextlib.contextmanager
def request_context(request_id: str, **fields: Any) -> Iterator[None]:
    """Bind request_id (and e.g. method, peer) to every log record in this context; unbound on exit."""
    with structlog.contextvars.bound_contextvars(request_id=request_id, **fields):
        yield


class RequestContextInterceptor(grpc.aio.ServerInterceptor):
    """Binds request_id (from x-request-id or new) and method into the contextvars of each RPC.

    grpc.aio runs the interceptor in the RPC's own task, before the handler, so the binding is visible in the
    handler and is discarded with the task (verified in tests/server/test_logging.py). The handler reads the id
    back with `current_request_id()` to echo it in SynthesisStarted.request_id.
    """

    async def intercept_service(self, continuation, handler_call_details):
        method = handler_call_details.method or ""
        structlog.contextvars.bind_contextvars(
            request_id=request_id_from_metadata(handler_call_details.invocation_metadata),
            method=method.rsplit("/", 1)[-1],
        )
        return await continuation(handler_call_details)


def current_request_id() -> str | None:
    return structlog.contextvars.get_contextvars().get("request_id")
