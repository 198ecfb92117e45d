"""Client-side traffic for the long suites (soak, load curve, scale-out): one stream through either door, with
the ways real clients end one (read to the end, cancel, drop the connection, read at real-time pace), and what
it came to (status, time to first audio, frames). asyncio clients: grpc.aio for gRPC, httpx for HTTP,
websockets for the WebSocket door (streaming text in). A new door adds one coroutine here with the same `Outcome`.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
from dataclasses import dataclass

import grpc
import httpx2 as httpx
import soundfile as sf
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from qwen3tts.v1 import tts_pb2, tts_pb2_grpc
from tests.reference_signals import voice_like

FRAME_S = 0.08  # one codec frame


@dataclass
class Outcome:
    door: str
    code: str  # gRPC status name (HTTP: the status mapped back: 200 -> OK, 429/503 -> UNAVAILABLE, ...)
    ttfa_s: float | None = None  # request sent -> first audio bytes
    audio_s: float = 0.0  # seconds of audio received
    ended_by: str = "server"  # server | cancel | disconnect
    retry_after_s: float | None = None  # RetryInfo / Retry-After of a refusal
    reason: str | None = None  # ErrorInfo reason / OpenAI error code
    wall_s: float = 0.0


def wav(seconds: float = 3.0, rate: int = 24000, seed: int = 1) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, voice_like(seed, rate, seconds), rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def _grpc_details(err: grpc.aio.AioRpcError) -> tuple[str | None, float | None]:
    reason = retry = None
    status = rpc_status.from_call(err)
    for any_ in (status.details if status else ()):
        if any_.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            any_.Unpack(info)
            reason = info.reason
        elif any_.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            info = error_details_pb2.RetryInfo()
            any_.Unpack(info)
            retry = info.retry_delay.ToNanoseconds() / 1e9
    return reason, retry


async def grpc_stream(stub: tts_pb2_grpc.TextToSpeechServiceStub, req: tts_pb2.SynthesizeRequest, *,
                      realtime: bool = False, cancel_after_s: float | None = None, timeout: float = 1200,
                      metadata=()) -> Outcome:
    """One Synthesize call. `realtime`: read no faster than the audio plays (a live listener: the server's
    credit then paces generation). `cancel_after_s`: cancel the call once this much audio has arrived."""
    out = Outcome("grpc", "OK")
    t0 = time.monotonic()
    call = stub.Synthesize(req, timeout=timeout, metadata=metadata)
    rate = None
    try:
        async for response in call:
            kind = response.WhichOneof("event")
            if kind == "started":
                rate = response.started.audio_format.sample_rate_hertz
            elif kind == "audio":
                if out.ttfa_s is None:
                    out.ttfa_s = time.monotonic() - t0
                chunk = response.audio
                out.audio_s += chunk.duration.seconds + chunk.duration.nanos / 1e9 if rate else 0.0
                if realtime:
                    ahead = out.audio_s - (time.monotonic() - t0 - out.ttfa_s)
                    if ahead > 0:
                        await asyncio.sleep(ahead)
                if cancel_after_s is not None and out.audio_s >= cancel_after_s:
                    call.cancel()
                    out.code, out.ended_by = "CANCELLED", "cancel"
                    break
    except grpc.aio.AioRpcError as e:
        out.code = e.code().name
        out.reason, out.retry_after_s = _grpc_details(e)
    except asyncio.CancelledError:
        call.cancel()
        raise
    out.wall_s = time.monotonic() - t0
    return out


_HTTP_CODES = {200: "OK", 400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
               429: "UNAVAILABLE", 503: "UNAVAILABLE", 500: "INTERNAL"}


async def http_stream(client: httpx.AsyncClient, body: dict, *, cancel_after_s: float | None = None,
                      bytes_per_s: int = 48000) -> Outcome:
    """One POST /v1/audio/speech (pcm: 24 kHz s16 mono, `bytes_per_s` of it per second of audio)."""
    out = Outcome("http", "OK")
    t0 = time.monotonic()
    try:
        async with client.stream("POST", "/v1/audio/speech", json=body) as r:
            if r.status_code != 200:
                await r.aread()
                out.code = _HTTP_CODES.get(r.status_code, f"HTTP_{r.status_code}")
                out.reason = (r.json().get("error") or {}).get("code") if r.content else None
                if "retry-after" in r.headers:
                    out.retry_after_s = float(r.headers["retry-after"])
            else:
                received = 0
                async for data in r.aiter_bytes():
                    if out.ttfa_s is None and data:
                        out.ttfa_s = time.monotonic() - t0
                    received += len(data)
                    out.audio_s = received / bytes_per_s
                    if cancel_after_s is not None and out.audio_s >= cancel_after_s:
                        out.code, out.ended_by = "CANCELLED", "cancel"
                        break  # leaving the block closes the connection: the server sees the client gone
    except httpx.RemoteProtocolError:
        out.code = "ABORTED"  # an audio body cut without its last chunk: the stream failed after 200
    except httpx.HTTPError as e:
        out.code = f"HTTP_ERROR_{type(e).__name__}"
    out.wall_s = time.monotonic() - t0
    return out


async def websocket_stream(url: str, config: dict, text: str, *, piece: int = 12, cancel_after_s: float | None = None,
                           drop_after_s: float | None = None, bytes_per_s: int = 48000) -> Outcome:
    """One turn of a streaming-input session over the WebSocket (`url`: .../v1/audio/speech/stream): the config
    (pcm), the text in `piece`-character appends as an LLM writes it, the end; audio read until turn.done.
    `cancel_after_s`: a barge-in (response.cancel) once this much audio has arrived; `drop_after_s`: the client
    goes away (closes the socket) then instead."""
    out = Outcome("websocket", "OK")
    t0 = time.monotonic()
    try:
        async with ws_connect(url, max_size=None, open_timeout=60) as ws:
            await ws.send(json.dumps({"type": "session.config", **config, "response_format": "pcm"}))
            for k in range(0, len(text), piece):
                await ws.send(json.dumps({"type": "input_text.append", "text": text[k:k + piece]}))
            await ws.send(json.dumps({"type": "input_text.end"}))
            received = 0
            try:
                async for msg in ws:
                    if isinstance(msg, bytes):
                        out.ttfa_s = out.ttfa_s if out.ttfa_s is not None else time.monotonic() - t0
                        received += len(msg)
                        out.audio_s = received / bytes_per_s
                        if drop_after_s is not None and out.audio_s >= drop_after_s:
                            out.code, out.ended_by = "CANCELLED", "disconnect"
                            break  # leaving the block closes the socket mid-turn
                        if cancel_after_s is not None and out.audio_s >= cancel_after_s and out.ended_by == "server":
                            await ws.send(json.dumps({"type": "response.cancel"}))
                            out.code, out.ended_by = "CANCELLED", "cancel"
                        continue
                    event = json.loads(msg)
                    if event.get("type") == "error":
                        out.reason = event["error"].get("code")
                    elif event.get("type") == "turn.done":
                        break
            except ConnectionClosed:
                pass
            if ws.close_code is not None and ws.close_code >= 4000:  # 4000 + the error's HTTP status
                out.code = _HTTP_CODES.get(ws.close_code - 4000, f"HTTP_{ws.close_code - 4000}")
    except (ConnectionClosed, OSError) as e:
        out.code = f"HTTP_ERROR_{type(e).__name__}"
    out.wall_s = time.monotonic() - t0
    return out
