"""The WebSocket door's wire format (`/v1/audio/speech/stream`) <-> the streaming session's vocabulary. No I/O
here; server/doors/websocket.py does the WebSocket.

Client -> server, JSON text messages (`type` names them; an optional string `event_id` on any of them comes back
in the `error` event it caused):

    {"type": "session.config", <the speech body's fields but input and stream_format>, "token": "..."?}  (first)
    {"type": "input_text.append", "text": "..."}    a delta of the turn's text, down to one character
    {"type": "input_text.flush"}                    speak what is buffered now, even mid-sentence
    {"type": "input_text.end"}                      the turn's text is complete: speak the rest
    {"type": "response.cancel"}                     barge-in: drop the buffered text, stop the audio

Server -> client: binary frames (each turn's audio, its own encoded stream in `response_format`) and JSON
`session.started`, `segment`, `turn.done` and `error`. The request fields, their names and their checks are the
HTTP API's (server/doors/http_messages.py, the rulebook); errors are its OpenAI error objects.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from contract.request import SynthesisRequest
from contract.rules import Violation
from server.doors import http_messages as m
from server.errors import ServiceError, Status
from server.responses import Audio, Ending, Finished, ResponseEvent, SegmentStarted, Started

CONFIG = "session.config"
APPEND = "input_text.append"
FLUSH = "input_text.flush"
END = "input_text.end"
CANCEL = "response.cancel"
INPUT_TYPES = (APPEND, FLUSH, END, CANCEL)
# session.config's own fields, next to the speech body's
CONFIG_FIELDS = ("type", "event_id", "token")
# A session names its text `text`, as input_text.append does: the HTTP table's renaming of it to `input` is left out.
FIELD_NAMES = {k: v for k, v in m.FIELD_NAMES.items() if k != "text"}
ENDINGS = {Ending.END_OF_SPEECH: "end_of_speech", Ending.MAX_DURATION: "max_duration", Ending.CANCELLED: "cancelled"}
# Close codes: 1000 the client's or a normal end (the session's audio reached its duration bound), 1001 the
# server is shutting down, and 4000 + the HTTP status of the error event sent just before (4400 a bad
# session.config, 4401 no valid token, 4429 too much text buffered, 4503 no room for another session, 4504 the
# idle-session timeout, ...): one table, server/doors/http_messages.py HTTP_STATUS.
NORMAL, GOING_AWAY, ERROR_BASE = 1000, 1001, 4000
MAX_REASON_BYTES = 123  # RFC 6455: a close frame's reason


@dataclass(frozen=True)
class Config:
    request: SynthesisRequest  # the session's request fields (no text)
    model: str  # as the client named it (echoed in session.started)
    response_format: str  # a http_messages.FORMATS key
    token: str | None  # the bearer token, for browsers (which cannot set a WebSocket's Authorization header)


@dataclass(frozen=True)
class Append:
    text: str


@dataclass(frozen=True)
class Flush:
    pass


@dataclass(frozen=True)
class End:
    pass


@dataclass(frozen=True)
class Cancel:
    pass


InputMessage = Append | Flush | End | Cancel


def invalid(field: str, message: str) -> ServiceError:
    return ServiceError(Status.INVALID_ARGUMENT, f"invalid message: {field} {message}", [Violation(field, message)])


# ------------------------------------------------------------------ client -> server
def client_message(text: str | None, data: bytes | None) -> dict[str, Any]:
    """A received WebSocket message as a JSON object with a known `type`; INVALID_ARGUMENT naming `message`
    (binary, not JSON, not an object) or `type`."""
    if text is None:
        raise invalid("message", f"must be JSON text, not a binary frame ({len(data or b'')} bytes)")
    try:
        obj = json.loads(text)
    except ValueError as e:
        raise invalid("message", f"is not valid JSON ({e})") from None
    if not isinstance(obj, dict):
        raise invalid("message", "must be a JSON object")
    kind = obj.get("type")
    if kind not in (CONFIG, *INPUT_TYPES):
        raise invalid("type", f"{json.dumps(kind)[:40]} is not one of {', '.join((CONFIG, *INPUT_TYPES))}")
    return obj


def event_id(obj: Mapping[str, Any]) -> str | None:
    value = obj.get("event_id")
    return value if isinstance(value, str) else None


def config(obj: Mapping[str, Any], request_id: str, aliases: Mapping[str, str]) -> Config:
    """The first message: session.config, with the speech body's fields; INVALID_ARGUMENT naming the fields."""
    if obj.get("type") != CONFIG:
        raise invalid("type", f"the first message must be {CONFIG}, not {obj.get('type')}")
    problems: list[Violation] = []
    token = obj.get("token")
    if token is not None and not isinstance(token, str):
        problems.append(Violation("token", "must be a string"))
    if "event_id" in obj and event_id(obj) is None:
        problems.append(Violation("event_id", "must be a string"))
    try:
        parsed = m.session_request(obj, request_id, aliases, own=CONFIG_FIELDS)
    except ServiceError as e:
        raise ServiceError(e.status, e.message, problems + e.violations, e.reason) from None
    if problems:
        raise ServiceError(Status.INVALID_ARGUMENT, "invalid request", problems)
    return Config(parsed.request, parsed.model, parsed.response_format, token)


