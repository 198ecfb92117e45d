"""The HTTP API's wire format <-> the product's vocabulary: OpenAI's JSON speech body -> SynthesisRequest
(types only; the rules are contract/rules.py), response events -> raw audio or SSE bytes, errors -> OpenAI
error bodies with HTTP statuses, voices and the model -> JSON. No I/O here; server/doors/http.py does the HTTP.

Field names: the HTTP API speaks OpenAI's names (`input`, `response_format`); violations found by the rulebook
or the engine name the gRPC API's fields (`text`, `audio_format.encoding`) and are renamed by FIELD_NAMES, the
one table of differences.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contract.capabilities import Capabilities
from contract.formats import AudioFormat, Encoding
from contract.request import Priority, Sampling, SynthesisRequest
from contract.rules import Violation
from server.errors import ServiceError, Status
from server.responses import Audio, Finished, ResponseEvent
from server.voices import VoiceInfo

# OpenAI's response_format -> our encoding (at the encoding's default rate, 24 kHz for all six: OpenAI's `pcm`
# is raw s16le 24 kHz mono). The order is the one OpenAI documents; mp3 is its default.
FORMATS: dict[str, Encoding] = {"mp3": Encoding.MP3, "opus": Encoding.OGG_OPUS, "aac": Encoding.AAC,
                                "flac": Encoding.FLAC, "wav": Encoding.WAV, "pcm": Encoding.PCM_S16LE}
DEFAULT_FORMAT = "mp3"
CONTENT_TYPES: dict[str, str] = {"mp3": "audio/mpeg", "opus": "audio/ogg; codecs=opus", "aac": "audio/aac",
                                 "flac": "audio/flac", "wav": "audio/wav", "pcm": "audio/pcm"}
STREAM_FORMATS = ("audio", "sse")
PRIORITIES = {"interactive": Priority.INTERACTIVE, "batch": Priority.BATCH}
SAMPLING_FIELDS = ("temperature", "top_k", "top_p", "repetition_penalty", "greedy")

# gRPC API field (as the rulebook, the engine and Voices name it) -> its HTTP name, where they differ.
FIELD_NAMES = {
    "text": "input",
    "audio_format": "response_format",
    "audio_format.encoding": "response_format",
    "audio_format.sample_rate_hertz": "sample_rate",
    "reference_audio": "audio_sample",
}

# ServiceError status -> HTTP status (docs/api.md "HTTP status codes"). FAILED_PRECONDITION is 400, as
# google.rpc.Code maps it: the request cannot work against this server as it is (e.g. cloning on a checkpoint
# that cannot clone); retrying the same request will not help.
HTTP_STATUS = {
    Status.INVALID_ARGUMENT: 400, Status.FAILED_PRECONDITION: 400, Status.UNAUTHENTICATED: 401,
    Status.PERMISSION_DENIED: 403,
    Status.NOT_FOUND: 404, Status.ALREADY_EXISTS: 409, Status.RESOURCE_EXHAUSTED: 429,
    Status.CANCELLED: 499, Status.INTERNAL: 500, Status.UNAVAILABLE: 503, Status.DEADLINE_EXCEEDED: 504,
}
# Overload refusals a client should back off from: 429 (the "queue full"); the rest of UNAVAILABLE
# (not ready, draining, worker restart, queue timeout) is 503. Both carry Retry-After.
TOO_MANY_REQUESTS_REASONS = frozenset({"QUEUE_FULL"})
TOO_LARGE = 413


def http_status(err: ServiceError) -> int:
    if err.reason == "BODY_TOO_LARGE":
        return TOO_LARGE
    if err.reason == "HEADERS_TOO_LARGE":
        return 431
    if err.reason == "VOICE_STORE_FULL":
        return 507  # Insufficient Storage: the server's disk, not the client's rate
    if err.status is Status.UNAVAILABLE and err.reason in TOO_MANY_REQUESTS_REASONS:
        return 429
    return HTTP_STATUS.get(err.status, 500)


def http_field(name: str) -> str:
    return FIELD_NAMES.get(name, name)


def _error_type(status: int) -> str:
    if status == 401:
        return "authentication_error"
    if status == 403:
        return "permission_error"
    if status == 429:
        return "rate_limit_error"
    if status >= 500:
        return "server_error"
    return "invalid_request_error"


def error_body(err: ServiceError, names: Mapping[str, str] = FIELD_NAMES) -> tuple[int, dict[str, Any], dict[str, str]]:
    """(HTTP status, OpenAI error body, extra headers) of a ServiceError. `param` names the first field at
    fault in the HTTP API's names (`names`: the gRPC names it renames); `violations` (an addition to OpenAI's
    shape) lists them all."""
    status = http_status(err)
    violations = [Violation(names.get(v.field, v.field), v.message) for v in err.violations]
    message = err.message
    if violations:  # the rulebook's message names gRPC fields; rebuild it in ours
        message = "invalid request: " + "; ".join(str(v) for v in violations)
    default = "invalid_value" if err.status is Status.INVALID_ARGUMENT else err.status.name
    code = (err.reason or default).lower()
    error: dict[str, Any] = {"message": message, "type": _error_type(status),
                             "param": violations[0].field if violations else None, "code": code}
    if violations:
        error["violations"] = [{"param": v.field, "message": v.message} for v in violations]
    headers = {}
    if err.retry_after_s is not None:
        headers["retry-after"] = str(max(1, math.ceil(err.retry_after_s)))
    if status == 401:
        headers["www-authenticate"] = 'Bearer realm="qwen3-tts"'
    return status, {"error": error}, headers


def body_too_large(limit: int) -> ServiceError:
    return ServiceError(Status.INVALID_ARGUMENT, f"the request body is larger than {limit} bytes "
                        "(the server's max_message_bytes)", reason="BODY_TOO_LARGE")


def headers_too_large(limit: int) -> ServiceError:
    return ServiceError(Status.INVALID_ARGUMENT, f"the request's headers are larger than {limit} bytes "
                        "(the server's max_metadata_bytes)", reason="HEADERS_TOO_LARGE")


# ------------------------------------------------------------------ the speech request
@dataclass(frozen=True)
class SpeechRequest:
    """A parsed POST /v1/audio/speech: the contract request plus what only the HTTP door uses."""

    request: SynthesisRequest
    model: str  # as the client named it; any string (reported back in the x-model header)
    response_format: str  # a FORMATS key
    stream_format: str  # "audio" | "sse"


_TOP_LEVEL = ("model", "input", "voice", "instructions", "response_format", "speed", "stream_format",
              # extensions (the OpenAI SDK's extra_body)
              "language", "seed", "sample_rate", "sampling", "max_audio_duration_ms", "priority")


class _Fields:
    """Typed reads of a JSON object's fields, collecting what is wrong (JSON null counts as absent)."""

    def __init__(self, obj: Mapping[str, Any], prefix: str = ""):
        self.obj, self.prefix = obj, prefix
        self.violations: list[Violation] = []

    def bad(self, name: str, message: str) -> None:
        self.violations.append(Violation(self.prefix + name, message))

    def _get(self, name: str, kinds: tuple[type, ...], what: str) -> Any:
        value = self.obj.get(name)
        if value is None:
            return None
        if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            self.bad(name, f"must be {what}, got {json.dumps(value)[:40]}")
            return None
        return value

    def string(self, name: str) -> str | None:
        return self._get(name, (str,), "a string")

    def integer(self, name: str) -> int | None:
        value = self._get(name, (int, float), "an integer")
        if isinstance(value, float):
            if not value.is_integer():
                self.bad(name, f"must be an integer, got {value}")
                return None
            value = int(value)
        return value

    def number(self, name: str) -> float | None:
        value = self._get(name, (int, float), "a number")
        return None if value is None else float(value)

    def boolean(self, name: str) -> bool | None:
        return self._get(name, (bool,), "true or false")

    def choice(self, name: str, choices: tuple[str, ...] | Mapping[str, Any]) -> str | None:
        value = self.string(name)
        if value is not None and value.strip().lower() not in choices:
            self.bad(name, f"{value!r} is not one of {', '.join(choices)}")
            return None
        return None if value is None else value.strip().lower()

    def unknown(self, known: tuple[str, ...]) -> None:
        for name in self.obj:
            if name not in known:
                # an empty key cannot name itself (a client could not tell `param: ""` from none): the body it is
                self.bad(name or "body", f"unknown parameter {name!r}; this server accepts {', '.join(known)}")