def input_message(obj: Mapping[str, Any]) -> InputMessage:
    """One of the messages after session.config; INVALID_ARGUMENT naming the field at fault."""
    kind = obj["type"]
    if kind == CONFIG:
        raise invalid("type", f"{CONFIG} comes once, as the first message")
    fields = ("type", "event_id", "text") if kind == APPEND else ("type", "event_id")
    for name in obj:
        if name not in fields:
            raise invalid(name, f"unknown field of {kind}; it takes {', '.join(fields)}")
    if "event_id" in obj and event_id(obj) is None:
        raise invalid("event_id", "must be a string")
    if kind == APPEND:
        text = obj.get("text")
        if not isinstance(text, str):
            raise invalid("text", f"is required: a string (got {json.dumps(text)[:40]})")
        return Append(text)
    return {FLUSH: Flush, END: End, CANCEL: Cancel}[kind]()


# ------------------------------------------------------------------ server -> client
def _json(obj: Mapping[str, Any]) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def started_json(started: Started, cfg: Config) -> str:
    """session.started: the session is on a worker and takes text; what it resolved to (the seed of its
    sampling, for a reproducible rerun)."""
    return _json({"type": "session.started", "request_id": started.request_id, "model": cfg.model or started.model,
                  "voice": started.voice, "language": started.language, "seed": started.seed,
                  "response_format": cfg.response_format, "sample_rate": started.audio_format.sample_rate,
                  "chunk_ms": started.chunk_duration_ms})


def event_message(event: ResponseEvent, cfg: Config) -> str | bytes | None:
    """What the socket sends for a session event: bytes for audio (a binary frame), JSON text for the rest,
    nothing for an event it does not know (new events must not break this door)."""
    match event:
        case Audio():
            return event.chunk.audio or None
        case Started():
            return started_json(event, cfg)
        case SegmentStarted():
            # the turn's coordinates: characters of the text sent in this turn, samples of this turn's audio
            return _json({"type": "segment", "index": event.index, "text": event.text,
                          "source_start": event.source_start, "source_end": event.source_end,
                          "start_sample": event.start_sample})
        case Finished():
            return turn_done_json(event)
    return None


def turn_done_json(finished: Finished) -> str:
    """turn.done: the turn's audio is complete. `usage` in OpenAI's names as the SSE stream has them
    (input_tokens: the turn's characters; output_tokens: codec frames generated) plus the seconds sent."""
    u = finished.usage
    return _json({"type": "turn.done", "cancelled": finished.ending is Ending.CANCELLED,
                  "ending": ENDINGS.get(finished.ending, finished.ending.name.lower()),
                  "usage": {"input_tokens": u.input_characters, "output_tokens": u.generated_frames,
                            "total_tokens": u.input_characters + u.generated_frames,
                            "audio_seconds": round(u.audio_s, 3)}})


def error_json(err: ServiceError, event: str | None = None) -> str:
    """An `error` event: the HTTP API's OpenAI error object (message, type, param, code, violations), with
    the `event_id` of the client message that caused it."""
    _, body, _ = m.error_body(err, FIELD_NAMES)
    if event is not None:
        body["error"]["event_id"] = event
    return _json({"type": "error", **body})


def close_code(err: ServiceError) -> int:
    return ERROR_BASE + m.http_status(err)


def close_reason(err: ServiceError) -> str:
    """The error's code (as in its error event), short enough for a close frame."""
    _, body, _ = m.error_body(err, FIELD_NAMES)
    return str(body["error"]["code"]).encode()[:MAX_REASON_BYTES].decode("ascii", "ignore")


# ------------------------------------------------------------------ the upgrade request
def origin_allowed(origin: str | None, host: str | None, scheme: str, allowed: tuple[str, ...]) -> bool:
    """A browser may open the socket from the server's own pages or from an origin of --cors-origins ("*": any).
    Clients that are not browsers send no Origin. (Browsers do not apply CORS to WebSockets: this is its
    stand-in, so that a page elsewhere cannot use a server that has no tokens.)"""
    if origin is None:
        return True
    own = ("https" if scheme in ("wss", "https") else "http") + "://" + (host or "")
    return origin == own or "*" in allowed or origin in allowed