def parse_json_object(body: bytes) -> dict[str, Any]:
    """The request body as a JSON object, or INVALID_ARGUMENT naming `body`."""
    try:
        obj = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise ServiceError(Status.INVALID_ARGUMENT, f"the body is not valid JSON: {e}",
                           [Violation("body", f"is not valid JSON ({e})")]) from None
    if not isinstance(obj, dict):
        raise ServiceError(Status.INVALID_ARGUMENT, "the body must be a JSON object",
                           [Violation("body", "must be a JSON object")])
    return obj


def speech_request(obj: Mapping[str, Any], request_id: str, aliases: Mapping[str, str]) -> SpeechRequest:
    """A POST /v1/audio/speech body (a JSON object) as a SpeechRequest; ServiceError(INVALID_ARGUMENT) naming
    every field whose type or spelling is wrong (unknown fields first). Values are checked by the rulebook."""
    return _speech(obj, request_id, aliases, _TOP_LEVEL, with_input=True)


def session_request(obj: Mapping[str, Any], request_id: str, aliases: Mapping[str, str],
                    own: tuple[str, ...] = ()) -> SpeechRequest:
    """A streaming session's configuration (the WebSocket's `session.config`): the speech body's fields less
    `input` (the text comes in deltas) and `stream_format`; `own` names the other door's fields, read by it."""
    known = tuple(n for n in _TOP_LEVEL if n not in ("input", "stream_format")) + own
    return _speech(obj, request_id, aliases, known, with_input=False)


def _speech(obj: Mapping[str, Any], request_id: str, aliases: Mapping[str, str], known: tuple[str, ...], *,
            with_input: bool) -> SpeechRequest:
    f = _Fields(obj)
    f.unknown(known)
    unknown = bool(f.violations)
    text = None
    if with_input:
        text = f.string("input")
        if "input" not in obj or obj["input"] is None:
            f.bad("input", "is required")
    voice = _voice(f, obj.get("voice"))
    response_format = f.choice("response_format", FORMATS) or DEFAULT_FORMAT
    stream_format = (f.choice("stream_format", STREAM_FORMATS) if with_input else None) or "audio"
    priority = f.choice("priority", PRIORITIES)
    speed = f.number("speed")
    sampling = _sampling(obj.get("sampling"), f)
    request = SynthesisRequest(
        text=text or "", voice=aliases.get(voice.strip().lower(), voice), language=f.string("language") or "",
        instructions=f.string("instructions") or "",
        audio_format=AudioFormat(FORMATS[response_format], f.integer("sample_rate") or 0),
        seed=f.integer("seed"), sampling=sampling,
        max_audio_duration_ms=f.integer("max_audio_duration_ms") or 0,
        priority=PRIORITIES[priority] if priority else Priority.UNSPECIFIED, request_id=request_id,
        speed=1.0 if speed is None else speed)
    model = f.string("model") or ""
    if f.violations:
        raise ServiceError(Status.INVALID_ARGUMENT, "invalid request", f.violations,
                           reason="UNKNOWN_PARAMETER" if unknown else None)
    return SpeechRequest(request, model, response_format, stream_format)


def _voice(f: _Fields, value: Any) -> str:
    """A voice name, or OpenAI's custom-voice object {"id": name}."""
    if isinstance(value, dict):
        if set(value) != {"id"} or not isinstance(value["id"], str):
            f.bad("voice", 'must be a voice name or {"id": "<voice name>"}')
            return ""
        return value["id"]
    return f.string("voice") or ""


def _sampling(value: Any, parent: _Fields) -> Sampling:
    if value is None:
        return Sampling()
    if not isinstance(value, dict):
        parent.bad("sampling", f"must be an object with any of {', '.join(SAMPLING_FIELDS)}")
        return Sampling()
    f = _Fields(value, "sampling.")
    f.unknown(SAMPLING_FIELDS)
    out = Sampling(temperature=f.number("temperature"), top_k=f.integer("top_k"), top_p=f.number("top_p"),
                   repetition_penalty=f.number("repetition_penalty"), greedy=f.boolean("greedy"))
    parent.violations.extend(f.violations)
    return out


# ------------------------------------------------------------------ response bodies
def audio_bytes(event: ResponseEvent) -> bytes | None:
    """What `stream_format=audio` sends for an event: the chunk's bytes; nothing for any other event (unknown
    event types included: new events must not break this door)."""
    return event.chunk.audio if isinstance(event, Audio) else None


def sse(obj: Mapping[str, Any]) -> bytes:
    """One server-sent event: a `data:` line with compact JSON, then a blank line."""
    return b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"


def sse_bytes(event: ResponseEvent) -> bytes | None:
    """What `stream_format=sse` sends for an event, exactly as OpenAI documents it: `speech.audio.delta` with
    the chunk's bytes in base64, and a last `speech.audio.done` with usage. Other events send nothing.

    Usage in OpenAI's fields: `input_tokens` counts the input's characters (the server process does not
    tokenize), `output_tokens` the generated codec frames (one talker token per 80 ms frame)."""
    if isinstance(event, Audio):
        return sse({"type": "speech.audio.delta", "audio": base64.b64encode(event.chunk.audio).decode()})
    if isinstance(event, Finished):
        u = event.usage
        return sse({"type": "speech.audio.done", "usage": {
            "input_tokens": u.input_characters, "output_tokens": u.generated_frames,
            "total_tokens": u.input_characters + u.generated_frames}})
    return None


def sse_error(err: ServiceError) -> bytes:
    """A failure after the stream began: an `error` event (OpenAI's error object), no `speech.audio.done`."""
    _, body, _ = error_body(err)
    return sse({"type": "error", **body})


# ------------------------------------------------------------------ voices, models
def voice_json(v: VoiceInfo) -> dict[str, Any]:
    """OpenAI's voice object (id, name, object, type, created_at) plus languages and the sample rate. `type`
    is OpenAI's `audio_sample` for a registered voice (it was made from a recording), `built_in` for a speaker
    of the checkpoint (and `alias` in voices_json)."""
    out: dict[str, Any] = {"id": v.name, "name": v.name, "object": "audio.voice",
                           "type": "audio_sample" if v.registered else "built_in",
                           "languages": list(v.languages), "sample_rate": v.sample_rate}
    if v.registered:
        created = datetime.fromisoformat(v.created).timestamp() if v.created else 0
        out.update(created_at=int(created), description=v.description, x_vector_only=v.x_vector_only)
    return out


def voice_deleted_json(name: str) -> dict[str, Any]:
    return {"id": name, "object": "audio.voice.deleted", "deleted": True}


def voices_json(voices: list[VoiceInfo], aliases: Mapping[str, str]) -> dict[str, Any]:
    """Every voice, then every alias whose voice exists (with the languages of its voice)."""
    by_name = {v.name: v for v in voices}
    out = [voice_json(v) for v in voices]
    for alias, target in sorted(aliases.items()):
        if target in by_name:
            v = by_name[target]
            out.append({"id": alias, "name": alias, "object": "audio.voice", "type": "alias",
                        "alias_of": target, "languages": list(v.languages), "sample_rate": v.sample_rate})
    return {"object": "list", "voices": out}


def model_json(caps: Capabilities, created: int) -> dict[str, Any]:
    """OpenAI's model object, plus what a client (the playground) needs to build a request."""
    return {"id": caps.model, "object": "model", "created": created, "owned_by": "qwen3-tts-server",
            "model_type": caps.model_type, "model_size": caps.model_size, "languages": list(caps.languages),
            "supports_instructions": caps.accepts_instructions, "supports_voice_cloning": caps.clones_voices,
            "max_input_characters": caps.limits.max_text_characters,
            "max_instructions_characters": caps.limits.max_instructions_characters,
            "response_formats": list(FORMATS), "sample_rate": caps.sample_rate}


# ------------------------------------------------------------------ voice registration (multipart)
# OpenAI's fields (the SDK's `client.audio.voices.create` sends name, audio_sample, consent and maybe type),
# then ours (RegisterVoice's). `consent` is accepted so that the SDK works; this server keeps no consent records.
VOICE_FORM_FIELDS = ("name", "audio_sample", "consent", "type", "reference_text", "x_vector_only",
                     "description", "languages")


@dataclass(frozen=True)
class VoiceForm:
    name: str
    audio: bytes
    reference_text: str
    x_vector_only: bool
    description: str
    languages: tuple[str, ...]
    problems: tuple[Violation, ...]  # wire-format problems, reported with the rest by Voices.register


def voice_form(fields: Mapping[str, list[Any]], audio: bytes | None) -> VoiceForm:
    """POST /v1/audio/voices's multipart fields (name -> values; the file's bytes read by the caller).
    Unknown or repeated fields are problems; `x_vector_only` takes true/false/1/0/yes/no/on/off."""
    problems = [Violation(k, f"unknown field; this endpoint accepts {', '.join(VOICE_FORM_FIELDS)}")
                for k in fields if k not in VOICE_FORM_FIELDS]
    problems += [Violation(k, "is given more than once") for k, v in fields.items() if len(v) > 1]

    def text(name: str) -> str:
        values = fields.get(name) or [""]
        if not isinstance(values[0], str):
            problems.append(Violation(name, "must be a text field, not a file"))
            return ""
        return values[0].strip()

    name = text("name")
    if not name:
        problems.append(Violation("name", "is required"))
    if "audio_sample" not in fields:
        problems.append(Violation("audio_sample", "is required: a recording (a WAV, FLAC or Ogg file)"))
    elif audio is None:
        problems.append(Violation("audio_sample", "must be a file"))
    kind = text("type")
    if kind not in ("", "audio_sample"):
        problems.append(Violation("type", f"{kind!r}: only audio_sample voices (from a recording) are made "
                                          "here; describe a voice in `instructions` on a VoiceDesign checkpoint"))
    text("consent")
    flag = text("x_vector_only").lower()
    if flag not in ("", "true", "false", "1", "0", "yes", "no", "on", "off"):
        problems.append(Violation("x_vector_only", f"{flag!r} is not true or false"))
    languages = tuple(x.strip() for x in text("languages").split(",") if x.strip())
    return VoiceForm(name, audio or b"", text("reference_text"), flag in ("true", "1", "yes", "on"),
                     text("description"), languages, tuple(problems))
